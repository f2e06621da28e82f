//! A request that runs out of time cancels its SQL: the statement stops
//! holding (or waiting for) locks, its connection does not go back to the
//! pool busy, and unrelated requests stay fast. Every pooled connection runs
//! with `statement_timeout`.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use crate::support::TestApp;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    statement_timeout: String,
}

/// Statements of this test's database that are running or waiting, other
/// than the lock holder's and this query's own.
async fn busy_statements(app: &TestApp, watcher: &mut AsyncPgConnection) -> i64 {
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() \
         AND query NOT LIKE '%LOCK TABLE%'",
    )
    .bind::<Text, _>(&app.database.name)
    .load(watcher)
    .await
    .expect("pg_stat_activity");
    rows[0].n
}

fn add_to_cart(book: &serde_json::Value) -> (String, serde_json::Value) {
    (
        "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } } }".into(),
        json!({"input": {"bookId": book, "quantity": 1}}),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_request_cancels_its_sql_and_other_requests_stay_fast() {
    // No cache (every read reaches Postgres), two connections, requests
    // given one second, and a statement timeout far longer than the test:
    // only the cancellation can free the connections in time.
    let app = TestApp::with_env(&[
        ("REDIS_URL", ""),
        ("DATABASE_POOL_SIZE", "2"),
        ("REQUEST_TIMEOUT_SECS", "1"),
        ("STATEMENT_TIMEOUT_MS", "60000"),
    ])
    .await;
    let catalog = "{ books(first: 3, sort: TITLE) { nodes { id title } } }";
    let data = app.data(catalog, json!({})).await;
    let book = data["books"]["nodes"][0]["id"].clone();

    // Another session holds the carts table for the rest of the test.
    let mut holder = AsyncPgConnection::establish(&app.database.url)
        .await
        .expect("lock holder");
    holder
        .batch_execute("BEGIN; LOCK TABLE carts IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock carts");

    // For 30 seconds, guests keep trying to start a cart: each waits for the
    // lock until its request times out. Meanwhile catalog reads stay fast.
    let (query, variables) = add_to_cart(&book);
    let mut watcher = AsyncPgConnection::establish(&app.database.url)
        .await
        .expect("watcher");
    let locked_at = Instant::now();
    let mut slowest_read = Duration::ZERO;
    let mut rounds = 0;
    while locked_at.elapsed() < Duration::from_secs(30) {
        rounds += 1;
        let attempts = (0..4).map(|_| app.graphql(&query, variables.clone()));
        for reply in futures_util::future::join_all(attempts).await {
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                reply.body
            );
        }

        // The abandoned statements are cancelled, not left waiting on the lock.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let busy = busy_statements(&app, &mut watcher).await;
            if busy == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{busy} abandoned statements still running 2 s after their requests timed out"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // Unrelated requests stay fast while the lock is still held.
        for _ in 0..5 {
            let started = Instant::now();
            let reply = app.graphql(catalog, json!({})).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            slowest_read = slowest_read.max(started.elapsed());
        }
        assert!(
            slowest_read < Duration::from_millis(500),
            "a catalog read took {slowest_read:?} behind abandoned statements"
        );
    }
    // The pool is back to its baseline.
    assert_eq!(app.db.primary_in_use(), 0, "connections still lent out");
    assert!(
        app.db.statements_abandoned() >= 2 * rounds,
        "statements were not cancelled"
    );
    eprintln!(
        "30 s lock: {rounds} rounds of 4 timed-out requests, {} statements cancelled, \
         slowest catalog read {slowest_read:?}",
        app.db.statements_abandoned()
    );

    holder.batch_execute("ROLLBACK").await.expect("unlock");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_pooled_connection_has_the_configured_statement_timeout() {
    let app = TestApp::with_env(&[("STATEMENT_TIMEOUT_MS", "1500")]).await;
    let mut conn = app.db.primary().await.expect("connection");
    let setting: Vec<Setting> = diesel::sql_query("SHOW statement_timeout")
        .load(&mut *conn)
        .await
        .expect("SHOW");
    assert_eq!(setting[0].statement_timeout, "1500ms");

    // And Postgres enforces it: a statement longer than that is aborted.
    let started = Instant::now();
    let error = diesel::sql_query("SELECT pg_sleep(10)")
        .execute(&mut *conn)
        .await
        .expect_err("pg_sleep(10) should be cancelled");
    assert!(
        error.to_string().contains("statement timeout"),
        "unexpected error: {error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
