//! The cache under concurrency: a read that loaded a row before a write
//! never stores it after the write's invalidation (also when loaders read a
//! lagging replica, and when Redis lost its keys meanwhile), and a hot miss
//! is loaded from Postgres once, not once per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bookstore::cache::{Entry, Kind};
use bookstore::db::books::Book;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::instances::{Instance, post};
use crate::support::{TestApp, TestDatabase, redis_connection};

const PRICE: &str = "query($id: ID!) { book(id: $id) { title price { amountCents } } }";

/// The first book of the catalog: its global id and database id.
async fn some_book(app: &TestApp) -> (Value, i64) {
    let data = app
        .data("{ books(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    let id = data["books"]["edges"][0]["node"]["id"].clone();
    let database_id = bookstore::graphql::ids::decode(id.as_str().unwrap())
        .unwrap()
        .1;
    (id, database_id)
}

fn price(data: &Value) -> i64 {
    data["book"]["price"]["amountCents"].as_i64().unwrap()
}

/// Reads book `id` through the cache with a loader that reads Postgres,
/// says so, and returns only when `go` fires: the test writes in between.
fn start_slow_read(
    app: &TestApp,
    id: i64,
) -> (
    oneshot::Receiver<()>,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<HashMap<i64, Book>>,
) {
    let (loaded_tx, loaded_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    // Taken by the one call of the loader.
    let barrier = Arc::new(Mutex::new(Some((loaded_tx, go_rx))));
    let cache = app.cache.clone();
    let db = app.db.clone();
    let reader = tokio::spawn(async move {
        cache
            .read_through(Kind::Book, &[id], |ids: Vec<i64>| {
                let db = db.clone();
                let barrier = barrier.lock().unwrap().take();
                async move {
                    let mut conn = db.primary().await.unwrap();
                    let rows = bookstore::db::books::find_by_ids(&mut conn, &ids)
                        .await
                        .unwrap();
                    if let Some((loaded_tx, go_rx)) = barrier {
                        loaded_tx.send(()).unwrap();
                        go_rx.await.unwrap();
                    }
                    Ok::<_, ()>(rows.into_iter().map(|book| (book.id, book)).collect())
                }
            })
            .await
            .unwrap()
    });
    (loaded_rx, go_tx, reader)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_that_loaded_before_a_write_does_not_store_the_old_row_after_it() {
    let app = TestApp::new().await;
    let (global_id, id) = some_book(&app).await;
    app.flush_cache().await;
    let (loaded, go, reader) = start_slow_read(&app, id);
    loaded.await.unwrap();
    // The write commits and invalidates while the read holds the old row.
    app.sql(&format!(
        "UPDATE books SET price_cents = 4242 WHERE id = {id}"
    ))
    .await;
    app.cache.invalidate(&[Entry::Entity(Kind::Book, id)]).await;
    go.send(()).unwrap();
    let old = reader.await.unwrap();
    assert_ne!(old[&id].price_cents, 4242, "the read did load the old row");
    // Only the request that raced the write may see the old price.
    for _ in 0..2 {
        let data = app.data(PRICE, json!({"id": global_id})).await;
        assert_eq!(price(&data), 4242);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_that_raced_a_write_and_a_redis_flush_stores_nothing_stale() {
    let app = TestApp::new().await;
    let (global_id, id) = some_book(&app).await;
    // A request, so that the cache is in use (and any generation exists).
    app.data(PRICE, json!({"id": global_id})).await;
    app.flush_cache().await;
    app.data(PRICE, json!({"id": global_id})).await;
    app.cache.invalidate(&[Entry::Entity(Kind::Book, id)]).await;
    let (loaded, go, reader) = start_slow_read(&app, id);
    loaded.await.unwrap();
    app.sql(&format!(
        "UPDATE books SET price_cents = 4343 WHERE id = {id}"
    ))
    .await;
    app.cache.invalidate(&[Entry::Entity(Kind::Book, id)]).await;
    // Redis loses every key (FLUSHALL, a restart without persistence).
    app.flush_cache().await;
    go.send(()).unwrap();
    reader.await.unwrap();
    let data = app.data(PRICE, json!({"id": global_id})).await;
    assert_eq!(price(&data), 4343);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_replica_does_not_put_the_old_price_back_after_a_write() {
    // The "replica" is a frozen copy of the catalog: it never catches up,
    // the worst lag there is.
    let replica = TestDatabase::seeded().await;
    let database = TestDatabase::seeded().await;
    let app = TestApp::on(database, &[("DATABASE_READ_URL", replica.url.as_str())]).await;
    let (global_id, _) = some_book(&app).await;
    let before = price(&app.data(PRICE, json!({"id": global_id})).await);
    let staff = app.staff_token("replica@example.com").await;
    let update = "mutation($id: ID!) { updateBook(input: {id: $id, priceCents: 4444}) { userErrors { message } } }";
    app.data_as(&staff, update, json!({"id": global_id})).await;
    assert_ne!(before, 4444);
    for _ in 0..2 {
        let data = app.data(PRICE, json!({"id": global_id})).await;
        assert_eq!(price(&data), 4444, "read from the primary after a write");
    }
}

/// Sends `count` concurrent price requests for `global_id`, spread over
/// `routers` round-robin; every one must answer the price.
async fn concurrent_reads(routers: &[axum::Router], global_id: &Value, count: usize) {
    let requests: Vec<_> = (0..count)
        .map(|index| {
            let router = routers[index % routers.len()].clone();
            let variables = json!({"id": global_id});
            tokio::spawn(async move { post(&router, None, PRICE, variables).await })
        })
        .collect();
    for request in requests {
        let body = request.await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        assert!(body["data"]["book"]["price"]["amountCents"].is_i64());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_concurrent_misses_load_the_book_at_most_twice() {
    // Redis is up: a 100 ms timeout could trip on a crowded test machine
    // and measure the outage path instead.
    let app = TestApp::with_env(&[("REDIS_TIMEOUT_MS", "1000")]).await;
    let (global_id, _) = some_book(&app).await;
    // The hot entry is gone (expired or invalidated).
    app.flush_cache().await;
    let before = app.db.statements_executed();
    concurrent_reads(std::slice::from_ref(&app.router), &global_id, 500).await;
    let loads = app.db.statements_executed() - before;
    eprintln!("500 concurrent misses on one instance: {loads} SQL loads");
    assert!(
        loads <= 2,
        "{loads} loads of one book (Redis {:?})",
        app.cache.status().await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_misses_on_two_instances_load_the_book_at_most_twice() {
    let app = TestApp::new().await;
    let (global_id, _) = some_book(&app).await;
    let generous = |config: &mut bookstore::config::Config| {
        config.redis_timeout = std::time::Duration::from_millis(1000);
    };
    let first = Instance::beside_with(&app, generous).await;
    let second = Instance::beside_with(&app, generous).await;
    app.flush_cache().await;
    let before = first.db.statements_executed() + second.db.statements_executed();
    concurrent_reads(
        &[first.router.clone(), second.router.clone()],
        &global_id,
        500,
    )
    .await;
    let loads = first.db.statements_executed() + second.db.statements_executed() - before;
    eprintln!(
        "500 concurrent misses on two instances: {loads} SQL loads ({} + {})",
        first.db.statements_executed(),
        second.db.statements_executed()
    );
    assert!(loads <= 2, "{loads} loads of one book");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidation_is_seen_by_a_read_right_after_it_on_another_instance() {
    let app = TestApp::new().await;
    let (global_id, id) = some_book(&app).await;
    let other = Instance::beside(&app).await;
    other.data(None, PRICE, json!({"id": global_id})).await;
    app.sql(&format!(
        "UPDATE books SET price_cents = 4545 WHERE id = {id}"
    ))
    .await;
    app.cache.invalidate(&[Entry::Entity(Kind::Book, id)]).await;
    let data = other.data(None, PRICE, json!({"id": global_id})).await;
    assert_eq!(price(&data), 4545);
    // What is stored in Redis is the new row.
    let mut redis = redis_connection().await;
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg(app.cache.key(Kind::Book, id))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(stored.is_some_and(|bytes| String::from_utf8_lossy(&bytes).contains("4545")));
}
