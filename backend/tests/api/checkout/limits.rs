//! Carts and checkout accept only what they can finish: caps on lines and
//! copies (so every cart that can be built can be checked out), every field
//! error of a checkout at once, and a declined card that leaves no order
//! behind — the cart stays, the stock returns, another card works.

use bookstore_test_support::TestDatabase;
use serde_json::{Value, json};

use super::support::*;
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn a_cart_holds_at_most_the_configured_lines_and_copies() {
    let app = TestApp::with_env(&[("CART_MAX_LINES", "3"), ("CART_MAX_COPIES", "5")]).await;
    let mut books = Vec::new();
    for offset in 0..5 {
        books.push(book_with_stock(&app, offset, 50).await.0);
    }
    let cart = guest_cart(&app, &books[0], 5).await;
    let too_many_copies = add(&app, &cart, &books[0], 1).await;
    assert_eq!(too_many_copies["userErrors"][0]["code"], "INVALID");
    assert!(
        too_many_copies["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains('5'),
        "{too_many_copies}"
    );
    for book in &books[1..3] {
        assert_eq!(add(&app, &cart, book, 1).await["userErrors"], json!([]));
    }
    let fourth = add(&app, &cart, &books[3], 1).await;
    assert_eq!(fourth["userErrors"][0]["code"], "INVALID", "{fourth}");
    assert_eq!(fourth["userErrors"][0]["field"], json!(["input", "bookId"]));
    assert!(
        fourth["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3 different books"),
        "{fourth}"
    );
    let update = "mutation($input: UpdateCartLineInput!) { updateCartLine(input: $input) { userErrors { code message } } }";
    let data = app
        .data(
            update,
            json!({"input": {"cartId": cart, "bookId": books[1], "quantity": 6}}),
        )
        .await;
    assert_eq!(data["updateCartLine"]["userErrors"][0]["code"], "INVALID");
    // Adding to a line already there is not a new line.
    assert_eq!(
        add(&app, &cart, &books[1], 1).await["userErrors"],
        json!([])
    );

    // Signing in with the guest cart: the merged cart keeps within the caps.
    let token = app.customer_token("capped@example.com").await;
    for book in &books[3..5] {
        app.data_as(&token, add_to_cart(), json!({"input": {"bookId": book}}))
            .await;
    }
    let login = "mutation($input: LoginInput!) { login(input: $input) { cartMerge {
        cart { lines { quantity } } lines { outcome } } userErrors { code } } }";
    let data = app
        .data(login, json!({"input": {"email": "capped@example.com", "password": "correct horse battery", "cartId": cart}}))
        .await;
    let merged = &data["login"]["cartMerge"];
    assert_eq!(
        merged["cart"]["lines"].as_array().unwrap().len(),
        3,
        "{merged}"
    );
    assert!(
        merged["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line["outcome"] == "DROPPED"),
        "{merged}"
    );
}

/// A catalog of 10,000 books, each with 100 copies.
async fn big_catalog() -> TestApp {
    let database = TestDatabase::empty().await;
    bookstore::db::run_migrations(&database.url).await.unwrap();
    {
        use diesel_async::AsyncConnection;
        let mut conn = diesel_async::AsyncPgConnection::establish(&database.url)
            .await
            .unwrap();
        bookstore::seed::synthetic(&mut conn, 10_000, 50)
            .await
            .unwrap();
    }
    let app = TestApp::on(database, &[]).await;
    app.sql("UPDATE books SET stock = 100, archived = false, currency = 'USD', price_cents = 100")
        .await;
    app.flush_cache().await;
    app
}

/// A guest cart whose lines are the first `lines` books, `copies` each,
/// written straight to the database (as a cart built before any cap was).
async fn cart_of(app: &TestApp, lines: usize, copies: i32) -> Value {
    let first = app
        .data(
            "{ books(first: 1, sort: TITLE) { nodes { id } } }",
            json!({}),
        )
        .await["books"]["nodes"][0]["id"]
        .clone();
    let cart = guest_cart(app, &first, 1).await;
    app.sql(&format!(
        "INSERT INTO cart_lines (cart_id, book_id, quantity)
         SELECT c.id, b.id, {copies} FROM carts c,
           (SELECT id FROM books ORDER BY id LIMIT {lines}) b
         WHERE c.token = '{}'
         ON CONFLICT (cart_id, book_id) DO UPDATE SET quantity = EXCLUDED.quantity",
        cart.as_str().unwrap()
    ))
    .await;
    cart
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cart_that_can_be_built_checks_out_and_a_bigger_one_gets_a_clear_error() {
    let app = big_catalog().await;
    // 10,000 lines: refused with a clear error, never INTERNAL.
    let huge = cart_of(&app, 10_000, 1).await;
    let reply = app
        .graphql(&checkout_mutation(), checkout_input("huge", &huge, APPROVE))
        .await;
    let body = reply.json();
    assert!(
        body.get("errors").is_none(),
        "{}",
        &reply.body[..reply.body.len().min(500)]
    );
    let error = &body["data"]["checkout"]["userErrors"][0];
    assert_eq!(error["field"], json!(["input", "cartId"]), "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("100"),
        "{error}"
    );
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 0);

    // The biggest cart the caps allow (100 lines of 99 copies) is an order.
    let full = cart_of(&app, 100, 99).await;
    let data = app
        .data(&checkout_mutation(), checkout_input("full", &full, APPROVE))
        .await;
    assert_eq!(data["checkout"]["userErrors"], json!([]), "{data}");
    assert_eq!(data["checkout"]["order"]["status"], "PAID");
    assert_eq!(
        data["checkout"]["order"]["lines"].as_array().unwrap().len(),
        100
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_checkout_field_error_comes_back_at_once() {
    let app = TestApp::new().await;
    let (book, _) = book_with_stock(&app, 0, 5).await;
    let cart = guest_cart(&app, &book, 1).await;
    let input = json!({"input": {
        "idempotencyKey": "all-errors",
        "cartId": cart,
        "email": "not an email",
        "shippingAddress": {"name": " ", "line1": "", "city": "Springfield", "postalCode": "", "country": "USA"},
        "shippingMethod": "STANDARD",
        "payment": {"cardNumber": "1234"},
    }});
    let data = app.data(&checkout_mutation(), input).await;
    let mut fields: Vec<String> = data["checkout"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            error["field"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "cardNumber",
            "country",
            "email",
            "line1",
            "name",
            "postalCode"
        ],
        "{data}"
    );
    assert_eq!(data["checkout"]["order"], Value::Null);
    assert_eq!(number(&app, "SELECT count(*) AS n FROM orders").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_leaves_no_order_in_history_and_the_cart_ready_for_another_card() {
    let app = TestApp::new().await;
    let token = app.customer_token("declined@example.com").await;
    let (book, book_id) = book_with_stock(&app, 0, 3).await;
    app.data_as(
        &token,
        add_to_cart(),
        json!({"input": {"bookId": book, "quantity": 2}}),
    )
    .await;
    let declined = app
        .data_as(
            &token,
            &checkout_mutation(),
            customer_checkout_input("try-1", DECLINE),
        )
        .await;
    let error = &declined["checkout"]["userErrors"][0];
    assert_eq!(error["code"], "PAYMENT_DECLINED", "{declined}");
    assert_eq!(error["field"], json!(["input", "payment", "cardNumber"]));
    assert!(
        error["message"].as_str().unwrap().contains("another card"),
        "{error}"
    );
    assert_eq!(
        declined["checkout"]["order"],
        Value::Null,
        "no order was placed"
    );
    // The same request again answers the same, and charges nothing more.
    let again = app
        .data_as(
            &token,
            &checkout_mutation(),
            customer_checkout_input("try-1", DECLINE),
        )
        .await;
    assert_eq!(
        again["checkout"]["userErrors"][0]["code"],
        "PAYMENT_DECLINED"
    );
    assert_eq!(again["checkout"]["order"], Value::Null);

    assert_eq!(stock_of(&app, book_id).await, 3, "the stock is back");
    let mine = "{ viewer { orders(first: 10) { totalCount nodes { number status } } } cart { itemCount } }";
    let data = app.data_as(&token, mine, json!({})).await;
    assert_eq!(data["viewer"]["orders"]["totalCount"], 0, "{data}");
    assert_eq!(data["cart"]["itemCount"], 2, "the cart is intact");

    // Another card (a new attempt, so a new key) places the order.
    let paid = app
        .data_as(
            &token,
            &checkout_mutation(),
            customer_checkout_input("try-2", APPROVE),
        )
        .await;
    assert_eq!(paid["checkout"]["userErrors"], json!([]), "{paid}");
    assert_eq!(paid["checkout"]["order"]["status"], "PAID");
    let data = app.data_as(&token, mine, json!({})).await;
    assert_eq!(data["viewer"]["orders"]["totalCount"], 1);
    assert_eq!(data["viewer"]["orders"]["nodes"][0]["status"], "PAID");
    assert_eq!(stock_of(&app, book_id).await, 1);
}
