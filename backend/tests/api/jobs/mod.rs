//! The periodic jobs: each cleanup deletes exactly what it should (and in
//! batches); `runner`: a round runs on one instance per interval however
//! many runners race for it, and a failing job stops no other.

mod runner;

use bookstore::config::Config;
use bookstore::jobs::periodic::{Job, Runner};

use crate::checkout::support::*;
use crate::support::TestApp;

/// A runner for `app`'s database, as another backend instance would have:
/// its own pools.
pub(crate) fn instance(app: &TestApp, config: &Config) -> Runner {
    let db = bookstore::db::Db::new(&app.database.url, None, config.pool_options());
    Runner::new(db, app.cache.clone(), app.gateway.clone(), config)
}

pub(crate) fn runner(app: &TestApp) -> Runner {
    Runner::new(
        app.db.clone(),
        app.cache.clone(),
        app.gateway.clone(),
        &app.config,
    )
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    number(
        app,
        &format!("SELECT count(*)::bigint AS n FROM ({sql}) AS rows"),
    )
    .await
}

pub(crate) async fn exists(app: &TestApp, table: &str, condition: &str) -> bool {
    count(app, &format!("SELECT 1 FROM {table} WHERE {condition}")).await == 1
}

pub(crate) async fn job_run(app: &TestApp, name: &str) -> bookstore::db::job_runs::JobRun {
    bookstore::db::job_runs::find(&mut app.connection().await, name)
        .await
        .unwrap()
        .expect("the job ran")
}

/// A customer row (no password needed here); returns its id.
pub(crate) async fn customer(app: &TestApp, email: &str) -> i64 {
    number(
        app,
        &format!(
            "INSERT INTO users (email, name, password_hash) VALUES ('{email}', 'C', 'x') RETURNING id AS n"
        ),
    )
    .await
}

/// An open cart with one line, untouched for `days`; returns its id.
pub(crate) async fn cart(app: &TestApp, token: &str, user_id: Option<i64>, days: i32) -> i64 {
    let user = user_id.map_or("NULL".to_owned(), |id| id.to_string());
    number(app, &format!(
        "WITH cart AS (INSERT INTO carts (token, user_id, updated_at)
                       VALUES ('{token:0>32}', {user}, now() - interval '{days} days') RETURNING id),
              line AS (INSERT INTO cart_lines (cart_id, book_id, quantity)
                       SELECT cart.id, (SELECT min(id) FROM books), 1 FROM cart)
         SELECT id AS n FROM cart"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn abandoned_carts_are_deleted_and_nothing_else() {
    let app = TestApp::new().await;
    let (book, _) = book_with_stock(&app, 0, 10).await;
    let guest_old = cart(&app, "guestold", None, 31).await;
    let guest_fresh = cart(&app, "guestfresh", None, 29).await;
    let alice = customer(&app, "alice@example.com").await;
    let bob = customer(&app, "bob@example.com").await;
    let customer_recent = cart(&app, "alice", Some(alice), 100).await;
    let customer_old = cart(&app, "bob", Some(bob), 181).await;
    // A cart checked out into an order (long ago): kept, whatever its age.
    let ordered = guest_cart(&app, &book, 1).await;
    let data = app
        .data(
            &checkout_mutation(),
            checkout_input("old-order", &ordered, APPROVE),
        )
        .await;
    assert_eq!(data["checkout"]["order"]["status"], "PAID", "{data}");
    let ordered = ordered.as_str().unwrap();
    app.sql(&format!(
        "UPDATE carts SET updated_at = now() - interval '400 days', checked_out_at = now() - interval '400 days' WHERE token = '{ordered}'"
    ))
    .await;

    let removed = runner(&app).round(Job::AbandonedCarts).await.unwrap();

    assert_eq!(removed, 2);
    for (id, kept) in [
        (guest_old, false),
        (guest_fresh, true),
        (customer_recent, true),
        (customer_old, false),
    ] {
        assert_eq!(
            exists(&app, "carts", &format!("id = {id}")).await,
            kept,
            "cart {id}"
        );
        assert_eq!(
            exists(&app, "cart_lines", &format!("cart_id = {id}")).await,
            kept,
            "lines of cart {id}"
        );
    }
    assert!(exists(&app, "carts", &format!("token = '{ordered}'")).await);
    // The order and its customer are untouched.
    assert_eq!(count(&app, "SELECT 1 FROM orders").await, 1);
    assert_eq!(count(&app, "SELECT 1 FROM users").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_sessions_are_deleted_in_batches_and_live_ones_kept() {
    let app = TestApp::new().await;
    let user = customer(&app, "carol@example.com").await;
    // 2,500 expired by age, 1 by idleness (default idle: 14 days), 2 live.
    app.sql(&format!(
        "INSERT INTO sessions (token_hash, user_id, expires_at)
           SELECT sha256(i::text::bytea), {user}, now() - interval '1 second' FROM generate_series(1, 2500) i"
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO sessions (token_hash, user_id, expires_at, last_seen_at)
           VALUES (sha256('idle'), {user}, now() + interval '10 days', now() - interval '15 days'),
                  (sha256('used'), {user}, now() + interval '10 days', now() - interval '13 days'),
                  (sha256('new'), {user}, now() + interval '1 hour', now())"
    ))
    .await;

    let statements = app.db.statements_executed();
    let removed = runner(&app).round(Job::ExpiredSessions).await.unwrap();
    let statements = app.db.statements_executed() - statements;

    assert_eq!(removed, 2501);
    // Three deletes of at most 1,000 rows, not one of 2,501.
    assert_eq!(statements, 3);
    assert_eq!(count(&app, "SELECT 1 FROM sessions").await, 2);
    for kept in ["used", "new"] {
        assert!(exists(&app, "sessions", &format!("token_hash = sha256('{kept}')")).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn old_idempotency_records_are_deleted_and_a_live_retry_still_deduplicates() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "200")]).await;
    let (book, book_id) = book_with_stock(&app, 0, 10).await;
    let checkout = async |key: &str, card: &str| {
        let cart = guest_cart(&app, &book, 1).await;
        let input = checkout_input(key, &cart, card);
        let data = app.data(&checkout_mutation(), input.clone()).await;
        (data["checkout"]["order"]["number"].clone(), input)
    };
    let (live, live_input) = checkout("live", APPROVE).await;
    let (old, _) = checkout("old", APPROVE).await;
    let (pending, _) = checkout("pending", HANG).await;
    assert_eq!(order_status(&app, &pending).await, "PENDING_PAYMENT");
    app.sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key IN ('old', 'pending')")
        .await;
    app.sql(
        "UPDATE idempotency_keys SET created_at = now() - interval '23 hours' WHERE key = 'live'",
    )
    .await;

    let removed = runner(&app).round(Job::IdempotencyRecords).await.unwrap();

    assert_eq!(removed, 1);
    assert!(!exists(&app, "idempotency_keys", "key = 'old'").await);
    // Its order awaits payment: its shopper may still retry to learn the outcome.
    assert!(exists(&app, "idempotency_keys", "key = 'pending'").await);
    // A retry of the live checkout returns its order, charged once.
    let retried = app.data(&checkout_mutation(), live_input).await;
    assert_eq!(retried["checkout"]["order"]["number"], live, "{retried}");
    assert_eq!(app.gateway.charge_requests(), 3);
    assert_eq!(stock_of(&app, book_id).await, 7);
    // Orders are never touched by it.
    assert_eq!(order_status(&app, &old).await, "PAID");
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_outbox_messages_are_deleted_after_their_retention_and_pending_never() {
    let app = TestApp::new().await;
    app.sql(
        // The pending one is due tomorrow: the app's worker leaves it alone.
        "INSERT INTO outbox (kind, recipient, payload, status, created_at, next_attempt_at) VALUES
           ('test_message', 'a@example.com', '{}', 'sent', now() - interval '31 days', now()),
           ('test_message', 'b@example.com', '{}', 'dead', now() - interval '31 days', now()),
           ('test_message', 'c@example.com', '{}', 'pending', now() - interval '31 days', now() + interval '1 day'),
           ('test_message', 'd@example.com', '{}', 'sent', now() - interval '29 days', now()),
           ('test_message', 'e@example.com', '{}', 'dead', now() - interval '1 day', now())",
    )
    .await;

    let removed = runner(&app).round(Job::FinishedOutbox).await.unwrap();

    assert_eq!(removed, 2);
    let left = count(
        &app,
        "SELECT 1 FROM outbox WHERE recipient IN ('c@example.com', 'd@example.com', 'e@example.com')",
    )
    .await;
    assert_eq!(left, 3);
    assert_eq!(count(&app, "SELECT 1 FROM outbox").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_used_account_tokens_are_deleted_and_live_ones_kept() {
    let app = TestApp::new().await;
    let user = customer(&app, "frank@example.com").await;
    app.sql(&format!(
        "INSERT INTO account_tokens (user_id, purpose, email, token_hash, expires_at, used_at) VALUES
           ({user}, 'verify_email', 'frank@example.com', sha256('expired'), now() - interval '1 minute', NULL),
           ({user}, 'reset_password', 'frank@example.com', sha256('used'), now() + interval '1 hour', now() - interval '1 minute'),
           ({user}, 'change_email', 'new@example.com', sha256('live'), now() + interval '1 hour', NULL)"
    ))
    .await;

    let removed = runner(&app).round(Job::ExpiredAccountTokens).await.unwrap();

    assert_eq!(removed, 2);
    assert_eq!(count(&app, "SELECT 1 FROM account_tokens").await, 1);
    assert!(exists(&app, "account_tokens", "token_hash = sha256('live')").await);
}
