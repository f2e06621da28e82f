-- Keyset pagination and cheap counts for the catalog listing.

-- NEWEST pages seek on (coalesce(publication_date, '-infinity'), id): a key
-- without NULLs (undated books still come last) that a row comparison can
-- seek on, so a deep page costs what the first does.
DROP INDEX books_newest_idx;
CREATE INDEX books_newest_idx ON books ((coalesce(publication_date, '-infinity'::date)) DESC, id DESC)
    WHERE NOT archived;

-- How many live (not archived) books there are, in all ('live') and per
-- format ('live:<format>'), kept by the triggers below so an unfiltered
-- `totalCount` reads one row instead of counting the catalog. Only adding,
-- deleting, archiving, restoring or re-formatting a book touches it: stock
-- changes (checkout's hot path) never do.
CREATE TABLE catalog_counts (
    scope text PRIMARY KEY,
    books bigint NOT NULL CHECK (books >= 0)
);

INSERT INTO catalog_counts (scope, books)
SELECT 'live', count(*) FILTER (WHERE NOT archived) FROM books
UNION ALL
SELECT 'live:' || f.format, count(b.id) FILTER (WHERE NOT b.archived)
  FROM (VALUES ('hardcover'), ('paperback'), ('ebook'), ('audiobook')) AS f(format)
  LEFT JOIN books b ON b.format = f.format
 GROUP BY f.format;

-- Applies per-scope deltas in scope order (one lock order for every writer:
-- two transactions changing the same scopes never deadlock).
CREATE FUNCTION catalog_counts_apply(deltas jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    change record;
BEGIN
    FOR change IN
        SELECT key AS scope, value::bigint AS delta
          FROM jsonb_each_text(deltas) WHERE value::bigint <> 0 ORDER BY key
    LOOP
        UPDATE catalog_counts SET books = books + change.delta WHERE scope = change.scope;
    END LOOP;
END;
$$;

CREATE FUNCTION catalog_counts_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalog_counts_apply(coalesce(
        (SELECT jsonb_object_agg(scope, n) FROM (
            SELECT scope, count(*) AS n FROM (
                SELECT 'live' AS scope FROM added WHERE NOT archived
                UNION ALL
                SELECT 'live:' || format FROM added WHERE NOT archived
            ) s GROUP BY scope) d),
        '{}'));
    RETURN NULL;
END;
$$;

CREATE FUNCTION catalog_counts_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalog_counts_apply(coalesce(
        (SELECT jsonb_object_agg(scope, -n) FROM (
            SELECT scope, count(*) AS n FROM (
                SELECT 'live' AS scope FROM removed WHERE NOT archived
                UNION ALL
                SELECT 'live:' || format FROM removed WHERE NOT archived
            ) s GROUP BY scope) d),
        '{}'));
    RETURN NULL;
END;
$$;

CREATE FUNCTION catalog_counts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    deltas jsonb := '{}';
BEGIN
    IF NOT OLD.archived THEN
        deltas := jsonb_build_object('live', -1, 'live:' || OLD.format, -1);
    END IF;
    IF NOT NEW.archived THEN
        deltas := deltas
            || jsonb_build_object('live', coalesce((deltas ->> 'live')::bigint, 0) + 1)
            || jsonb_build_object('live:' || NEW.format,
                                  coalesce((deltas ->> ('live:' || NEW.format))::bigint, 0) + 1);
    END IF;
    PERFORM catalog_counts_apply(deltas);
    RETURN NULL;
END;
$$;

CREATE FUNCTION catalog_counts_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_counts SET books = 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER catalog_counts_added AFTER INSERT ON books
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION catalog_counts_added();
CREATE TRIGGER catalog_counts_removed AFTER DELETE ON books
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION catalog_counts_removed();
-- Row level with a column list: an UPDATE that does not name `archived` or
-- `format` (every stock change) does not even fire it.
CREATE TRIGGER catalog_counts_changed AFTER UPDATE OF archived, format ON books
    FOR EACH ROW WHEN (OLD.archived IS DISTINCT FROM NEW.archived OR OLD.format IS DISTINCT FROM NEW.format)
    EXECUTE FUNCTION catalog_counts_changed();
CREATE TRIGGER catalog_counts_truncated AFTER TRUNCATE ON books
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_counts_truncated();
