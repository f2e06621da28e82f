//! One subscription to the backend over `graphql-transport-ws` (its
//! WebSocket on `/graphql`), opened as the visitor: their session token in
//! `connection_init`, their address, request id and trace in the upgrade
//! request (as `api` sends them with every call).
//!
//! Owns the protocol's client side: the handshake within a time limit, the
//! one `subscribe`, reading `next`/`error`/`complete` and the close codes,
//! and a protocol `ping` whenever the backend has been silent for a while
//! (an unanswered one means the connection is gone). Dropping a
//! [`Subscription`] drops its socket: the backend sees the connection close
//! and ends the subscription. It never decides who may see what (the
//! backend does), never logs a token, and imports only `caller`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::caller;

/// The subprotocol the backend speaks.
const PROTOCOL: &str = "graphql-transport-ws";
/// The backend's close code for a `connection_init` token that is no session.
const FORBIDDEN: u16 = 4403;
/// The one subscription's id on its connection.
const ID: &str = "1";

/// Why a subscription could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The session token is no session (anymore): 4403.
    SessionEnded,
    /// The backend is down, slow, refused the upgrade (too many
    /// connections, shutting down) or broke the protocol.
    Unavailable,
}

/// What the subscription brings next.
#[derive(Debug)]
pub enum Next {
    /// A `next` message's `data`.
    Data(Value),
    /// The subscription is over; why, for the log.
    Ended(Ended),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// An `error` message (e.g. NOT_FOUND: no longer visible).
    Refused,
    /// `complete`: the backend ended it (e.g. the session signed out).
    Completed,
    /// The backend closed the connection with this code (1001: it is
    /// shutting down).
    Closed(u16),
    /// The connection broke or stopped answering pings.
    Lost,
}

pub struct Subscription {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// A `ping` was sent and nothing came back since.
    pinged: bool,
}

/// The backend's WebSocket address for its GraphQL URL (`http` → `ws`,
/// `https` → `wss`).
pub fn websocket_url(graphql_url: &str) -> String {
    if let Some(rest) = graphql_url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = graphql_url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        graphql_url.to_owned()
    }
}

impl Subscription {
    /// Connects to `url`, initialises with `session` (if any) and subscribes
    /// with `operation` (a GraphQL request body), all within `timeout`.
    /// Must run in the page request's task (it reads [`caller::current`]).
    pub async fn open(
        url: &str,
        session: Option<&str>,
        operation: &impl serde::Serialize,
        timeout: Duration,
    ) -> Result<Self, Refusal> {
        let subscribe = json!({"id": ID, "type": "subscribe", "payload": operation});
        let init = match session {
            Some(token) => {
                json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})
            }
            None => json!({"type": "connection_init", "payload": {}}),
        };
        let opening = async {
            let mut socket = connect(url).await?;
            send(&mut socket, &init).await?;
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let message: Value =
                            serde_json::from_str(&text).map_err(|_| Refusal::Unavailable)?;
                        if message["type"] == "connection_ack" {
                            break;
                        }
                        return Err(Refusal::Unavailable);
                    }
                    Some(Ok(Message::Close(Some(frame)))) if u16::from(frame.code) == FORBIDDEN => {
                        return Err(Refusal::SessionEnded);
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => {
                        tracing::warn!(?other, "live updates: the backend did not acknowledge");
                        return Err(Refusal::Unavailable);
                    }
                }
            }
            send(&mut socket, &subscribe).await?;
            Ok(socket)
        };
        match tokio::time::timeout(timeout, opening).await {
            Ok(Ok(socket)) => Ok(Self {
                socket,
                pinged: false,
            }),
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => {
                tracing::warn!("live updates: the backend did not answer in time");
                Err(Refusal::Unavailable)
            }
        }
    }

    /// The next event; after `silence` without a message, a `ping`, and
    /// after another `silence` without an answer the connection counts as
    /// lost.
    pub async fn next(&mut self, silence: Duration) -> Next {
        loop {
            let received = match tokio::time::timeout(silence, self.socket.next()).await {
                Ok(received) => received,
                Err(_) if self.pinged => return Next::Ended(Ended::Lost),
                Err(_) => {
                    self.pinged = true;
                    if send(&mut self.socket, &json!({"type": "ping"}))
                        .await
                        .is_err()
                    {
                        return Next::Ended(Ended::Lost);
                    }
                    continue;
                }
            };
            self.pinged = false;
            let text = match received {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let code =
                        frame.map_or(u16::from(CloseCode::Status), |frame| u16::from(frame.code));
                    return Next::Ended(Ended::Closed(code));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Next::Ended(Ended::Lost),
            };
            let Ok(message) = serde_json::from_str::<Value>(&text) else {
                return Next::Ended(Ended::Lost);
            };
            match message["type"].as_str() {
                Some("next") if message["id"] == ID => {
                    let data = &message["payload"]["data"];
                    if data.is_object() {
                        return Next::Data(data.clone());
                    }
                    return Next::Ended(Ended::Refused);
                }
                Some("error") => return Next::Ended(Ended::Refused),
                Some("complete") => return Next::Ended(Ended::Completed),
                Some("ping") => {
                    let answered = send(&mut self.socket, &json!({"type": "pong"})).await;
                    if answered.is_err() {
                        return Next::Ended(Ended::Lost);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The upgrade request, carrying what every backend call carries.
async fn connect(url: &str) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, Refusal> {
    let mut request = url.into_client_request().map_err(|error| {
        tracing::error!(%error, "live updates: the backend's address is no WebSocket address");
        Refusal::Unavailable
    })?;
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    let traceparent = bookstore_telemetry::current_traceparent()
        .or_else(|| caller::current().map(|caller| caller.trace.traceparent().header_value()));
    if let Some(value) = traceparent.and_then(|value| HeaderValue::from_str(&value).ok()) {
        headers.insert(bookstore_telemetry::HEADER, value);
    }
    if let Some(caller) = caller::current() {
        if let Ok(value) = HeaderValue::from_str(&caller.request_id) {
            headers.insert(caller::REQUEST_ID, value);
        }
        if let Some(value) = caller
            .address
            .and_then(|address| HeaderValue::from_str(&address.to_string()).ok())
        {
            headers.insert("x-forwarded-for", value);
        }
    }
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "live updates: no WebSocket to the backend");
            Refusal::Unavailable
        })?;
    Ok(socket)
}

async fn send(
    socket: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
    message: &Value,
) -> Result<(), Refusal> {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .map_err(|_| Refusal::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_address_follows_the_graphql_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8000/graphql"),
            "ws://127.0.0.1:8000/graphql"
        );
        assert_eq!(
            websocket_url("https://api.example.com/graphql"),
            "wss://api.example.com/graphql"
        );
    }
}
