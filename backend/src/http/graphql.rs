//! The `/graphql` endpoint, following the GraphQL-over-HTTP specification:
//! content negotiation between `application/graphql-response+json` and
//! `application/json`, 400 for request errors where the spec asks for it,
//! only JSON bodies on POST (no form or text bodies a browser could send
//! cross-site), no mutations over GET, no batches. GraphiQL on `GET` from a
//! browser when enabled (404 otherwise; its page and assets are
//! [`super::graphiql`]'s). Automatic persisted queries
//! ([`super::persisted`]) resolve to their text here; a request whose exact
//! bytes have a stored answer gets it (`GET`: with its `ETag`, or `304`);
//! everything else runs in [`Endpoint`] (`super::endpoint`).

use std::net::SocketAddr;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Variables};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::caching::{private_get, public_get};
use super::encoding::shortened;
pub use super::endpoint::Endpoint;
use super::endpoint::{GET, POST};
use super::errors::{not_acceptable, plain_error};
use super::negotiation::{JSON, Media};
use super::query_shape::{MAX_NESTING, bracket_nesting};
use crate::metrics::Operation;

const OTHER: Operation = Operation::OTHER;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    /// JSON, e.g. an automatic persisted query's hash.
    extensions: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostBody {
    query: Option<String>,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    extensions: Option<serde_json::Value>,
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query (never a
/// mutation) from the URL parameters.
pub async fn get(
    State(endpoint): State<Endpoint>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawQuery(raw_query): RawQuery,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let Ok(Query(params)) = params else {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "the URL parameters could not be read",
        );
    };
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if params.query.is_none() && params.extensions.is_none() && wants_html {
        if !endpoint.graphiql {
            return plain_error(StatusCode::NOT_FOUND, "not found");
        }
        return super::graphiql::page();
    }
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let raw_query = Bytes::from(raw_query.unwrap_or_default());
    let storable = match endpoint.cached(GET, &raw_query) {
        Ok(cached) => {
            let response = endpoint.answer_cached(media, &cached, started);
            return public_get(&headers, response, &cached.etag, endpoint.get_max_age);
        }
        Err(storable) => storable,
    };
    let query = match endpoint
        .persisted
        .resolve_params(media, params.query, params.extensions.as_deref())
        .await
    {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(query) = query else {
        return plain_error(StatusCode::BAD_REQUEST, "the `query` parameter is required");
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return plain_error(StatusCode::BAD_REQUEST, "`variables` must be a JSON object");
        }
    };
    let mut request = match build_request(query, variables, params.operation_name) {
        Ok(request) => request,
        Err(message) => return plain_error(StatusCode::BAD_REQUEST, message),
    };
    if bracket_nesting(&request.query) > MAX_NESTING {
        let message = format!("the query nests brackets deeper than {MAX_NESTING} levels");
        return endpoint.reject(media, OTHER, "GRAPHQL_PARSE_FAILED", message, started);
    }
    // Mutations change state: never over GET (a link or a prefetch could run them).
    let operation_name = request.operation_name.clone();
    match request.parsed_query() {
        Ok(document) => {
            let name = operation_name.as_deref();
            let is_mutation = document.operations.iter().any(|(op_name, operation)| {
                let selected = match name {
                    Some(name) => op_name.is_some_and(|op_name| op_name.as_str() == name),
                    None => true,
                };
                selected && operation.node.ty == OperationType::Mutation
            });
            if is_mutation {
                let mut response = plain_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "mutations must be sent with POST",
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
        }
        Err(error) => {
            let message = shortened(&error.message);
            return endpoint.reject(media, OTHER, "GRAPHQL_PARSE_FAILED", message, started);
        }
    }
    let auth = endpoint.client.request_auth(&headers, peer);
    let answer = endpoint.execute(media, request, auth, storable).await;
    match answer.public_etag {
        Some(etag) => public_get(&headers, answer.response, &etag, endpoint.get_max_age),
        None => private_get(answer.response),
    }
}

/// `POST /graphql` with a JSON body.
pub async fn post(
    State(endpoint): State<Endpoint>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = std::time::Instant::now();
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    if content_type.as_deref() != Some(JSON) {
        return plain_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return plain_error(rejection.status(), &rejection.body_text()),
    };
    // The same bytes as a stored answer's request: the same answer.
    let storable = match endpoint.cached(POST, &body) {
        Ok(cached) => return endpoint.answer_cached(media, &cached, started),
        Err(storable) => storable,
    };
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(_) => return plain_error(StatusCode::BAD_REQUEST, "the body is not valid JSON"),
    };
    if body.is_array() {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported",
        );
    }
    let Ok(body) = serde_json::from_value::<PostBody>(body) else {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "the body must be an object with `query`, and optionally `variables` and `operationName`",
        );
    };
    let query = match endpoint
        .persisted
        .resolve(media, body.query, body.extensions.as_ref())
        .await
    {
        Ok(query) => query,
        Err(response) => return response,
    };
    let Some(query) = query else {
        return plain_error(StatusCode::BAD_REQUEST, "`query` is required");
    };
    match build_request(query, body.variables, body.operation_name) {
        Ok(request) => {
            let auth = endpoint.client.request_auth(&headers, peer);
            endpoint
                .execute(media, request, auth, storable)
                .await
                .response
        }
        Err(message) => plain_error(StatusCode::BAD_REQUEST, message),
    }
}

fn build_request(
    query: String,
    variables: Option<serde_json::Value>,
    operation_name: Option<String>,
) -> Result<Request, &'static str> {
    let mut request = Request::new(query);
    match variables {
        None | Some(serde_json::Value::Null) => {}
        Some(value @ serde_json::Value::Object(_)) => {
            request = request.variables(Variables::from_json(value));
        }
        Some(_) => {
            return Err("`variables` must be a JSON object");
        }
    }
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    Ok(request)
}
