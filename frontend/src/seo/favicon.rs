//! The shop's icon: `/favicon.svg` for browsers that take SVG (pages link
//! it) and `/favicon.ico` (16 and 32 pixels, drawn from the same shapes by
//! `static/favicon.py`) for those that ask for it by its old name, both
//! compiled in and cached for a day.
//!
//! Owns answering those two paths. A leaf: imports no module of the crate.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

pub const SVG: &str = include_str!("../../static/favicon.svg");
pub const ICO: &[u8] = include_bytes!("../../static/favicon.ico");

/// A day: the icon's address carries no version, so a change should reach
/// browsers within one.
const CACHE_CONTROL: &str = "public, max-age=86400";

pub async fn svg() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        SVG,
    )
}

pub async fn ico() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/x-icon"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            ),
        ],
        ICO,
    )
}
