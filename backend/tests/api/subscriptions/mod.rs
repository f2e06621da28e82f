//! GraphQL subscriptions over `graphql-transport-ws` on `/graphql`, through
//! real sockets: the protocol's close codes and limits (`protocol`), each
//! subscription after the mutations that cause it and who may see what
//! (`events`), events crossing instances and a Redis outage (`instances`),
//! and the `graphql-ws` npm client (`npm_client`).

mod client;
mod events;
mod instances;
mod npm_client;
mod protocol;

use serde_json::{Value, json};

use crate::checkout::support::{
    APPROVE, add_to_cart, book_with_stock, checkout_input, checkout_mutation,
    customer_checkout_input, guest_cart,
};
use crate::support::TestApp;

pub const BOOK_UPDATED: &str = "subscription($ids: [ID!]!) { bookUpdated(ids: $ids) { id price { amountCents } stock inStock archived } }";
pub const ORDER_UPDATED: &str = "subscription($id: ID!, $token: String) { orderUpdated(id: $id, accessToken: $token) { id number status } }";
pub const ORDER_PLACED: &str = "subscription { orderPlaced { id number status } }";

/// A paid order of the customer signed in with `token` (one copy of the
/// `offset`-th book); returns the order (`id number status`).
pub async fn customer_order(app: &TestApp, token: &str, offset: usize, key: &str) -> Value {
    let (book, _) = book_with_stock(app, offset, 10).await;
    app.data_as(
        token,
        add_to_cart(),
        json!({"input": {"bookId": book, "quantity": 1}}),
    )
    .await;
    let placed = app
        .data_as(
            token,
            &checkout_mutation(),
            customer_checkout_input(key, APPROVE),
        )
        .await;
    let order = placed["checkout"]["order"].clone();
    assert_eq!(order["status"], "PAID", "{placed}");
    order
}

/// A paid guest order of `book`; returns the order and its access token.
pub async fn guest_order(app: &TestApp, book: &Value, key: &str) -> (Value, String) {
    let cart = guest_cart(app, book, 1).await;
    let query = checkout_mutation().replace("userErrors", "orderAccessToken userErrors");
    let placed = app.data(&query, checkout_input(key, &cart, APPROVE)).await;
    let order = placed["checkout"]["order"].clone();
    assert_eq!(order["status"], "PAID", "{placed}");
    let token = placed["checkout"]["orderAccessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    (order, token)
}
