DROP TABLE book_genres;
DROP TABLE book_contributors;
DROP TABLE books;
DROP TABLE contributors;
DROP TABLE genres;
DROP FUNCTION isbn13_is_valid(text);
DROP EXTENSION IF EXISTS pg_trgm;
