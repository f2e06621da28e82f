//! The Redis breaker under a slow Redis: an occasional slow reply (CPU
//! contention: many calls stalled at once, now and then) leaves the cache
//! on, a Redis that really hangs switches it off within a few timeouts, and
//! an invalidation that timed out is still delivered, even by an instance
//! that falls idle.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::instances::{BACKOFF, Instance};
use crate::support::TestApp;

const PRICE: &str = "query($id: ID!) { book(id: $id) { price { amountCents } } }";
const UPDATE_PRICE: &str = "mutation($id: ID!, $cents: Int!) {
  updateBook(input: {id: $id, priceCents: $cents}) { userErrors { message } } }";

async fn some_books(app: &TestApp, count: usize) -> Vec<Value> {
    let data = app
        .data(
            "query($first: Int!) { books(first: $first) { nodes { id } } }",
            json!({"first": count}),
        )
        .await;
    let books: Vec<Value> = data["books"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["id"].clone())
        .collect();
    assert_eq!(books.len(), count);
    books
}

async fn some_book(app: &TestApp) -> Value {
    let data = app
        .data("{ books(first: 1) { edges { node { id } } } }", json!({}))
        .await;
    data["books"]["edges"][0]["node"]["id"].clone()
}

fn price(data: &Value) -> i64 {
    data["book"]["price"]["amountCents"].as_i64().unwrap()
}

/// Runs `PRICE` on `instance`: its price and how many SQL statements it ran.
async fn price_counting(instance: &Instance, book: &Value) -> (i64, u64) {
    let before = instance.db.statements_executed();
    let data = instance.data(None, PRICE, json!({"id": book})).await;
    (price(&data), instance.db.statements_executed() - before)
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_replies_now_and_then_leave_the_cache_on() {
    let app = TestApp::new().await;
    // Different books: calls for one key would share a single flight.
    let books = some_books(&app, 8).await;
    let book = books[0].clone();
    // The default: three timeouts in a row start the back-off.
    let one = Instance::beside(&app).await;
    for book in &books {
        price_counting(&one, book).await;
    }
    let (_, warm) = price_counting(&one, &book).await;
    assert_eq!(warm, 0, "served from Redis");
    // Three times (as many as would open it in a row), a stall: the eight
    // calls in flight time out together (200 ms), counted once, and those
    // requests are served from Postgres.
    for round in 0..3 {
        one.proxy.delay(Duration::from_millis(400));
        let requests: Vec<_> = books
            .iter()
            .map(|book| {
                let router = one.router.clone();
                let book = book.clone();
                tokio::spawn(async move {
                    crate::instances::post(&router, None, PRICE, json!({"id": book})).await
                })
            })
            .collect();
        for request in requests {
            let body = request.await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
        }
        one.proxy.pass();
        // The late replies drain; then Redis answers again, and is used.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, statements) = price_counting(&one, &book).await;
        assert_eq!(
            statements, 0,
            "after stall {round}, the cache was switched off (Postgres answered)"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_hangs_switches_the_cache_off_within_three_timeouts() {
    let app = TestApp::new().await;
    let book = some_book(&app).await;
    let timeout = Duration::from_millis(400);
    let one = Instance::beside_with(&app, |config| config.redis_timeout = timeout).await;
    price_counting(&one, &book).await;
    one.proxy.hang();
    let started = Instant::now();
    let mut waited = 0;
    for _ in 0..8 {
        let request = Instant::now();
        let (_, statements) = price_counting(&one, &book).await;
        assert!(statements > 0, "served from Postgres");
        if request.elapsed() >= timeout {
            waited += 1;
        }
    }
    assert!(
        (1..=3).contains(&waited),
        "{waited} of 8 requests waited for the hung Redis"
    );
    assert!(
        started.elapsed() < timeout * 3 + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidation_that_timed_out_is_delivered_by_an_instance_that_falls_idle() {
    let app = TestApp::new().await;
    let book = some_book(&app).await;
    let staff = app.staff_token("breaker-staff@example.com").await;
    // The breaker never opens here: only the queue can deliver the change.
    let one = Instance::beside_with(&app, |config| config.breaker.timeouts_to_backoff = 100).await;
    let two = Instance::beside(&app).await;
    let (before, _) = price_counting(&two, &book).await;
    price_counting(&one, &book).await;
    one.proxy.hang();
    let cents = before + 222;
    let update = one
        .data(
            Some(&staff),
            UPDATE_PRICE,
            json!({"id": book, "cents": cents}),
        )
        .await;
    assert_eq!(update["updateBook"]["userErrors"], json!([]));
    one.proxy.pass();
    // `one` gets no request from now on; the other instance stops serving
    // the old price once `one` replayed what it could not deliver.
    let deadline = Instant::now() + BACKOFF * 5;
    loop {
        let (seen, _) = price_counting(&two, &book).await;
        if seen == cents {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance still serves {seen} instead of {cents}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
