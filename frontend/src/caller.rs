//! Who a page request is for, as the backend must hear it: the shopper's
//! address (the peer, or what the storefront's own trusted proxies vouch
//! for: `bookstore_edge::forwarded`) and the request id (a trusted proxy's `X-Request-Id`
//! if it is short visible ASCII, else a new UUID v4). The middleware puts
//! both in a task-local for [`crate::api`] to forward on every GraphQL
//! call and sets `x-request-id` on the answer; the trace layer's span
//! ([`span`]) holds the id, so every log line of the request has it.
//!
//! The page's trace, the third fact: only a trusted proxy's W3C
//! `traceparent` is continued (a shopper's browser could otherwise pick
//! trace ids, or force sampling); a malformed one is ignored; otherwise the
//! page starts a new trace. The span records its `trace_id`, and
//! [`crate::api`] passes the trace on to the backend (the span's ids, or
//! the caller's when the log filter leaves the span off).
//!
//! Owns those three facts only; it never reads a body or a cookie and
//! imports nothing of the crate (the rules shared with the backend are in
//! `bookstore_edge` and `bookstore_telemetry`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use bookstore_edge::forwarded::TrustedProxies;
pub use bookstore_edge::request_id::HEADER as REQUEST_ID;
use bookstore_edge::request_id::{acceptable, generate};
use bookstore_telemetry::{SpanIds, TraceParent};

#[derive(Clone, Debug)]
pub struct Caller {
    /// The shopper's address (`None` only without a socket, in tests).
    pub address: Option<IpAddr>,
    pub request_id: String,
    /// A trusted proxy's well-formed `traceparent`, if any.
    pub incoming_trace: Option<TraceParent>,
    /// The page's place in the trace (the request span's ids unless the
    /// exporter gives it its own): what [`crate::api`] passes on when the
    /// log filter leaves the request span off.
    pub trace: SpanIds,
}

tokio::task_local! {
    static CURRENT: Caller;
}

/// The caller of the page request this task serves, if any.
pub fn current() -> Option<Caller> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The caller of `request`, judged with the storefront's trusted proxies.
pub fn of(trusted: &TrustedProxies, request: &Request) -> Caller {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let peer_trusted = peer.is_some_and(|peer| trusted.trusts(peer));
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| peer_trusted && acceptable(id))
        .map_or_else(generate, str::to_owned);
    let incoming_trace = peer_trusted
        .then(|| request.headers().get(bookstore_telemetry::HEADER))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(TraceParent::parse);
    Caller {
        address: trusted.client_address(peer, request.headers()),
        request_id,
        incoming_trace,
        trace: SpanIds::child_of(incoming_trace),
    }
}

/// The request's tracing span (the trace layer's `make_span_with`, inside
/// [`middleware`]): at INFO, so it is on at the default level; the method,
/// the path (never the query string), the request id and the trace (a
/// `traceparent` [`middleware`] let through, else a new one).
pub fn span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let caller = current();
    let id = caller
        .as_ref()
        .map_or("none", |caller| caller.request_id.as_str());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id = id,
        trace_id = tracing::field::Empty,
        otel.kind = "server",
    );
    match caller {
        Some(caller) => {
            bookstore_telemetry::continue_trace_with(&span, caller.incoming_trace, caller.trace)
        }
        None => bookstore_telemetry::continue_trace(&span, None),
    };
    span
}

/// The outermost layer of the storefront (see the module docs).
pub async fn middleware(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = of(&trusted, &request);
    // Read into the caller (if a trusted proxy's); nobody else may see it.
    request.headers_mut().remove(bookstore_telemetry::HEADER);
    let id = caller.request_id.clone();
    let mut response = CURRENT.scope(caller, next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
