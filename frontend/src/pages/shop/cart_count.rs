//! The header's cart count ("Cart (3 items)") on every page.
//!
//! Every page's header holds [`SLOT`] (an HTML comment) where the count
//! goes. This layer fills it in for a visitor who can have a cart (a
//! session, or a guest cart's cookie) with one small backend call
//! (`HeaderCart`), after the page is rendered, and only in that visitor's
//! answer. A page kept for reuse (`page_cache`) or marked public (only for
//! visitors with neither cookie, see `pages::public`) never holds a count:
//! a shared cache can never serve one shopper's count to another. Anyone
//! else's page keeps the empty slot and costs no backend call. A backend
//! that fails or is slow leaves the slot empty; the page is served.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::cart::{Known, cart_id};
use super::operations::{HeaderCart, header_cart};
use crate::render;
use crate::session::Visitor;
use crate::state::AppState;

/// Where the count goes in `base.html`.
pub const SLOT: &str = "<!--cart-count-->";

/// The largest page this layer reads whole (pages are far smaller).
const MAX_PAGE_BYTES: usize = 8 << 20;

/// The count as the header shows it (nothing for an empty cart).
fn badge(count: i64) -> String {
    match count {
        0 => String::new(),
        1 => " <span class=\"cart-count\">(1<span class=\"visually-hidden\"> item</span>)</span>"
            .to_owned(),
        n => format!(
            " <span class=\"cart-count\">({n}<span class=\"visually-hidden\"> items</span>)</span>"
        ),
    }
}

pub async fn fill(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(visitor) = Visitor::from_request_parts(&mut parts, &state).await;
    let response = next.run(Request::from_parts(parts, body)).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !html || (visitor.session.is_none() && visitor.cart.is_none()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return render::failure();
    };
    let Some(page) = std::str::from_utf8(&bytes)
        .ok()
        .filter(|page| page.contains(SLOT))
    else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let count = match parts.extensions.get::<Known>() {
        Some(Known(count)) => *count,
        None => count(&state, &visitor).await,
    };
    let filled = page.replacen(SLOT, &badge(count), 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(filled))
}

/// The visitor's cart's item count, from the backend (0 when it fails).
async fn count(state: &AppState, visitor: &Visitor) -> i64 {
    let variables = header_cart::Variables {
        id: cart_id(visitor),
    };
    match state
        .api
        .run::<HeaderCart>(variables, visitor.session.as_deref())
        .await
    {
        Ok(data) => data.cart.map_or(0, |cart| cart.item_count),
        Err(error) => {
            tracing::warn!(%error, "the header's cart count is left out");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_badge_names_the_items() {
        assert_eq!(badge(0), "");
        assert!(badge(1).contains("(1<span class=\"visually-hidden\"> item</span>)"));
        assert!(badge(12).contains("(12<span class=\"visually-hidden\"> items</span>)"));
    }
}
