//! Cart, checkout, order confirmation, order history and order pages.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
