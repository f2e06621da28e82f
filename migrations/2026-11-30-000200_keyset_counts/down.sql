DROP TRIGGER catalog_counts_truncated ON books;
DROP TRIGGER catalog_counts_changed ON books;
DROP TRIGGER catalog_counts_removed ON books;
DROP TRIGGER catalog_counts_added ON books;
DROP FUNCTION catalog_counts_truncated();
DROP FUNCTION catalog_counts_changed();
DROP FUNCTION catalog_counts_removed();
DROP FUNCTION catalog_counts_added();
DROP FUNCTION catalog_counts_apply(jsonb);
DROP TABLE catalog_counts;

DROP INDEX books_newest_idx;
CREATE INDEX books_newest_idx ON books (publication_date DESC NULLS LAST, id DESC) WHERE NOT archived;
