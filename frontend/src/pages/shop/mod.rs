//! Buying: the cart, checkout, the order pages, the order history and the
//! guest order lookup.
//!
//! Each page sends one GraphQL operation as the shopper (their session token
//! forwarded; a guest's cart by the token in its cookie). Every form POSTs,
//! checks its CSRF token before anything else, and answers with a redirect
//! and a flash message (post/redirect/get), except a checkout the backend
//! refuses: that form comes back (422) with each error next to its field and
//! every value kept but the card number, which never goes back into a page.
//! Prices and totals are always the backend's; these pages never compute one.
//!
//! This file only routes; the pages live in the modules below.

mod addresses;
mod buy_again;
mod cart;
pub mod cart_count;
mod checkout;
pub(crate) mod links;
mod operations;
mod order_lookup;
mod orders;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cart", get(cart::show_cart))
        .route("/cart/add", post(cart::add))
        .route("/cart/update", post(cart::update_line))
        .route("/cart/remove", post(cart::remove_line))
        .route(
            "/checkout",
            get(checkout::checkout_form).post(checkout::place_order),
        )
        .route(
            "/orders/lookup",
            get(order_lookup::lookup_form).post(order_lookup::lookup),
        )
        .route("/orders/{number}", get(orders::show_order))
        .route(
            "/orders/{number}/cancel",
            get(orders::confirm_cancel).post(orders::cancel),
        )
        .route(
            "/orders/{number}/cancel/ask",
            post(order_lookup::ask_cancel),
        )
        .route("/account/orders", get(orders::list_orders))
        .route("/orders/{number}/buy-again", post(buy_again::buy_again))
        .route(
            "/account/addresses",
            get(addresses::list).post(addresses::add),
        )
        .route("/account/addresses/{id}", post(addresses::change))
}
