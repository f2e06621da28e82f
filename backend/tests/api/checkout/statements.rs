//! What a checkout costs in SQL statements (issue #11: checkout in fewer
//! round trips): a guest's add-to-cart then checkout as the checkout bench
//! sends them, and a signed-in customer's checkout. Fails if they grow back.
//! And the line limit that adding to a cart keeps under concurrency.

use serde_json::json;

use super::support::{APPROVE, book_with_stock, checkout_input, customer_checkout_input};
use crate::support::TestApp;

/// What `backend/benches/checkout.rs` sends.
const BENCH_ADD: &str = "mutation($input: AddToCartInput!) { addToCart(input: $input) { cart { id } userErrors { code } } }";
const BENCH_CHECKOUT: &str = "mutation($input: CheckoutInput!) { checkout(input: $input) { order { number status } userErrors { code message } } }";

/// The most statements a guest's checkout may run (it was 22): the cart;
/// the reservation (key, cart, stock, address, order, lines) between its
/// BEGIN and COMMIT; the paid order with its payment and confirmation email.
const GUEST_CHECKOUT_MAX: u64 = 5;
/// The most statements a signed-in customer's checkout may run (it was
/// 24): one more, their session.
const CUSTOMER_CHECKOUT_MAX: u64 = 6;

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_runs_few_statements() {
    let app = TestApp::new().await;
    let (first, _) = book_with_stock(&app, 0, 10).await;
    let (second, _) = book_with_stock(&app, 1, 10).await;

    // A guest's one-line cart, as the bench does it.
    let counted = async |query: &str, variables| {
        let before = app.db.statements_executed();
        let data = app.data(query, variables).await;
        (data, app.db.statements_executed() - before)
    };
    let (added, add_statements) = counted(
        BENCH_ADD,
        json!({"input": {"bookId": first, "quantity": 1}}),
    )
    .await;
    let cart = added["addToCart"]["cart"]["id"].clone();
    let (placed, checkout_statements) =
        counted(BENCH_CHECKOUT, checkout_input("count-1", &cart, APPROVE)).await;
    assert_eq!(placed["checkout"]["order"]["status"], "PAID", "{placed}");
    // The cart (new), the book, the line (locked, counted, written), the
    // cart's lines for the answer (it was 9).
    assert!(
        add_statements <= 7,
        "a guest's first addToCart ran {add_statements} statements"
    );
    assert!(
        checkout_statements <= GUEST_CHECKOUT_MAX,
        "a guest's checkout ran {checkout_statements} statements"
    );

    // A two-line cart costs no more.
    app.data(
        BENCH_ADD,
        json!({"input": {"cartId": cart.clone(), "bookId": first, "quantity": 1}}),
    )
    .await;
    let added = app
        .data(
            BENCH_ADD,
            json!({"input": {"bookId": first, "quantity": 2}}),
        )
        .await;
    let two_lines = added["addToCart"]["cart"]["id"].clone();
    app.data(
        BENCH_ADD,
        json!({"input": {"cartId": two_lines, "bookId": second, "quantity": 1}}),
    )
    .await;
    let (placed, statements) = counted(
        BENCH_CHECKOUT,
        checkout_input("count-2", &two_lines, APPROVE),
    )
    .await;
    assert_eq!(placed["checkout"]["order"]["status"], "PAID", "{placed}");
    assert!(
        statements <= GUEST_CHECKOUT_MAX,
        "a guest's two-line checkout ran {statements} statements"
    );

    // A signed-in customer's.
    let token = app.customer_token("counted@example.com").await;
    app.data_as(
        &token,
        BENCH_ADD,
        json!({"input": {"bookId": second, "quantity": 1}}),
    )
    .await;
    let before = app.db.statements_executed();
    let placed = app
        .data_as(
            &token,
            BENCH_CHECKOUT,
            customer_checkout_input("count-3", APPROVE),
        )
        .await;
    let statements = app.db.statements_executed() - before;
    assert_eq!(placed["checkout"]["order"]["status"], "PAID", "{placed}");
    assert!(
        statements <= CUSTOMER_CHECKOUT_MAX,
        "a customer's checkout ran {statements} statements"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_adds_to_one_cart_never_pass_its_line_limit() {
    let app = TestApp::with_env(&[("CART_MAX_LINES", "3")]).await;
    let mut books = Vec::new();
    for n in 0..8 {
        books.push(book_with_stock(&app, n, 10).await.0);
    }
    let added = app
        .data(
            BENCH_ADD,
            json!({"input": {"bookId": books[0], "quantity": 1}}),
        )
        .await;
    let cart = added["addToCart"]["cart"]["id"].clone();
    let adds = books[1..].iter().map(|book| {
        app.data(
            BENCH_ADD,
            json!({"input": {"cartId": cart, "bookId": book, "quantity": 1}}),
        )
    });
    futures_util::future::join_all(adds).await;
    let lines = super::support::number(
        &app,
        &format!(
            "SELECT count(*) AS n FROM cart_lines l JOIN carts c ON c.id = l.cart_id WHERE c.token = '{}'",
            cart.as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(lines, 3);
}
