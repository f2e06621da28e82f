//! Turning GraphQL responses into HTTP bodies: the status (400 for
//! request errors when the client accepts `application/graphql-response+json`),
//! the JSON body, short parse errors (they may quote the query).

use async_graphql::{Response as GraphQLResponse, ServerError, Value};
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::negotiation::Media;
use crate::error::set_code;

/// Parse errors longer than this are cut (they may quote the query).
const MAX_PARSE_ERROR_CHARS: usize = 200;

pub(super) fn shortened(message: &str) -> String {
    match message.char_indices().nth(MAX_PARSE_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

/// An error found before execution: no data, one error with `code`.
pub(super) fn request_error(media: Media, code: &str, message: String) -> Response {
    let mut error = ServerError::new(message, None);
    set_code(&mut error, code);
    respond(media, GraphQLResponse::from_errors(vec![error]))
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, Value>,
}

pub(super) fn respond(media: Media, response: GraphQLResponse) -> Response {
    let (status, body) = encode(media, response);
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// The status and body of a GraphQL response.
pub(super) fn encode(media: Media, mut response: GraphQLResponse) -> (StatusCode, Bytes) {
    super::request_id::tag_errors(&mut response.errors);
    // A request error (parse, validation, limits, variables) happens before
    // execution: no data at all and no error carries a field path.
    let request_error = matches!(response.data, Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    let body = Body {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let status = if request_error && media == Media::GraphQLResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => (status, Bytes::from(bytes)),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(br#"{"errors":[{"message":"internal error"}]}"#),
        ),
    }
}
