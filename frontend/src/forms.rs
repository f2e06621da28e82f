//! The guard in front of every form: a POST is refused (403, "please try
//! that again", nothing changed) when the browser says it came from another
//! site (`Sec-Fetch-Site: cross-site`), or when its body carries no valid
//! CSRF token for this visitor (`session`'s token). It runs before any
//! handler, so a form with a missing field is still a 403, never a 422.
//!
//! Browsers too old to send Fetch-Metadata are covered by the token alone.
//! Handlers keep their own token check (defence in depth). This module
//! never reads a field other than `csrf`, and never calls the backend.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::session::Visitor;
use crate::state::AppState;

/// The largest form body read (axum's own default limit for `Form`).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// Middleware: lets through every request but an unsafe cross-site or
/// token-less form submission.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let visitor = match Visitor::from_request_parts(&mut parts, &state).await {
        Ok(visitor) => visitor,
        Err(never) => match never {},
    };
    let cross_site = parts
        .headers
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return visitor.csrf_failure(&state);
    }
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let token_ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(name, _)| name == "csrf"))
        .is_some_and(|(_, token)| visitor.csrf_ok(&token));
    if !token_ok {
        return visitor.csrf_failure(&state);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
