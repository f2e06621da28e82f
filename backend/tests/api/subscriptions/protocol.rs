//! The protocol's rules and this server's limits, each with its close code.

use std::time::Duration;

use serde_json::json;

use super::BOOK_UPDATED;
use super::client::{Closed, WsClient, serve};
use crate::support::TestApp;

async fn book_id(app: &TestApp) -> serde_json::Value {
    app.data("{ books(first: 1) { nodes { id } } }", json!({}))
        .await["books"]["nodes"][0]["id"]
        .clone()
}

#[tokio::test]
async fn acknowledges_the_init_and_answers_pings() {
    let app = TestApp::new().await;
    let address = serve(app.router.clone()).await;
    let mut client = WsClient::ready(address, json!({})).await;
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.message().await, json!({"type": "pong"}));
    // A pong needs no answer; the connection stays usable.
    client.send(json!({"type": "pong"})).await;
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.message().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn each_protocol_violation_closes_with_its_code() {
    let app = TestApp::with_env(&[("WS_INIT_TIMEOUT_SECS", "1")]).await;
    let address = serve(app.router.clone()).await;
    let book = book_id(&app).await;
    let closed = |code: u16| move |closed: Closed| assert_eq!(closed.code, code, "{closed:?}");

    // No connection_init in time: 4408.
    let mut silent = WsClient::open(address).await;
    closed(4408)(silent.closed().await);

    // Subscribe before the ack: 4401.
    let mut early = WsClient::open(address).await;
    early
        .subscribe("1", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    closed(4401)(early.closed().await);

    // A second connection_init: 4429.
    let mut twice = WsClient::ready(address, json!({})).await;
    twice.send(json!({"type": "connection_init"})).await;
    closed(4429)(twice.closed().await);

    // Not a protocol message: 4400 (text, JSON of another type, binary-less).
    for bad in [
        "not json",
        r#"{"type":"start","id":"1"}"#,
        r#"{"type":"subscribe","id":"1"}"#,
    ] {
        let mut client = WsClient::ready(address, json!({})).await;
        client.send_text(bad.to_owned()).await;
        closed(4400)(client.closed().await);
    }

    // An id already running: 4409.
    let mut duplicate = WsClient::ready(address, json!({})).await;
    duplicate
        .subscribe("1", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    duplicate
        .subscribe("1", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    closed(4409)(duplicate.closed().await);

    // A token that is no session: 4403 (payload or upgrade header alike).
    let mut forged = WsClient::open(address).await;
    forged
        .send(json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}))
        .await;
    closed(4403)(forged.closed().await);
    let mut forged = WsClient::open_with(address, &[("authorization", "Bearer nope")]).await;
    forged.send(json!({"type": "connection_init"})).await;
    closed(4403)(forged.closed().await);

    // Not graphql-transport-ws: 4406.
    let mut other = WsClient::try_open(address, None, &[]).await.unwrap();
    closed(4406)(other.closed().await);
}

#[tokio::test]
async fn limits_subscriptions_connections_and_message_size() {
    let app = TestApp::with_env(&[
        ("WS_MAX_SUBSCRIPTIONS", "2"),
        ("WS_MAX_CONNECTIONS_PER_CLIENT", "2"),
        ("WS_MAX_MESSAGE_BYTES", "2048"),
    ])
    .await;
    let address = serve(app.router.clone()).await;
    let book = book_id(&app).await;

    let mut client = WsClient::ready(address, json!({})).await;
    client
        .subscribe("a", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    client
        .subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    client
        .subscribe("c", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    let refused = client.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "c");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    // Completing one makes room.
    client.send(json!({"id": "a", "type": "complete"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    client
        .subscribe("c", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    assert_eq!(
        client.message_within(Duration::from_millis(500)).await,
        None
    );

    // More than 100 books, an id of another type, a query: `error`, not a close.
    let many: Vec<_> = (0..101).map(|_| book.clone()).collect();
    let mut other = WsClient::ready(address, json!({})).await;
    other
        .subscribe("x", BOOK_UPDATED, json!({"ids": many}))
        .await;
    let error = other.message().await;
    assert_eq!(
        (
            error["type"].as_str(),
            error["payload"][0]["extensions"]["code"].as_str()
        ),
        (Some("error"), Some("BAD_USER_INPUT")),
        "{error}"
    );
    other
        .subscribe("y", "{ books(first: 1) { nodes { id } } }", json!({}))
        .await;
    let error = other.message().await;
    assert_eq!(error["type"], "error", "{error}");
    assert!(
        error["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only subscriptions"),
        "{error}"
    );

    // A third connection from the same address: refused at the upgrade.
    let refused = WsClient::try_open(address, Some("graphql-transport-ws"), &[]).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    drop(other);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A message over the limit: 1009.
    let mut big = WsClient::ready(address, json!({})).await;
    big.send_text(format!(
        r#"{{"type":"ping","payload":"{}"}}"#,
        "x".repeat(4096)
    ))
    .await;
    assert_eq!(big.closed().await.code, 1009);
}

#[tokio::test]
async fn graceful_shutdown_closes_every_socket_with_1001() {
    let app = TestApp::new().await;
    let state = bookstore::app::AppState::new(&app.config).unwrap();
    let sockets = state.endpoint.sockets.clone();
    let address = serve(bookstore::app::router(state, &app.config)).await;
    let mut client = WsClient::ready(address, json!({})).await;
    client
        .subscribe("1", BOOK_UPDATED, json!({"ids": [book_id(&app).await]}))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sockets.open(), 1);
    sockets.close_all(Duration::from_secs(5)).await;
    assert_eq!(client.closed().await.code, 1001);
    assert_eq!(sockets.open(), 0);
    // And no new ones meanwhile.
    assert!(
        WsClient::try_open(address, Some("graphql-transport-ws"), &[])
            .await
            .is_err()
    );
}
