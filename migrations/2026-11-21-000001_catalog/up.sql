-- The catalog: books, contributors (with a role per book), genres.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ISBN-13: 13 digits, prefix 978/979, and the mod-10 checksum (weights 1,3,1,3...).
CREATE FUNCTION isbn13_is_valid(isbn text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT isbn ~ '^97[89][0-9]{10}$'
       AND (SELECT sum(substr(isbn, i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END)
              FROM generate_series(1, 13) AS i) % 10 = 0
$$;

CREATE TABLE genres (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('genres');

CREATE TABLE contributors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    sort_name   text NOT NULL,
    bio         text NOT NULL DEFAULT '',
    birth_year  integer,
    death_year  integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (death_year IS NULL OR birth_year IS NULL OR death_year >= birth_year)
);
SELECT diesel_manage_updated_at('contributors');
-- Typo-tolerant author search (similarity / word_similarity operators).
CREATE INDEX contributors_name_trgm_idx ON contributors USING gin (name gin_trgm_ops);

CREATE TABLE books (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    isbn             text NOT NULL UNIQUE CHECK (isbn13_is_valid(isbn)),
    title            text NOT NULL CHECK (length(btrim(title)) > 0),
    subtitle         text,
    description      text NOT NULL DEFAULT '',
    format           text NOT NULL CHECK (format IN ('hardcover', 'paperback', 'ebook', 'audiobook')),
    publisher        text,
    publication_date date,
    language         text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2,3}$'),
    page_count       integer CHECK (page_count > 0),
    price_cents      integer NOT NULL CHECK (price_cents >= 0),
    currency         text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    stock            integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    archived         boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    search_vector    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', coalesce(subtitle, '')), 'B') ||
        setweight(to_tsvector('english', description), 'C')
    ) STORED
);
SELECT diesel_manage_updated_at('books');
CREATE INDEX books_search_vector_idx ON books USING gin (search_vector);
CREATE INDEX books_title_trgm_idx ON books USING gin (title gin_trgm_ops);
-- The listing orders (title, price, newest) over the live catalog.
CREATE INDEX books_title_idx ON books (lower(title), id) WHERE NOT archived;
CREATE INDEX books_price_idx ON books (price_cents, id) WHERE NOT archived;
CREATE INDEX books_newest_idx ON books (publication_date DESC NULLS LAST, id DESC) WHERE NOT archived;

CREATE TABLE book_contributors (
    book_id        bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    contributor_id bigint NOT NULL REFERENCES contributors (id) ON DELETE RESTRICT,
    role           text NOT NULL CHECK (role IN ('author', 'editor', 'translator', 'illustrator', 'narrator')),
    position       smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (book_id, contributor_id, role)
);
CREATE INDEX book_contributors_contributor_idx ON book_contributors (contributor_id, book_id);

CREATE TABLE book_genres (
    book_id  bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    genre_id bigint NOT NULL REFERENCES genres (id) ON DELETE RESTRICT,
    PRIMARY KEY (book_id, genre_id)
);
CREATE INDEX book_genres_genre_idx ON book_genres (genre_id, book_id);
