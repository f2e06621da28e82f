//! Request ids: every request gets one — the `X-Request-Id` a trusted proxy
//! sent (the storefront's, nginx's), if it is short visible ASCII, else a
//! new UUID v4 — and every response carries it back. The request runs
//! with it in a task-local, where [`tag_errors`] finds it for the GraphQL
//! errors' `extensions.requestId`, and inside the request's tracing span
//! ([`span`], made by the trace layer, entered for the body too), so every
//! log line of the request has it.
//!
//! Traces: a trusted peer's W3C `traceparent` (the storefront's) is
//! continued, anyone else's is dropped, a malformed one is ignored; either
//! way the request's span gets a `trace_id` (`bookstore_telemetry::spans`),
//! which every log line of the request carries next to `request_id`.
//!
//! Owns where the id goes (which ids are kept and how new ones are made is
//! `bookstore_edge::request_id`, shared with the storefront); it never reads
//! a body and never decides anything.

use std::net::SocketAddr;

use async_graphql::ServerError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use bookstore_edge::forwarded::TrustedProxies;
use bookstore_edge::request_id::{HEADER, acceptable, generate};

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request this task serves, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Puts the request's id into each error's `extensions.requestId`.
pub fn tag_errors(errors: &mut [ServerError]) {
    let Some(id) = current() else {
        return;
    };
    for error in errors {
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("requestId", async_graphql::Value::String(id.clone()));
    }
}

/// Whether the request came straight from a trusted proxy.
fn from_trusted_peer(trusted: &TrustedProxies, request: &Request) -> bool {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| trusted.trusts(peer.ip()))
}

/// The id for a request: a trusted peer's, if acceptable, else a new one.
pub fn for_request(trusted: &TrustedProxies, request: &Request) -> String {
    let peer_trusted = from_trusted_peer(trusted, request);
    request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| peer_trusted && acceptable(id))
        .map_or_else(generate, str::to_owned)
}

/// The request's tracing span (the trace layer's `make_span_with`): at
/// INFO, so it is on at the default level; the method, the path (never the
/// query string, which may hold personal data), the id [`middleware`]
/// put in the headers, and the trace it continues (the `traceparent` that
/// [`middleware`] left, if well-formed) or starts.
pub fn span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none");
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id,
        trace_id = tracing::field::Empty,
        otel.kind = "server",
    );
    let incoming = request
        .headers()
        .get(bookstore_telemetry::HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(bookstore_telemetry::TraceParent::parse);
    bookstore_telemetry::continue_trace(&span, incoming);
    span
}

/// The outermost layer: gives the request its id (in its headers, for
/// [`span`]), drops a `traceparent` from anyone but a trusted proxy, runs
/// the rest with the id in a task-local, and sets `x-request-id` on
/// whatever answer comes back (413, 503 and panics included).
pub async fn middleware(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = for_request(&trusted, &request);
    if !from_trusted_peer(&trusted, &request) {
        request.headers_mut().remove(bookstore_telemetry::HEADER);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(HEADER, value);
    }
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
