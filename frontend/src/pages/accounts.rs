//! Account pages: register, sign in, sign out, profile, password.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
