//! Live updates: the order page's and the staff order list's event streams
//! (Server-Sent Events fed by a backend subscription opened as the
//! visitor), against a real backend: who gets a stream, what it carries,
//! and what happens when the browser or the backend goes away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

mod events;
#[path = "../support/mod.rs"]
mod support;

use events::{Item, WAIT, customer, open, paid_order, session, ship, staff};
use support::{Shop, get, serve_backend_state, storefront_with, unescape};

/// Waits until `check` holds (polling), or fails with `what`.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customers_order_page_hears_its_status_change_when_staff_ship_it() {
    let shop = Shop::new().await;
    let url = shop.graphql_url.clone();
    let staff = staff(&shop).await;
    let customer = customer(&url, "reader@example.com").await;
    let (number, _) = paid_order(&url, Some(&customer), "live-1").await;

    // The page names its stream and loads the script (no inline script).
    let mut browser = shop.browser();
    browser
        .cookies
        .insert("bookstore_session".into(), customer.clone());
    let page = browser.get(&format!("/orders/{number}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        unescape(&page.html).contains(&format!("data-live-events=\"/orders/{number}/events\"")),
        "{}",
        page.html
    );
    assert!(unescape(&page.html).contains("<script src=\"/static/live.js?v="));
    assert!(page.html.contains("aria-live=\"polite\""));
    assert!(!page.html.contains("<script>"));

    let mut stream = open(
        &shop.router,
        &format!("/orders/{number}/events"),
        &session(&customer),
    )
    .await
    .unwrap();
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert_eq!(stream.headers["cache-control"], "no-store");
    assert_eq!(stream.item_within(WAIT).await, Some(Item::Retry(5000)));
    // First the order's current state (it may have changed since the page).
    let (name, data) = stream.event().await;
    assert_eq!(name, "status");
    assert_eq!(
        data,
        json!({"number": number, "status": "PAID", "label": "Paid", "canCancel": true})
    );

    ship(&url, &staff, &number).await;
    let (name, data) = stream.event().await;
    assert_eq!(name, "status");
    assert_eq!(
        data,
        json!({"number": number, "status": "SHIPPED", "label": "Shipped", "canCancel": false})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_gets_no_stream_and_a_guest_with_the_token_gets_one() {
    let shop = Shop::new().await;
    let url = shop.graphql_url.clone();
    let staff = staff(&shop).await;
    let owner = customer(&url, "owner@example.com").await;
    let stranger = customer(&url, "stranger@example.com").await;
    let (customers, _) = paid_order(&url, Some(&owner), "live-2").await;
    let (guests, token) = paid_order(&url, None, "live-3").await;
    let token = token.unwrap();

    for (uri, cookies) in [
        (format!("/orders/{customers}/events"), session(&stranger)),
        (format!("/orders/{customers}/events"), String::new()),
        (format!("/orders/{guests}/events"), String::new()),
        (format!("/orders/{guests}/events"), session(&stranger)),
        (
            format!("/orders/{guests}/events?token=not-its-token"),
            String::new(),
        ),
        // A token opens only its own order.
        (
            format!("/orders/{customers}/events?token={token}"),
            String::new(),
        ),
        ("/orders/BK-NOSUCHORDER/events".to_owned(), session(&owner)),
        ("/orders/a%20b/events".to_owned(), session(&owner)),
    ] {
        let refused = open(&shop.router, &uri, &cookies).await.err();
        assert_eq!(refused, Some(StatusCode::NOT_FOUND), "{uri} {cookies}");
    }

    // The guest's page (its token link) names a stream with the token.
    let page = get(&shop.router, &format!("/orders/{guests}?token={token}")).await;
    assert!(
        unescape(&page.html).contains(&format!(
            "data-live-events=\"/orders/{guests}/events?token={token}\""
        )),
        "{}",
        page.html
    );
    let mut stream = open(
        &shop.router,
        &format!("/orders/{guests}/events?token={token}"),
        // A stale session cookie does not spoil the guest's link.
        &session("no-longer-a-session"),
    )
    .await
    .unwrap();
    assert_eq!(stream.event().await.1["status"], "PAID");
    ship(&url, &staff, &guests).await;
    assert_eq!(stream.event().await.1["status"], "SHIPPED");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_hear_of_each_newly_paid_order_and_nobody_else_does() {
    let shop = Shop::new().await;
    let url = shop.graphql_url.clone();
    let staff = staff(&shop).await;
    let customer = customer(&url, "reader@example.com").await;

    for cookies in [String::new(), session(&customer), session("not-a-session")] {
        let refused = open(&shop.router, "/staff/orders/events", &cookies)
            .await
            .err();
        assert_eq!(refused, Some(StatusCode::FORBIDDEN), "{cookies}");
    }

    let mut browser = shop.browser();
    browser
        .cookies
        .insert("bookstore_session".into(), staff.clone());
    let list = browser.get("/staff/orders").await;
    assert!(
        unescape(&list.html).contains("data-live-events=\"/staff/orders/events\""),
        "{}",
        list.html
    );
    assert!(unescape(&list.html).contains("<script src=\"/static/live.js?v="));

    let mut stream = open(&shop.router, "/staff/orders/events", &session(&staff))
        .await
        .unwrap();
    assert_eq!(stream.item_within(WAIT).await, Some(Item::Retry(5000)));
    // Subscribed once the stream answers: an order paid now is heard of.
    let (number, _) = paid_order(&url, None, "live-4").await;
    let (name, data) = stream.event().await;
    assert_eq!(name, "order");
    assert_eq!(data["number"], number);
    assert_eq!(data["email"], "guest@example.com");
    assert_eq!(data["status"], "paid");
    assert!(data["total"].as_str().unwrap().starts_with('$'), "{data}");
    assert_eq!(data["placed"].as_str().unwrap().len(), 16, "{data}");
    // The list with that order names its row (the script skips rows it has).
    let list = browser.get("/staff/orders").await;
    assert!(
        list.html
            .contains(&format!("data-order-number=\"{number}\""))
    );
    assert!(list.html.contains("data-live-rows"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_that_goes_away_closes_its_backend_subscription() {
    let database = bookstore_test_support::TestDatabase::seeded().await;
    let (url, _, backend) = serve_backend_state(&database, &[]).await;
    let (router, storefront) = storefront_with(&url, 5000, &[("LIVE_KEEPALIVE_SECS", "1")]);
    let (number, token) = paid_order(&url, None, "live-5").await;
    let uri = format!("/orders/{number}/events?token={}", token.unwrap());
    let sockets = &backend.endpoint.sockets;
    assert_eq!(sockets.open(), 0);

    let mut stream = open(&router, &uri, "").await.unwrap();
    assert_eq!(sockets.open(), 1);
    assert_eq!(storefront.live.open_streams(), 1);
    let metrics = get(&router, "/metrics").await.html;
    assert!(
        metrics.contains("bookstore_web_live_streams 1"),
        "{metrics}"
    );
    assert_eq!(stream.event().await.1["status"], "PAID");
    // A quiet stream carries keep-alive comments for the proxies.
    assert_eq!(
        stream.item_within(Duration::from_secs(3)).await,
        Some(Item::Comment("keep-alive".to_owned()))
    );

    drop(stream);
    eventually("the backend's WebSocket closed", || sockets.open() == 0).await;
    assert_eq!(storefront.live.open_streams(), 0);
    let metrics = get(&router, "/metrics").await.html;
    assert!(
        metrics.contains("bookstore_web_live_streams 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_are_bounded_and_end_when_the_backend_shuts_down() {
    let database = bookstore_test_support::TestDatabase::seeded().await;
    let (url, _, backend) = serve_backend_state(&database, &[]).await;
    let (router, storefront) = storefront_with(&url, 5000, &[("LIVE_MAX_STREAMS", "1")]);
    let (number, token) = paid_order(&url, None, "live-6").await;
    let uri = format!("/orders/{number}/events?token={}", token.unwrap());

    let mut first = open(&router, &uri, "").await.unwrap();
    assert_eq!(first.event().await.1["status"], "PAID");
    assert_eq!(
        open(&router, &uri, "").await.err(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    drop(first);
    eventually("the place was given back", || {
        storefront.live.open_streams() == 0
    })
    .await;
    let mut again = open(&router, &uri, "").await.unwrap();
    assert_eq!(again.event().await.1["status"], "PAID");

    // The backend shuts down (1001): the stream ends, so the browser
    // reconnects (to another backend behind nginx) after `retry`.
    backend.endpoint.sockets.begin_closing();
    again.end().await;
    eventually("the place was given back", || {
        storefront.live.open_streams() == 0
    })
    .await;
    // While the backend refuses WebSockets, the page still renders and the
    // stream only says when to retry.
    let page = get(
        &router,
        &format!("/orders/{number}?{}", uri.split('?').nth(1).unwrap()),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let mut refused = open(&router, &uri, "").await.unwrap();
    assert_eq!(refused.item_within(WAIT).await, Some(Item::Retry(5000)));
    refused.end().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_backend_is_a_stream_that_says_when_to_retry() {
    let (router, storefront) = storefront_with("http://127.0.0.1:1/graphql", 500, &[]);
    let mut stream = open(&router, "/orders/BK-1234567890/events", "")
        .await
        .unwrap();
    assert_eq!(stream.item_within(WAIT).await, Some(Item::Retry(5000)));
    stream.end().await;
    assert_eq!(storefront.live.open_streams(), 0);
    // The page itself is the usual "try again" page.
    let page = get(&router, "/orders/BK-1234567890").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storefront_shutting_down_ends_its_streams_so_browsers_go_elsewhere() {
    let database = bookstore_test_support::TestDatabase::seeded().await;
    let (url, _, backend) = serve_backend_state(&database, &[]).await;
    let (router, storefront) = storefront_with(&url, 5000, &[]);
    let (number, token) = paid_order(&url, None, "live-7").await;
    let uri = format!("/orders/{number}/events?token={}", token.unwrap());
    let mut stream = open(&router, &uri, "").await.unwrap();
    assert_eq!(stream.event().await.1["status"], "PAID");

    // What `serve` does at SIGTERM (graceful shutdown waits for answers to
    // finish, and a stream never would).
    storefront.live.close_all();
    stream.end().await;
    eventually("the backend's WebSocket closed", || {
        backend.endpoint.sockets.open() == 0
    })
    .await;
    let mut late = open(&router, &uri, "").await.unwrap();
    assert_eq!(late.item_within(WAIT).await, Some(Item::Retry(5000)));
    late.end().await;
}
