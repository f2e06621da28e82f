//! Subscription fan-out across two instances (`subscriptions.sh` starts
//! them and runs this): `SUBSCRIPTIONS` (default 1000) `bookUpdated`
//! subscriptions on instance B, `PER_CONNECTION` (default 1) per WebSocket,
//! all on one book; then `EVENTS` (default 50) stock adjustments on
//! instance A, one at a time. Reports B's resident memory per open
//! subscription (RSS delta / count) and the fan-out latency from sending
//! the mutation to A to each subscriber's receipt on B (p50/p99/max).
//!
//!   A_URL=http://127.0.0.1:8300/graphql B_WS=ws://127.0.0.1:8301/graphql \
//!   B_PID=… STAFF_TOKEN=… cargo test --bench subscriptions
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SUBSCRIBE: &str = "subscription($ids: [ID!]!) { bookUpdated(ids: $ids) { stock } }";
const ADJUST: &str = "mutation($id: ID!) { adjustStock(input: {bookId: $id, delta: 1}) { book { stock } userErrors { message } } }";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// One WebSocket holding `count` subscriptions; reports each event's stock.
async fn connection(
    url: String,
    book: Value,
    count: usize,
    events: mpsc::UnboundedSender<(i64, Instant)>,
    ready: mpsc::Sender<()>,
) {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket");
    socket
        .send(Message::Text(
            json!({"type": "connection_init"}).to_string().into(),
        ))
        .await
        .unwrap();
    let ack = socket.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    for id in 0..count {
        let subscribe = json!({"id": id.to_string(), "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"ids": [book]}}});
        socket
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .unwrap();
    }
    ready.send(()).await.unwrap();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let received = Instant::now();
        let message: Value = serde_json::from_str(&text).unwrap();
        if let Some(stock) = message["payload"]["data"]["bookUpdated"]["stock"].as_i64() {
            let _ = events.send((stock, received));
        }
    }
}

#[tokio::main]
async fn main() {
    let a_url = env("A_URL");
    let b_ws = env("B_WS");
    let b_pid = env("B_PID");
    let token = env("STAFF_TOKEN");
    let subscriptions = number("SUBSCRIPTIONS", 1000);
    let per_connection = number("PER_CONNECTION", 1).max(1);
    let rounds = number("EVENTS", 50);
    let http = reqwest::Client::new();
    let post = async |query: &str, variables: Value| -> Value {
        http.post(&a_url)
            .bearer_auth(&token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    };
    let books = post("{ books(first: 1) { nodes { id stock } } }", json!({})).await;
    let book = books["data"]["books"]["nodes"][0]["id"].clone();

    let before = rss_kib(&b_pid);
    let (events, mut received) = mpsc::unbounded_channel();
    let (ready, mut readies) = mpsc::channel(64);
    let connections = subscriptions.div_ceil(per_connection);
    for n in 0..connections {
        let count = per_connection.min(subscriptions - n * per_connection);
        tokio::spawn(connection(
            b_ws.clone(),
            book.clone(),
            count,
            events.clone(),
            ready.clone(),
        ));
    }
    for _ in 0..connections {
        readies.recv().await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(&b_pid);
    println!(
        "open: {subscriptions} subscriptions on {connections} WebSockets; instance B RSS {before} KiB -> {after} KiB: {:.1} KiB per subscription",
        (after as f64 - before as f64) / subscriptions as f64
    );

    let mut latencies = Vec::with_capacity(subscriptions * rounds);
    let mut lost = 0;
    for _ in 0..rounds {
        let sent = Instant::now();
        let answer = post(ADJUST, json!({"id": book})).await;
        let stock = answer["data"]["adjustStock"]["book"]["stock"]
            .as_i64()
            .expect("stock");
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while got < subscriptions {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some((value, at))) if value == stock => {
                    latencies.push(at - sent);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        lost += subscriptions - got;
    }
    latencies.sort();
    println!(
        "fan-out A -> B over {rounds} events x {subscriptions} subscribers: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, lost {lost}",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().unwrap().as_secs_f64() * 1000.0,
    );
}
