//! Events cross instances (one Redis subscriber each, fanned out in
//! process), and a Redis outage drops events without breaking the service;
//! once the subscriber is back, open subscriptions get the current state.

use std::time::Duration;

use serde_json::json;

use super::client::{WsClient, serve};
use super::{BOOK_UPDATED, ORDER_PLACED, customer_order};
use crate::checkout::support::book_with_stock;
use crate::instances::Instance;
use crate::support::TestApp;

const ADJUST: &str = "mutation($id: ID!, $delta: Int!) { adjustStock(input: {bookId: $id, delta: $delta}) { book { stock } userErrors { message } } }";

#[tokio::test]
async fn an_event_raised_on_one_instance_reaches_subscribers_on_another() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let customer = app.customer_token("reader@example.com").await;
    let other = Instance::beside(&app).await;
    let address = serve(other.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;

    let mut watcher = WsClient::ready(address, json!({})).await;
    watcher
        .subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    let mut desk = WsClient::ready(address, json!({"token": staff})).await;
    desk.subscribe("p", ORDER_PLACED, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    app.data_as(&staff, ADJUST, json!({"id": book, "delta": 2}))
        .await;
    assert_eq!(
        watcher.next_of("b").await["data"]["bookUpdated"]["stock"],
        12
    );

    let order = customer_order(&app, &customer, 1, "across-1").await;
    assert_eq!(
        desk.next_of("p").await["data"]["orderPlaced"]["id"],
        order["id"]
    );
}

#[tokio::test]
async fn a_redis_outage_drops_events_not_requests_and_ends_with_a_refetch() {
    let app = TestApp::new().await;
    let staff = app.staff_token("staff@example.com").await;
    let other = Instance::beside(&app).await;
    let address = serve(other.router.clone()).await;
    let (book, _) = book_with_stock(&app, 0, 10).await;

    let mut watcher = WsClient::ready(address, json!({})).await;
    watcher
        .subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Redis away from the second instance: its subscriber hears nothing...
    other.proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.data_as(&staff, ADJUST, json!({"id": book, "delta": 3}))
        .await;
    assert_eq!(
        watcher.message_within(Duration::from_millis(500)).await,
        None
    );
    // ...but it still serves requests and new subscriptions.
    let read = other
        .data(
            None,
            "query($id: ID!) { node(id: $id) { ... on Book { stock } } }",
            json!({"id": book}),
        )
        .await;
    assert_eq!(read["node"]["stock"], 13);
    let mut late = WsClient::ready(address, json!({})).await;
    late.subscribe("b", BOOK_UPDATED, json!({"ids": [book]}))
        .await;

    // Redis back: every open subscription gets the current state.
    other.proxy.pass();
    let refetched = watcher.next_of("b").await;
    assert_eq!(refetched["data"]["bookUpdated"]["stock"], 13);
    assert_eq!(late.next_of("b").await["data"]["bookUpdated"]["stock"], 13);
    // And events flow again.
    app.data_as(&staff, ADJUST, json!({"id": book, "delta": 1}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = watcher.next_of("b").await;
        if next["data"]["bookUpdated"]["stock"] == 14 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no event after the outage"
        );
    }
}
