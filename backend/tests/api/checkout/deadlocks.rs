//! Checkouts and cancellations of the same two-book orders, racing: every
//! path locks books in id order, so none deadlocks and the stock adds up.

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::support::*;
use crate::support::TestApp;

/// A guest cart with one copy each of `first` then `second` (in that
/// insertion order).
async fn two_book_cart(app: &TestApp, first: &Value, second: &Value) -> Value {
    let cart = guest_cart(app, first, 1).await;
    let added = add(app, &cart, second, 1).await;
    assert_eq!(added["userErrors"], json!([]), "{added}");
    cart
}

#[tokio::test(flavor = "multi_thread")]
async fn checkouts_racing_cancels_of_two_book_orders_never_deadlock() {
    let app = TestApp::with_env(&[("DATABASE_POOL_SIZE", "16")]).await;
    let staff = app.staff_token("warehouse@example.com").await;
    let (low, low_id) = book_with_stock(&app, 0, 1000).await;
    let (high, high_id) = book_with_stock(&app, 1, 1000).await;
    let cancel = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status } userErrors { code } } }";
    let mut expected_left = 1000;
    for round in 0..4 {
        // Orders to cancel, and carts to check out meanwhile, half of each
        // filled in each order.
        let mut placed = Vec::new();
        for n in 0..12 {
            let cart = if n % 2 == 0 {
                two_book_cart(&app, &low, &high).await
            } else {
                two_book_cart(&app, &high, &low).await
            };
            let data = app
                .data(
                    &checkout_mutation(),
                    checkout_input(&format!("placed-{round}-{n}"), &cart, APPROVE),
                )
                .await;
            assert_eq!(data["checkout"]["order"]["status"], "PAID", "{data}");
            placed.push(data["checkout"]["order"]["number"].clone());
        }
        let mut carts = Vec::new();
        for n in 0..12 {
            carts.push(if n % 2 == 0 {
                two_book_cart(&app, &high, &low).await
            } else {
                two_book_cart(&app, &low, &high).await
            });
        }
        // Rewrite the higher id's row first, so a scan in table order meets
        // it before the lower id.
        set_stock(&app, high_id, stock_of(&app, high_id).await as i32).await;
        set_stock(&app, low_id, stock_of(&app, low_id).await as i32).await;
        let cancels = join_all(placed.iter().map(|number| {
            let app = &app;
            let staff = &staff;
            async move { app.graphql_as(staff, cancel, json!({"n": number})).await }
        }));
        let checkouts = join_all(carts.iter().enumerate().map(|(n, cart)| {
            let app = &app;
            async move {
                app.graphql(
                    &checkout_mutation(),
                    checkout_input(&format!("racing-{round}-{n}"), cart, APPROVE),
                )
                .await
            }
        }));
        let (cancelled, checked_out) = tokio::join!(cancels, checkouts);
        for reply in cancelled.iter().chain(&checked_out) {
            let body = reply.json();
            assert!(
                body.get("errors").is_none(),
                "no deadlock, no error: {body}"
            );
        }
        for reply in &cancelled {
            assert_eq!(
                reply.json()["data"]["cancelOrder"]["order"]["status"],
                "CANCELLED"
            );
        }
        for reply in &checked_out {
            assert_eq!(reply.json()["data"]["checkout"]["order"]["status"], "PAID");
        }
        // 12 placed and cancelled (net 0), 12 checked out.
        expected_left -= 12;
        assert_eq!(stock_of(&app, low_id).await, expected_left);
        assert_eq!(stock_of(&app, high_id).await, expected_left);
    }
}

/// A cancel's restock meets a transaction that holds the lower book and
/// then wants the higher one (as a checkout takes them). The order's lines
/// are stored higher book first: a restock that followed its lines would
/// take the higher book and wait for the lower one — a deadlock.
#[tokio::test(flavor = "multi_thread")]
async fn restock_takes_books_in_id_order_whatever_order_its_lines_are_stored_in() {
    use diesel_async::RunQueryDsl;
    use std::time::Duration;

    let app = TestApp::new().await;
    let staff = app.staff_token("stockroom@example.com").await;
    let (first, first_id) = book_with_stock(&app, 0, 10).await;
    let (second, second_id) = book_with_stock(&app, 1, 10).await;
    let (low_id, high_id) = (first_id.min(second_id), first_id.max(second_id));
    let cart = two_book_cart(&app, &first, &second).await;
    let placed = app
        .data(
            &checkout_mutation(),
            checkout_input("stored", &cart, APPROVE),
        )
        .await;
    let order = placed["checkout"]["order"]["number"].clone();
    // Store the lines higher book first.
    let lines = format!(
        "FROM order_lines WHERE order_id = (SELECT id FROM orders WHERE number = '{}')",
        order.as_str().unwrap()
    );
    let mut conn = app.connection().await;
    for statement in [
        format!("CREATE TEMP TABLE saved AS SELECT * {lines}"),
        format!("DELETE {lines}"),
        format!(
            "INSERT INTO order_lines SELECT order_id, 0, book_id, title, isbn, unit_price_cents, quantity FROM saved WHERE book_id = {high_id}"
        ),
        format!(
            "INSERT INTO order_lines SELECT order_id, 1, book_id, title, isbn, unit_price_cents, quantity FROM saved WHERE book_id = {low_id}"
        ),
    ] {
        crate::support::execute(&mut conn, &statement).await;
    }
    let mut checkout_like = app.connection().await;
    let run = |sql: String| diesel::sql_query(sql);
    run("BEGIN".into())
        .execute(&mut checkout_like)
        .await
        .unwrap();
    run(format!(
        "UPDATE books SET stock = stock - 1 WHERE id = {low_id}"
    ))
    .execute(&mut checkout_like)
    .await
    .unwrap();
    let cancel = "mutation($n: String!) { cancelOrder(input: {number: $n}) { order { status } userErrors { code } } }";
    let (cancelled, taken) =
        tokio::join!(app.graphql_as(&staff, cancel, json!({"n": order})), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let taken = run(format!(
                "UPDATE books SET stock = stock - 1 WHERE id = {high_id}"
            ))
            .execute(&mut checkout_like)
            .await;
            run("COMMIT".into())
                .execute(&mut checkout_like)
                .await
                .unwrap();
            taken
        });
    assert!(taken.is_ok(), "the checkout-like transaction: {taken:?}");
    let body = cancelled.json();
    assert!(body.get("errors").is_none(), "no deadlock: {body}");
    assert_eq!(body["data"]["cancelOrder"]["order"]["status"], "CANCELLED");
    // 10 - 1 (ordered) + 1 (cancelled) - 1 (the other transaction).
    assert_eq!(stock_of(&app, low_id).await, 9);
    assert_eq!(stock_of(&app, high_id).await, 9);
}
