//! Checkout throughput against a running backend (`load.sh` starts one and
//! runs this): `CONNECTIONS` workers (default 32) each loop add-to-cart ->
//! checkout until `CHECKOUTS` (default 3000) orders are placed. Reports
//! successful checkouts per second and checkout latency percentiles. With
//! `RATE` (checkouts per second), the n-th checkout starts no sooner than
//! n / RATE seconds in: a steady load (`mail-delivery.sh` uses it) rather
//! than as many as the backend takes.
//!
//!   BENCH_URL=http://127.0.0.1:8100/graphql cargo bench --bench checkout
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADD: &str = "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } userErrors { code } } }";
const CHECKOUT: &str = "mutation($input: CheckoutInput!) { checkout(input: $input) { order { number status } userErrors { code message } } }";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn post(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    client
        .post(url)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

fn book_id(n: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Book:{n}"))
}

#[tokio::main]
async fn main() {
    let url = std::env::var("BENCH_URL").unwrap_or_else(|_| "http://127.0.0.1:8100/graphql".into());
    let total = env("CHECKOUTS", 3000);
    let workers = env("CONNECTIONS", 32);
    let books = env("BOOKS", 10_000);
    let rate = env("RATE", 0);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .build()
        .unwrap();
    let started_count = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (client, url) = (client.clone(), url.clone());
            let (next, failures) = (started_count.clone(), failures.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return latencies;
                    }
                    if rate > 0 {
                        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let book = book_id(1 + (n * 7919 + worker) % books);
                    let added = post(&client, &url, ADD, json!({"input": {"bookId": book, "quantity": 1}})).await;
                    let cart = added["data"]["addToCart"]["cart"]["id"].clone();
                    let input = json!({"input": {
                        "idempotencyKey": format!("bench-{}-{n}", std::process::id()),
                        "cartId": cart,
                        "email": "bench@example.com",
                        "shippingAddress": {"name": "Bench", "line1": "1 Load St", "city": "Testville", "postalCode": "1000", "country": "US"},
                        "shippingMethod": "STANDARD",
                        "payment": {"cardNumber": "4242424242424242"},
                    }});
                    let at = Instant::now();
                    let placed = post(&client, &url, CHECKOUT, input).await;
                    latencies.push(at.elapsed());
                    if placed["data"]["checkout"]["order"]["status"] != "PAID"
                        && failures.fetch_add(1, Ordering::Relaxed) < 3
                    {
                        eprintln!("checkout failed: {placed}");
                    }
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let failed = failures.load(Ordering::Relaxed);
    println!(
        "checkouts: {} ok, {failed} failed in {:.1}s = {:.0} orders/s (each after an addToCart); checkout latency p50 {:?} p99 {:?} at {workers} connections",
        latencies.len() - failed,
        elapsed.as_secs_f64(),
        (latencies.len() - failed) as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
    );
}
