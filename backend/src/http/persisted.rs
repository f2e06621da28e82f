//! Automatic persisted queries, version 1 of Apollo's protocol: a client
//! sends `extensions.persistedQuery = {version: 1, sha256Hash}` (in a POST
//! body, or as the JSON `extensions` URL parameter on GET) and, once the
//! server knows the hash, no query text.
//!
//! - hash known, no `query`: the stored text runs (GET still never runs a
//!   mutation: the handler checks the text as for any other);
//! - hash unknown, no `query`: HTTP 200 with `PERSISTED_QUERY_NOT_FOUND`,
//!   which Apollo clients answer by sending the text with the hash;
//! - `query` with the hash: the text's SHA-256 must be that hash (else
//!   `BAD_USER_INPUT`); a text that parses is then stored, and it runs;
//! - another version (or persisted queries turned off, without a `query`):
//!   HTTP 200 with `PERSISTED_QUERY_NOT_SUPPORTED`.
//!
//! Owns only turning a request's text-or-hash into the text to run; the
//! store is `cache::persisted`'s, and a stored text meets every limit of the
//! handler like any other. Never runs or validates a query.

use async_graphql::ServerError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::plain_error;
use super::negotiation::Media;
use super::query_shape::{MAX_NESTING, bracket_nesting};
use crate::cache::{Cache, PersistedQueries, QueryHash};
use crate::config::PersistedConfig;
use crate::error::set_code;

/// The only version of the protocol there is.
const VERSION: u64 = 1;

/// The persisted-query step of the `/graphql` handler.
#[derive(Clone)]
pub struct Persisted {
    /// `None`: turned off (`PERSISTED_QUERIES=false`).
    queries: Option<PersistedQueries>,
}

impl Persisted {
    pub fn new(cache: Cache, config: &PersistedConfig) -> Self {
        Self {
            queries: config
                .enabled
                .then(|| PersistedQueries::new(cache, config.ttl, config.cache_bytes)),
        }
    }

    /// [`Self::resolve`] for GET, whose `extensions` is JSON text.
    pub async fn resolve_params(
        &self,
        media: Media,
        query: Option<String>,
        extensions: Option<&str>,
    ) -> Result<Option<String>, Response> {
        let extensions = match extensions.map(serde_json::from_str::<Value>) {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => {
                return Err(plain_error(
                    StatusCode::BAD_REQUEST,
                    "`extensions` must be a JSON object",
                ));
            }
        };
        self.resolve(media, query, extensions.as_ref()).await
    }

    /// The text to run: the one sent, or the one its hash names. `Ok(None)`
    /// when the request has neither (the handler says what is missing);
    /// `Err` is the answer to send instead of running anything.
    pub async fn resolve(
        &self,
        media: Media,
        query: Option<String>,
        extensions: Option<&Value>,
    ) -> Result<Option<String>, Response> {
        let persisted = match extensions {
            None | Some(Value::Null) => return Ok(query),
            Some(Value::Object(extensions)) => extensions.get("persistedQuery"),
            Some(_) => {
                return Err(plain_error(
                    StatusCode::BAD_REQUEST,
                    "`extensions` must be a JSON object",
                ));
            }
        };
        let Some(persisted) = persisted.filter(|value| !value.is_null()) else {
            return Ok(query);
        };
        let version = persisted.get("version").and_then(Value::as_u64);
        if version != Some(VERSION) {
            return Err(not_supported(
                media,
                "only version 1 of automatic persisted queries is supported",
            ));
        }
        let Some(queries) = &self.queries else {
            return match query {
                // The text is all this server needs.
                Some(query) => Ok(Some(query)),
                None => Err(not_supported(
                    media,
                    "persisted queries are turned off: send the query",
                )),
            };
        };
        let Some(hash) = persisted
            .get("sha256Hash")
            .and_then(Value::as_str)
            .and_then(QueryHash::from_hex)
        else {
            return Err(bad_input(
                media,
                "`extensions.persistedQuery.sha256Hash` must be the query's SHA-256 in 64 hexadecimal digits",
            ));
        };
        match query {
            Some(query) => {
                if QueryHash::of(&query) != hash {
                    return Err(bad_input(media, "provided sha does not match query"));
                }
                // Only documents that parse are kept; the rest fail as usual.
                if bracket_nesting(&query) <= MAX_NESTING
                    && async_graphql::parser::parse_query(&query).is_ok()
                {
                    queries.register(&query).await;
                }
                Ok(Some(query))
            }
            None => match queries.find(hash).await {
                Some(text) => Ok(Some(text.to_string())),
                None => Err(answer(
                    media,
                    StatusCode::OK,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                )),
            },
        }
    }
}

/// HTTP 200, so clients read the code and fall back to sending the text.
fn not_supported(media: Media, message: &str) -> Response {
    answer(
        media,
        StatusCode::OK,
        "PERSISTED_QUERY_NOT_SUPPORTED",
        message,
    )
}

/// A request error: 400 with `application/graphql-response+json`, 200 with
/// `application/json`, as for every request error of the handler.
fn bad_input(media: Media, message: &str) -> Response {
    let status = match media {
        Media::GraphQLResponseJson => StatusCode::BAD_REQUEST,
        Media::Json => StatusCode::OK,
    };
    answer(media, status, "BAD_USER_INPUT", message)
}

/// No data, one error with `code`.
fn answer(media: Media, status: StatusCode, code: &str, message: &str) -> Response {
    let mut error = ServerError::new(message, None);
    set_code(&mut error, code);
    let mut errors = vec![error];
    super::request_id::tag_errors(&mut errors);
    match serde_json::to_vec(&serde_json::json!({ "errors": errors })) {
        Ok(body) => (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response(),
        Err(_) => plain_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}
