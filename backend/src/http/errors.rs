//! Error responses outside GraphQL execution (bad HTTP usage, panics),
//! shaped like GraphQL errors so clients parse one format, with the
//! request's id in `extensions.requestId`. A leaf beside `request_id`: it
//! knows no handler.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error response outside GraphQL execution (bad HTTP usage), shaped like
/// a GraphQL error so clients parse one format.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "INTERNAL",
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => "SERVICE_UNAVAILABLE",
        _ => "BAD_REQUEST",
    };
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(id) = super::request_id::current() {
        extensions["requestId"] = serde_json::Value::String(id);
    }
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": extensions }]
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body.to_string(),
    )
        .into_response()
}

pub fn not_acceptable() -> Response {
    plain_error(
        StatusCode::NOT_ACCEPTABLE,
        "accept application/graphql-response+json or application/json",
    )
}
