//! Snapshots of representative responses (catalog page, book, cart, order):
//! a change in their shape or content shows up as a reviewed diff in
//! `tests/api/snapshots/` (`cargo insta review`, or read the `.snap.new`
//! file a failing run leaves). Values that differ per run (ids of new rows,
//! order numbers, timestamps) are redacted. The SDL's snapshot is
//! `schema.graphql`, checked by `schema.rs`.

use insta::assert_json_snapshot;
use serde_json::json;

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn catalog_page() {
    let app = TestApp::new().await;
    let data = app
        .data(
            "{ books(first: 3, sort: TITLE) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
               edges { cursor node { id slug isbn title subtitle format language pageCount
                 price { amountCents currency formatted } inStock
                 contributors { name } genres { name slug } } } } }",
            json!({}),
        )
        .await;
    assert_json_snapshot!(data);
}

#[tokio::test(flavor = "multi_thread")]
async fn book_by_slug() {
    let app = TestApp::new().await;
    let data = app
        .data(
            "query($slug: String!) { book(slug: $slug) { id slug isbn title subtitle description
               format publisher publicationDate language pageCount price { amountCents currency formatted }
               stock inStock archived credits { role contributor { name slug } } genres { name slug } } }",
            json!({"slug": "pride-and-prejudice"}),
        )
        .await;
    assert_json_snapshot!(data);
}

const CART: &str = "id itemCount readyForCheckout subtotal { amountCents currency formatted }
  lines { quantity problem availableQuantity unitPrice { amountCents } lineTotal { amountCents } book { title } }";

#[tokio::test(flavor = "multi_thread")]
async fn cart_and_order() {
    let app = TestApp::new().await;
    app.sql("UPDATE books SET stock = 10 WHERE slug = 'pride-and-prejudice'")
        .await;
    app.flush_cache().await;
    let book = app
        .data("{ book(slug: \"pride-and-prejudice\") { id } }", json!({}))
        .await["book"]["id"]
        .clone();
    let cart = app
        .data(
            &format!(
                "mutation($input: AddToCartInput!) {{ addToCart(input: $input) {{ cart {{ {CART} }} userErrors {{ field code message }} }} }}"
            ),
            json!({"input": {"bookId": book, "quantity": 2}}),
        )
        .await;
    assert_json_snapshot!("cart", cart, { ".addToCart.cart.id" => "[cart id]" });

    let order = app
        .data(
            "mutation($input: CheckoutInput!) { checkout(input: $input) { order {
               number status email canCancel subtotal { amountCents } shipping { amountCents } total { amountCents currency formatted }
               shippingMethod lines { title isbn quantity unitPrice { amountCents } lineTotal { amountCents } }
               shippingAddress { name line1 city postalCode country }
               payments { status cardLast4 amount { amountCents } } shipment { carrier } }
               userErrors { field code message } } }",
            json!({"input": {
                "idempotencyKey": "snapshot-order-1",
                "cartId": cart["addToCart"]["cart"]["id"],
                "email": "guest@example.com",
                "shippingAddress": {"name": "Ada Reader", "line1": "1 Library Way", "city": "Springfield", "postalCode": "12345", "country": "us"},
                "shippingMethod": "STANDARD",
                "payment": {"cardNumber": "4242 4242 4242 4242"},
            }}),
        )
        .await;
    assert_json_snapshot!("order", order, { ".checkout.order.number" => "[order number]" });
}
