//! Staff pages: the inventory (books: list, add, edit, archive and restore,
//! stock) and the order workflow (ship, deliver, refund).
//!
//! Every page and form here is for staff only: a signed-out visitor is sent
//! to sign in, anyone else gets a 403. The storefront never decides who is
//! staff by itself: each page's one operation also asks for `viewer { role }`,
//! and the backend refuses staff mutations to anyone else (that refusal is
//! the same 403). GETs never change anything; every POST checks its CSRF
//! token first and ends in a redirect, or re-renders its form with 422.
//!
//! This file only routes; the pages live in the modules below.

mod access;
mod book_choices;
mod book_form;
mod book_input;
mod books;
mod edit_book;
mod home;
mod links;
mod new_book;
mod operations;
mod orders;
mod stock;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(home::home))
        .route(
            "/staff/books",
            get(books::books).post(new_book::create_book),
        )
        .route("/staff/books/new", get(new_book::new_book))
        .route(
            "/staff/books/{slug}/edit",
            get(edit_book::edit_book).post(edit_book::update_book),
        )
        .route("/staff/books/{slug}/archive", post(edit_book::archive_book))
        .route("/staff/books/{slug}/restore", post(edit_book::restore_book))
        .route("/staff/books/{slug}/stock", post(stock::adjust_stock))
        .route("/staff/orders", get(orders::orders))
        .route("/staff/orders/{number}", get(orders::order))
        .route("/staff/orders/{number}/ship", post(orders::ship_order))
        .route(
            "/staff/orders/{number}/deliver",
            post(orders::deliver_order),
        )
        .route("/staff/orders/{number}/refund", post(orders::refund_order))
}
