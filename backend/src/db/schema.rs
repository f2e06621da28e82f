// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    book_contributors (book_id, contributor_id, role) {
        book_id -> Int8,
        contributor_id -> Int8,
        role -> Text,
        position -> Int2,
    }
}

diesel::table! {
    book_genres (book_id, genre_id) {
        book_id -> Int8,
        genre_id -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    books (id) {
        id -> Int8,
        slug -> Text,
        isbn -> Text,
        title -> Text,
        subtitle -> Nullable<Text>,
        description -> Text,
        format -> Text,
        publisher -> Nullable<Text>,
        publication_date -> Nullable<Date>,
        language -> Text,
        page_count -> Nullable<Int4>,
        price_cents -> Int4,
        currency -> Text,
        stock -> Int4,
        archived -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_vector -> Nullable<Tsvector>,
    }
}

diesel::table! {
    contributors (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        sort_name -> Text,
        bio -> Text,
        birth_year -> Nullable<Int4>,
        death_year -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    genres (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        token_hash -> Bytea,
        user_id -> Int8,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(book_contributors -> books (book_id));
diesel::joinable!(book_contributors -> contributors (contributor_id));
diesel::joinable!(book_genres -> books (book_id));
diesel::joinable!(book_genres -> genres (genre_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    book_contributors,
    book_genres,
    books,
    contributors,
    genres,
    sessions,
    users,
);
