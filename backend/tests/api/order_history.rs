//! A signed-in customer's order history (issue #11's Q3): how many SQL
//! statements it costs, cold and warm, and that the session behind it is
//! still checked (and kept alive) in Postgres on every request.

use serde_json::{Value, json};

use crate::checkout::support::{
    APPROVE, add_to_cart, book_with_stock, checkout_mutation, customer_checkout_input,
};
use crate::support::TestApp;

/// Q3: the 10 latest orders with their lines and the books' titles, as an
/// API client (`Authorization: Bearer`) asks for them.
const HISTORY: &str = "{ viewer { orders(first: 10) { edges { node { number status createdAt
  total { formatted } lines { quantity lineTotal { formatted } book { title } } } } } } }";

/// Three paid orders of `token`'s customer, of three different books;
/// returns their numbers, newest first.
pub(crate) async fn three_orders(app: &TestApp, token: &str) -> Vec<Value> {
    let mut numbers = Vec::new();
    for n in 0..3 {
        let (book, _) = book_with_stock(app, n, 10).await;
        app.data_as(
            token,
            add_to_cart(),
            json!({"input": {"bookId": book, "quantity": n + 1}}),
        )
        .await;
        let placed = app
            .data_as(
                token,
                &checkout_mutation(),
                customer_checkout_input(&format!("history-{n}"), APPROVE),
            )
            .await;
        assert_eq!(placed["checkout"]["userErrors"], json!([]), "{placed}");
        numbers.insert(0, placed["checkout"]["order"]["number"].clone());
    }
    numbers
}

/// Runs `query` as `token`; its data and how many statements it ran.
async fn counting_as(app: &TestApp, token: &str, query: &str) -> (Value, u64) {
    let before = app.db.statements_executed();
    let data = app.data_as(token, query, json!({})).await;
    (data, app.db.statements_executed() - before)
}

fn edges(data: &Value) -> Vec<Value> {
    data["viewer"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn order_history_runs_two_statements_cold_and_warm() {
    let app = TestApp::new().await;
    let token = app.customer_token("history@example.com").await;
    let numbers = three_orders(&app, &token).await;

    app.flush_cache().await;
    let (cold, cold_statements) = counting_as(&app, &token, HISTORY).await;
    let orders = edges(&cold);
    let listed: Vec<Value> = orders.iter().map(|order| order["number"].clone()).collect();
    assert_eq!(listed, numbers, "newest first");
    for (order, copies) in orders.iter().zip([3, 2, 1]) {
        assert_eq!(order["status"], "PAID");
        let lines = order["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{order}");
        assert_eq!(lines[0]["quantity"], copies);
        assert!(lines[0]["book"]["title"].as_str().unwrap().len() > 1);
        assert!(
            order["total"]["formatted"]
                .as_str()
                .unwrap()
                .starts_with('$')
        );
    }
    // The session with its user; the page of orders with their lines and
    // the lines' books (read with the page, cached or not).
    assert!(
        cold_statements <= 2,
        "cold order history ran {cold_statements} statements"
    );

    let (warm, warm_statements) = counting_as(&app, &token, HISTORY).await;
    assert_eq!(warm, cold);
    assert!(
        warm_statements <= 2,
        "warm order history ran {warm_statements} statements"
    );

    // `viewer` alone is the session lookup, nothing more.
    let (me, statements) =
        counting_as(&app, &token, "{ viewer { email name role emailVerified } }").await;
    assert_eq!(me["viewer"]["email"], "history@example.com");
    assert_eq!(me["viewer"]["emailVerified"], false);
    assert_eq!(statements, 1, "viewer ran {statements} statements");

    // `totalCount` costs a count, only when asked for.
    let (counted, statements) = counting_as(
        &app,
        &token,
        "{ viewer { orders(first: 2) { totalCount nodes { number } } } }",
    )
    .await;
    assert_eq!(counted["viewer"]["orders"]["totalCount"], 3);
    assert_eq!(
        counted["viewer"]["orders"]["nodes"],
        json!([{"number": numbers[0]}, {"number": numbers[1]}])
    );
    assert!(statements <= 3, "with totalCount: {statements} statements");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_used_after_a_minute_is_touched_in_the_same_statement() {
    let app = TestApp::new().await;
    let token = app.customer_token("touch@example.com").await;
    three_orders(&app, &token).await;
    counting_as(&app, &token, HISTORY).await;
    app.sql("UPDATE sessions SET last_seen_at = now() - interval '5 minutes'")
        .await;

    let (_, statements) = counting_as(&app, &token, HISTORY).await;
    assert!(
        statements <= 2,
        "warm order history with a session to touch ran {statements} statements"
    );
    let fresh = crate::checkout::support::number(
        &app,
        "SELECT count(*) AS n FROM sessions WHERE last_seen_at > now() - interval '1 minute'",
    )
    .await;
    assert_eq!(fresh, 1, "the session's last use was recorded");

    // Revoked in Postgres: refused at once, whatever any cache holds.
    app.sql("DELETE FROM sessions").await;
    let body = app.graphql_as(&token, HISTORY, json!({})).await.json();
    assert_eq!(body["data"]["viewer"], Value::Null, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_shows_its_book_as_it_is_now_and_its_title_as_sold() {
    let app = TestApp::new().await;
    let token = app.customer_token("renamed@example.com").await;
    three_orders(&app, &token).await;
    let query =
        "{ viewer { orders(first: 10) { nodes { lines { title book { title stock } } } } } }";
    let before = app.data_as(&token, query, json!({})).await;
    let sold = before["viewer"]["orders"]["nodes"][0]["lines"][0]["title"].clone();
    assert_eq!(
        before["viewer"]["orders"]["nodes"][0]["lines"][0]["book"]["title"],
        sold
    );

    // The newest order's book is renamed and restocked; the oldest's deleted.
    app.sql(
        "UPDATE books SET title = 'Renamed Since', stock = 77 WHERE id = \
         (SELECT book_id FROM order_lines ORDER BY order_id DESC LIMIT 1)",
    )
    .await;
    app.sql(
        "DELETE FROM books WHERE id = (SELECT book_id FROM order_lines ORDER BY order_id LIMIT 1)",
    )
    .await;
    app.flush_cache().await;
    let after = app.data_as(&token, query, json!({})).await;
    let nodes = &after["viewer"]["orders"]["nodes"];
    assert_eq!(nodes[0]["lines"][0]["title"], sold, "the title as sold");
    assert_eq!(
        nodes[0]["lines"][0]["book"],
        json!({"title": "Renamed Since", "stock": 77}),
        "the book as it is now"
    );
    assert_eq!(nodes[2]["lines"][0]["book"], Value::Null, "a deleted book");
    assert!(nodes[2]["lines"][0]["title"].as_str().unwrap().len() > 1);
}
