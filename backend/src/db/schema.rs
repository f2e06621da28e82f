// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    account_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        purpose -> Text,
        email -> Text,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    addresses (id) {
        id -> Int8,
        name -> Text,
        line1 -> Text,
        line2 -> Nullable<Text>,
        city -> Text,
        region -> Nullable<Text>,
        postal_code -> Text,
        country -> Text,
        phone -> Nullable<Text>,
        created_at -> Timestamptz,
    }
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
    cart_lines (cart_id, book_id) {
        cart_id -> Int8,
        book_id -> Int8,
        quantity -> Int4,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    carts (id) {
        id -> Int8,
        token -> Text,
        user_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        checked_out_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    catalog_counts (scope) {
        scope -> Text,
        books -> Int8,
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
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        request_hash -> Bytea,
        order_id -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    job_runs (name) {
        name -> Text,
        last_started_at -> Timestamptz,
        last_finished_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        last_count -> Nullable<Int8>,
        rounds -> Int8,
    }
}

diesel::table! {
    order_lines (order_id, position) {
        order_id -> Int8,
        position -> Int2,
        book_id -> Nullable<Int8>,
        title -> Text,
        isbn -> Text,
        unit_price_cents -> Int4,
        quantity -> Int4,
    }
}

diesel::table! {
    orders (id) {
        id -> Int8,
        number -> Text,
        user_id -> Nullable<Int8>,
        email -> Text,
        status -> Text,
        currency -> Text,
        subtotal_cents -> Int4,
        shipping_cents -> Int4,
        total_cents -> Int4,
        shipping_method -> Text,
        shipping_address_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        access_token_hash -> Nullable<Bytea>,
        charge_started_at -> Nullable<Timestamptz>,
        declined_at -> Nullable<Timestamptz>,
        swept_at -> Nullable<Timestamptz>,
        refund_started_at -> Nullable<Timestamptz>,
        mail_access_token_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        kind -> Text,
        recipient -> Text,
        payload -> Jsonb,
        dedup_key -> Nullable<Text>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    payments (id) {
        id -> Int8,
        order_id -> Int8,
        provider -> Text,
        reference -> Nullable<Text>,
        amount_cents -> Int4,
        currency -> Text,
        status -> Text,
        card_last4 -> Nullable<Text>,
        message -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    saved_addresses (id) {
        id -> Int8,
        user_id -> Int8,
        name -> Text,
        line1 -> Text,
        line2 -> Nullable<Text>,
        city -> Text,
        region -> Nullable<Text>,
        postal_code -> Text,
        country -> Text,
        phone -> Nullable<Text>,
        is_default -> Bool,
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
        write_lsn -> Nullable<PgLsn>,
    }
}

diesel::table! {
    shipments (order_id) {
        order_id -> Int8,
        carrier -> Text,
        tracking_number -> Text,
        shipped_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
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
        email_verified_at -> Nullable<Timestamptz>,
        data_version -> Int8,
    }
}

diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(book_contributors -> books (book_id));
diesel::joinable!(book_contributors -> contributors (contributor_id));
diesel::joinable!(book_genres -> books (book_id));
diesel::joinable!(book_genres -> genres (genre_id));
diesel::joinable!(cart_lines -> books (book_id));
diesel::joinable!(cart_lines -> carts (cart_id));
diesel::joinable!(carts -> users (user_id));
diesel::joinable!(idempotency_keys -> orders (order_id));
diesel::joinable!(order_lines -> books (book_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(orders -> addresses (shipping_address_id));
diesel::joinable!(orders -> users (user_id));
diesel::joinable!(payments -> orders (order_id));
diesel::joinable!(saved_addresses -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(shipments -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_tokens,
    addresses,
    book_contributors,
    book_genres,
    books,
    cart_lines,
    carts,
    catalog_counts,
    contributors,
    genres,
    idempotency_keys,
    job_runs,
    order_lines,
    orders,
    outbox,
    payments,
    saved_addresses,
    sessions,
    shipments,
    users,
);
