//! A viewer's own answers kept in memory (issue #11's Q3): a repeated
//! `viewer` query costs its session statement only, is never shown to
//! anyone else, and is never served after a write to anything it shows —
//! whoever wrote it (the API, staff, the database by hand), because the
//! answers are keyed by the user's data version, which triggers move in the
//! writing transaction, and by the books they show (invalidation tags).

use serde_json::{Value, json};

use crate::checkout::support::{
    APPROVE, add_to_cart, book_with_stock, checkout_mutation, customer_checkout_input,
};
use crate::order_history::three_orders;
use crate::support::TestApp;

const HISTORY: &str = "{ viewer { name orders(first: 10) { nodes { number status
  lines { title quantity book { title stock } } } } } }";

async fn app() -> TestApp {
    let app = TestApp::with_env(&[("RESPONSE_CACHE_MB", "8")]).await;
    let started = std::time::Instant::now();
    while !app.cache.responses().live() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the response cache never subscribed to invalidations"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app
}

fn hits(app: &TestApp) -> u64 {
    app.cache.responses().counts().0
}

/// Runs HISTORY as `token`: its data, statements run, and whether it was a
/// kept answer.
async fn history(app: &TestApp, token: &str) -> (Value, u64, bool) {
    let (before, hits_before) = (app.db.statements_executed(), hits(app));
    let data = app.data_as(token, HISTORY, json!({})).await;
    (
        data,
        app.db.statements_executed() - before,
        hits(app) > hits_before,
    )
}

/// Asks twice and checks the second answer was kept: returns it.
async fn kept(app: &TestApp, token: &str) -> Value {
    let (first, _, _) = history(app, token).await;
    let (again, statements, hit) = history(app, token).await;
    assert!(hit, "the repeated history was not answered from memory");
    assert_eq!(statements, 1, "a kept answer costs the session lookup only");
    assert_eq!(again, first);
    again
}

fn statuses(data: &Value) -> Vec<Value> {
    let nodes = data["viewer"]["orders"]["nodes"].as_array().unwrap();
    nodes.iter().map(|order| order["status"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewer_query_is_kept_for_that_viewer_only_and_checked_against_the_session() {
    let app = app().await;
    let ada = app.customer_token("ada@example.com").await;
    let bob = app.customer_token("bob@example.com").await;
    three_orders(&app, &ada).await;
    let ada_history = kept(&app, &ada).await;
    assert_eq!(statuses(&ada_history).len(), 3);

    // The same bytes from another customer: their own (empty) history.
    let (bob_history, _, hit) = history(&app, &bob).await;
    assert!(!hit, "another viewer's answer was served");
    assert_eq!(bob_history["viewer"]["orders"]["nodes"], json!([]));

    // A second session of the same customer shares the kept answer...
    let (again, _, _) = history(&app, &ada).await;
    assert_eq!(again, ada_history);
    // ...and a revoked one gets nothing, kept answer or not.
    app.sql("DELETE FROM sessions").await;
    let body = app.graphql_as(&ada, HISTORY, json!({})).await.json();
    assert_eq!(body["data"]["viewer"], Value::Null, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_write_to_what_the_viewer_sees_retires_their_kept_answer() {
    let app = app().await;
    let staff = app.staff_token("keeper@example.com").await;
    let token = app.customer_token("writes@example.com").await;
    let numbers = three_orders(&app, &token).await;
    kept(&app, &token).await;

    // A new order (checkout).
    let (book, _) = book_with_stock(&app, 7, 5).await;
    let input = json!({"input": {"bookId": book, "quantity": 1}});
    app.data_as(&token, add_to_cart(), input).await;
    let input = customer_checkout_input("viewer-answers", APPROVE);
    let placed = app.data_as(&token, &checkout_mutation(), input).await;
    assert_eq!(placed["checkout"]["userErrors"], json!([]), "{placed}");
    let (after, _, hit) = history(&app, &token).await;
    assert!(!hit);
    assert_eq!(statuses(&after).len(), 4, "the new order shows at once");
    kept(&app, &token).await;

    // Staff ship the oldest order.
    let ship = "mutation($n: String!) { markOrderShipped(input: {number: $n, carrier: \"Post\", \
                trackingNumber: \"T1\"}) { userErrors { message } } }";
    let shipped = app.data_as(&staff, ship, json!({"n": numbers[2]})).await;
    assert_eq!(shipped["markOrderShipped"]["userErrors"], json!([]));
    let (after, _, _) = history(&app, &token).await;
    assert_eq!(statuses(&after)[3], "SHIPPED");
    kept(&app, &token).await;

    // The customer renames themself.
    let rename =
        "mutation { updateProfile(input: {name: \"Renamed\"}) { userErrors { message } } }";
    app.data_as(&token, rename, json!({})).await;
    let (after, _, _) = history(&app, &token).await;
    assert_eq!(after["viewer"]["name"], "Renamed");
    kept(&app, &token).await;

    // A change by hand in the database, through no code of ours.
    app.sql("UPDATE orders SET status = 'DELIVERED' WHERE status = 'SHIPPED'")
        .await;
    let (after, _, _) = history(&app, &token).await;
    assert_eq!(statuses(&after)[3], "DELIVERED");
    kept(&app, &token).await;

    // A book on a line changes (the catalog's invalidation, not the version).
    let update = "mutation($id: ID!) { updateBook(input: {id: $id, title: \"Retitled\"}) \
                  { userErrors { message } } }";
    let changed = app.data_as(&staff, update, json!({"id": book})).await;
    assert_eq!(changed["updateBook"]["userErrors"], json!([]));
    let (after, _, hit) = history(&app, &token).await;
    assert!(!hit);
    let newest = &after["viewer"]["orders"]["nodes"][0]["lines"][0];
    assert_eq!(newest["book"]["title"], "Retitled");
    assert_ne!(
        newest["title"], "Retitled",
        "the line keeps the title it was sold under"
    );
}
