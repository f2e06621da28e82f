//! What crawlers ask for besides pages: `/robots.txt`, the sitemap
//! (`/sitemap.xml` and, past `SITEMAP_MAX_URLS` addresses, the files
//! `/sitemaps/N.xml` it indexes: `sitemap`) and the favicon.
//!
//! Owns these routes. Their text is `crate::seo`'s; every address in them
//! starts with `PUBLIC_URL`, never with the request's `Host`.

mod operations;
mod sitemap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::seo::{favicon, robots};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/robots.txt", get(robots_txt))
        .route("/sitemap.xml", get(sitemap::index))
        .route("/sitemaps/{file}", get(sitemap::part))
        .route("/favicon.svg", get(favicon::svg))
        .route("/favicon.ico", get(favicon::ico))
}

async fn robots_txt(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        robots::robots_txt(&state.public_url),
    )
}
