//! What the checkout tests share: carts, the checkout mutation and its input,
//! test cards, and SQL counts.

use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::support::TestApp;

pub const APPROVE: &str = "4242 4242 4242 4242";
pub const DECLINE: &str = "4000 0000 0000 0002";
/// The test gateway never answers (the charge times out; nothing charged).
pub const HANG: &str = "4000 0000 0000 0077";
/// The test gateway charges, then never answers.
pub const CHARGE_THEN_HANG: &str = "4000 0000 0000 0085";

pub const ORDER_FIELDS: &str = "id number status total { amountCents } lines { quantity book { id stock } } payments { status }";

pub fn add_to_cart() -> &'static str {
    "mutation($input: AddToCartInput!) { addToCart(input: $input) {
       cart { id itemCount lines { quantity book { id } } } userErrors { field code message } } }"
}

pub fn checkout_mutation() -> String {
    format!(
        "mutation($input: CheckoutInput!) {{ checkout(input: $input) {{ order {{ {ORDER_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

pub fn checkout_input(key: &str, cart_id: &Value, card: &str) -> Value {
    json!({"input": {
        "idempotencyKey": key,
        "cartId": cart_id,
        "email": "guest@example.com",
        "shippingAddress": {"name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "us"},
        "shippingMethod": "STANDARD",
        "payment": {"cardNumber": card},
    }})
}

/// A signed-in customer's checkout input (no cart id, no email).
pub fn customer_checkout_input(key: &str, card: &str) -> Value {
    let mut input = checkout_input(key, &Value::Null, card);
    input["input"].as_object_mut().unwrap().remove("cartId");
    input["input"].as_object_mut().unwrap().remove("email");
    input
}

#[derive(diesel::QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn number(app: &TestApp, sql: &str) -> i64 {
    let rows: Vec<Number> = diesel::sql_query(sql)
        .load(&mut app.connection().await)
        .await
        .unwrap();
    rows[0].n
}

pub async fn stock_of(app: &TestApp, book_id: i64) -> i64 {
    number(
        app,
        &format!("SELECT stock::bigint AS n FROM books WHERE id = {book_id}"),
    )
    .await
}

pub async fn order_status(app: &TestApp, order_number: &Value) -> String {
    #[derive(diesel::QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    let rows: Vec<Status> = diesel::sql_query(format!(
        "SELECT status FROM orders WHERE number = '{}'",
        order_number.as_str().unwrap()
    ))
    .load(&mut app.connection().await)
    .await
    .unwrap();
    rows[0].status.clone()
}

/// The `offset`-th book by title, given `stock` copies; returns (global id,
/// database id).
pub async fn book_with_stock(app: &TestApp, offset: usize, stock: i32) -> (Value, i64) {
    let data = app
        .data(
            "query($n: Int) { books(first: $n, sort: TITLE) { nodes { id } } }",
            json!({"n": offset + 1}),
        )
        .await;
    let book = data["books"]["nodes"][offset]["id"].clone();
    let id = bookstore::graphql::ids::decode(book.as_str().unwrap())
        .unwrap()
        .1;
    set_stock(app, id, stock).await;
    (book, id)
}

pub async fn set_stock(app: &TestApp, id: i64, stock: i32) {
    app.sql(&format!("UPDATE books SET stock = {stock} WHERE id = {id}"))
        .await;
    app.cache
        .invalidate(&[bookstore::cache::Entry::Entity(
            bookstore::cache::Kind::Book,
            id,
        )])
        .await;
}

/// A new guest cart holding `quantity` of `book`; returns its id.
pub async fn guest_cart(app: &TestApp, book: &Value, quantity: i32) -> Value {
    let data = app
        .data(
            add_to_cart(),
            json!({"input": {"bookId": book, "quantity": quantity}}),
        )
        .await;
    assert_eq!(data["addToCart"]["userErrors"], json!([]), "{data}");
    data["addToCart"]["cart"]["id"].clone()
}

/// Adds `quantity` of `book` to `cart` (a guest's) and returns the payload.
pub async fn add(app: &TestApp, cart: &Value, book: &Value, quantity: i32) -> Value {
    app.data(
        add_to_cart(),
        json!({"input": {"cartId": cart, "bookId": book, "quantity": quantity}}),
    )
    .await["addToCart"]
        .clone()
}
