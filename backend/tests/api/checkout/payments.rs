//! The charge runs outside any transaction: a gateway that times out leaves
//! the order awaiting payment (unknown, not declined), a retry never charges
//! again, a pending order whose charge may have gone through cannot be
//! cancelled, and slow charges never starve catalog reads of connections.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use super::support::*;
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_timeout_leaves_the_order_pending_and_a_retry_does_not_charge_again() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "300")]).await;
    let (book, book_id) = book_with_stock(&app, 0, 5).await;
    let cart = guest_cart(&app, &book, 2).await;

    let started = Instant::now();
    let first = app
        .data(&checkout_mutation(), checkout_input("hang-1", &cart, HANG))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the charge timeout ends the wait"
    );
    let order = &first["checkout"]["order"];
    assert_eq!(order["status"], "PENDING_PAYMENT", "{first}");
    assert_eq!(
        first["checkout"]["userErrors"][0]["code"], "PAYMENT_PENDING",
        "{first}"
    );
    assert_eq!(order["payments"], json!([]), "nothing recorded as charged");
    assert_eq!(stock_of(&app, book_id).await, 3, "the stock stays reserved");

    let retry = app
        .data(&checkout_mutation(), checkout_input("hang-1", &cart, HANG))
        .await;
    assert_eq!(retry["checkout"]["order"]["number"], order["number"]);
    assert_eq!(retry["checkout"]["order"]["status"], "PENDING_PAYMENT");
    assert_eq!(
        retry["checkout"]["userErrors"][0]["code"],
        "PAYMENT_PENDING"
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 1);
    assert_eq!(number(&app, "SELECT count(*) AS n FROM payments").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_whose_charge_may_have_gone_through_cannot_be_cancelled() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "300")]).await;
    let token = app.customer_token("unsure@example.com").await;
    let (book, book_id) = book_with_stock(&app, 0, 5).await;
    app.data_as(&token, add_to_cart(), json!({"input": {"bookId": book}}))
        .await;
    let placed = app
        .data_as(
            &token,
            &checkout_mutation(),
            customer_checkout_input("charged-then-silent", CHARGE_THEN_HANG),
        )
        .await;
    let order = &placed["checkout"]["order"];
    assert_eq!(order["status"], "PENDING_PAYMENT", "{placed}");
    let cancel = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status } userErrors { code message } } }";
    let refused = app
        .data_as(&token, cancel, json!({"n": order["number"]}))
        .await;
    assert_eq!(
        refused["cancelOrder"]["userErrors"][0]["code"], "INVALID_STATE",
        "{refused}"
    );
    assert_eq!(
        order_status(&app, &order["number"]).await,
        "PENDING_PAYMENT"
    );
    assert_eq!(stock_of(&app, book_id).await, 4, "the stock stays with it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_gateway_does_not_exhaust_the_pool_for_catalog_reads() {
    let app =
        TestApp::with_env(&[("DATABASE_POOL_SIZE", "2"), ("CHARGE_TIMEOUT_MS", "3000")]).await;
    let (book, _) = book_with_stock(&app, 0, 50).await;
    let mut carts = Vec::new();
    for _ in 0..6 {
        carts.push(guest_cart(&app, &book, 1).await);
    }
    let started = Instant::now();
    let checkouts = join_all(carts.iter().enumerate().map(|(n, cart)| {
        let app = &app;
        async move {
            app.data(
                &checkout_mutation(),
                checkout_input(&format!("slow-{n}"), cart, HANG),
            )
            .await
        }
    }));
    let reads = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut slowest = Duration::ZERO;
        for n in 0..10 {
            let read = Instant::now();
            app.data(
                "query($id: ID, $n: Int) { cart(id: $id) { itemCount } books(first: $n, sort: TITLE) { nodes { title stock } } }",
                json!({"id": carts[0], "n": n % 5 + 1}),
            )
            .await;
            slowest = slowest.max(read.elapsed());
        }
        (slowest, started.elapsed())
    };
    let (placed, (slowest, reads_done)) = tokio::join!(checkouts, reads);
    assert!(
        reads_done < Duration::from_millis(2500),
        "the reads ran while the charges hung ({reads_done:?})"
    );
    assert!(
        slowest < Duration::from_millis(500),
        "catalog reads stay fast while 6 charges hang on a pool of 2 (slowest {slowest:?})"
    );
    for data in &placed {
        assert_eq!(
            data["checkout"]["order"]["status"], "PENDING_PAYMENT",
            "{data}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_retries_while_the_charge_hangs_send_it_once() {
    let app = TestApp::with_env(&[("CHARGE_TIMEOUT_MS", "500"), ("DATABASE_POOL_SIZE", "8")]).await;
    let (book, book_id) = book_with_stock(&app, 0, 5).await;
    let cart = guest_cart(&app, &book, 1).await;
    let replies = join_all((0..8).map(|_| {
        let app = &app;
        let cart = &cart;
        async move {
            app.data(
                &checkout_mutation(),
                checkout_input("double-click", cart, CHARGE_THEN_HANG),
            )
            .await
        }
    }))
    .await;
    for data in &replies {
        assert_eq!(
            data["checkout"]["order"]["status"], "PENDING_PAYMENT",
            "{data}"
        );
        assert_eq!(data["checkout"]["userErrors"][0]["code"], "PAYMENT_PENDING");
        assert_eq!(
            data["checkout"]["order"]["number"],
            replies[0]["checkout"]["order"]["number"]
        );
    }
    assert_eq!(
        app.gateway.charge_requests(),
        1,
        "one charge request for one order"
    );
    assert_eq!(stock_of(&app, book_id).await, 4);
}
