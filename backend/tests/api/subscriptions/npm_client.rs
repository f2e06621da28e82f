//! The real `graphql-ws` npm client (frontend/e2e's node_modules) against
//! the server: it subscribes to `bookUpdated`, and the events it prints are
//! what a browser or React Native app would get, unmodified.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

use super::client::serve;
use crate::checkout::support::book_with_stock;
use crate::support::TestApp;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../frontend/e2e/graphql-ws-client.mjs"
);

#[tokio::test]
async fn the_graphql_ws_npm_client_receives_events_unmodified() {
    let modules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../frontend/e2e/node_modules/graphql-ws"
    );
    assert!(
        std::path::Path::new(modules).exists(),
        "graphql-ws is not installed: run `npm ci` in frontend/e2e"
    );
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let address = serve(app.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;

    let mut node = std::process::Command::new("node")
        .arg(SCRIPT)
        .arg(format!("ws://{address}/graphql"))
        .arg(json!({"query": "subscription($ids: [ID!]!) { bookUpdated(ids: $ids) { id stock } }", "variables": {"ids": [book]}}).to_string())
        .arg("2")
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (Node.js 20) on PATH");
    let (sender, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = node.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .ok()
            .flatten()
    };
    let first = next_line().await;
    assert_eq!(
        first.as_deref(),
        Some("subscribed"),
        "the client did not connect"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let adjust = "mutation($id: ID!, $delta: Int!) { adjustStock(input: {bookId: $id, delta: $delta}) { userErrors { message } } }";
    for delta in [1, 2] {
        app.data_as(&staff, adjust, json!({"id": book, "delta": delta}))
            .await;
        let line = next_line().await.expect("no event reached the npm client");
        let event: Value = serde_json::from_str(&line).unwrap();
        let stock = if delta == 1 { 11 } else { 13 };
        assert_eq!(
            event,
            json!({"data": {"bookUpdated": {"id": book, "stock": stock}}})
        );
    }
    // Two events: the client exits by itself.
    let status = tokio::task::spawn_blocking(move || node.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the npm client failed: {status}");
}
