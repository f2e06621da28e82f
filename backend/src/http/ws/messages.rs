//! The messages of the `graphql-transport-ws` protocol (the `graphql-ws`
//! npm package's) and its close codes. A leaf: no I/O.

use async_graphql::Request;
use serde::Deserialize;
use serde_json::{Value, json};

/// The subprotocol spoken (`Sec-WebSocket-Protocol`).
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Close codes (the protocol's, and the WebSocket standard's).
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const INTERNAL: u16 = 1011;
    pub const TOO_BIG: u16 = 1009;
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_SUBSCRIBER: u16 = 4409;
    pub const TOO_MANY_INITIALISATIONS: u16 = 4429;
}

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    /// Its payload, if any, is not echoed (the protocol allows that).
    Ping {},
    Pong {},
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

impl ClientMessage {
    /// `None` for anything the protocol does not allow (closed with 4400).
    pub fn parse(text: &str) -> Option<Self> {
        let message: Self = serde_json::from_str(text).ok()?;
        match &message {
            ClientMessage::Subscribe { id, .. } | ClientMessage::Complete { id }
                if id.is_empty() || id.len() > MAX_ID_BYTES =>
            {
                None
            }
            _ => Some(message),
        }
    }
}

/// Longer subscription ids are refused (a UUID has 36 characters).
const MAX_ID_BYTES: usize = 128;

/// The session token a `connection_init` payload carries:
/// `{"authorization": "Bearer …"}` (or `Authorization`) or `{"token": "…"}`.
/// `Err` for a payload that is not an object (or null).
pub fn init_token(payload: Option<&Value>) -> Result<Option<String>, ()> {
    let object = match payload {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(()),
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::trim);
    let bearer = text("authorization")
        .or_else(|| text("Authorization"))
        .map(|value| value.strip_prefix("Bearer ").unwrap_or(value).trim());
    Ok(bearer
        .or_else(|| text("token"))
        .filter(|token| !token.is_empty())
        .map(str::to_owned))
}

pub fn ack() -> String {
    json!({"type": "connection_ack"}).to_string()
}

pub fn pong() -> String {
    json!({"type": "pong"}).to_string()
}

pub fn next(id: &str, payload: &async_graphql::Response) -> String {
    json!({"id": id, "type": "next", "payload": payload}).to_string()
}

pub fn error(id: &str, errors: &[async_graphql::ServerError]) -> String {
    json!({"id": id, "type": "error", "payload": errors}).to_string()
}

pub fn complete(id: &str) -> String {
    json!({"id": id, "type": "complete"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_as_the_protocol_says() {
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"connection_init"}"#),
            Some(ClientMessage::ConnectionInit { payload: None })
        ));
        assert!(matches!(
            ClientMessage::parse(
                r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { orderPlaced { id } }"}}"#
            ),
            Some(ClientMessage::Subscribe { .. })
        ));
        assert!(
            ClientMessage::parse(r#"{"type":"subscribe","id":"","payload":{"query":"x"}}"#)
                .is_none()
        );
        assert!(ClientMessage::parse(r#"{"type":"start","id":"1"}"#).is_none());
        assert!(ClientMessage::parse("not json").is_none());
    }

    #[test]
    fn the_token_comes_from_either_field() {
        let token = |value: Value| init_token(Some(&value));
        assert_eq!(
            token(json!({"authorization": "Bearer abc"})),
            Ok(Some("abc".to_owned()))
        );
        assert_eq!(token(json!({"token": "abc"})), Ok(Some("abc".to_owned())));
        assert_eq!(token(json!({})), Ok(None));
        assert_eq!(token(json!("abc")), Err(()));
    }
}
