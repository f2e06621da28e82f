//! GraphQL subscriptions over WebSocket on `/graphql`: a `GET` asking to
//! upgrade is answered here, any other `GET` by the HTTP handler. Speaks
//! `graphql-transport-ws` only (a client offering no such subprotocol is
//! closed with 4406); the protocol itself runs in `connection`.
//!
//! Owns the limits around connections: open WebSockets per client address
//! (this instance; the address as `TRUSTED_PROXIES` decides it: one more is
//! refused with 429), the largest message, and closing every connection
//! with 1001 on graceful shutdown. Never resolves fields.

mod connection;
mod messages;
pub mod sockets;

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::endpoint::Endpoint;
use super::errors::plain_error;
use super::graphql::{GetParams, get as http_get};
pub use messages::PROTOCOL;
pub use sockets::Sockets;

/// Each connection's read buffer, and the writes it gathers before sending.
const BUFFER_BYTES: usize = 4096;

/// `GET /graphql`: a WebSocket upgrade, else the HTTP handler.
pub async fn get(
    State(endpoint): State<Endpoint>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    raw_query: RawQuery,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let wants_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if !wants_upgrade {
        return http_get(State(endpoint), headers, peer, raw_query, params).await;
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let sockets = endpoint.sockets.clone();
    if sockets.closing() {
        return plain_error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let auth = endpoint.client.request_auth(&headers, peer);
    let Some(admitted) = sockets.admit(&auth.client_address) else {
        return plain_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open WebSockets from this client",
        );
    };
    let max_bytes = sockets.settings().max_message_bytes;
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(max_bytes)
        .max_frame_size(max_bytes)
        // tungstenite's default buffers are 128 KiB each per connection;
        // these messages are small, and a thousand idle sockets should not
        // cost 250 MiB.
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES);
    let speaks_protocol = upgrade.selected_protocol().is_some();
    let caller = connection::Caller {
        token: auth.token().map(str::to_owned),
        user_agent: auth.user_agent.clone(),
        client_address: auth.client_address.clone(),
    };
    upgrade
        .on_failed_upgrade(|error| tracing::debug!(%error, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            let _admitted = admitted;
            connection::run(socket, endpoint, caller, speaks_protocol).await;
        })
}
