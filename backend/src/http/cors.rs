//! CORS on `/graphql` for browser apps on the origins in
//! `CORS_ALLOWED_ORIGINS` (none by default: then there is no layer and no
//! CORS header). GET and POST with `content-type`, `authorization` and
//! `x-request-id`; the answer's `x-request-id` is readable; preflights are
//! cached for `CORS_MAX_AGE_SECS`. Never credentials: cross-origin apps
//! use Bearer tokens, the session cookie is the storefront's alone.

use axum::http::{HeaderName, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::cors::CorsConfig;

/// The layer for `/graphql`, if any origin is allowed.
pub fn layer(config: &CorsConfig) -> Option<CorsLayer> {
    if config.allowed_origins.is_empty() {
        return None;
    }
    let request_id = HeaderName::from_static(bookstore_edge::request_id::HEADER);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(
                config.allowed_origins.list().iter().cloned(),
            ))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                request_id.clone(),
            ])
            .expose_headers([request_id])
            .allow_credentials(false)
            .max_age(config.max_age),
    )
}
