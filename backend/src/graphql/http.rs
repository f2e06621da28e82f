//! `/graphql` over HTTP, following the GraphQL-over-HTTP specification:
//! content negotiation between `application/graphql-response+json` and
//! `application/json`, 400 for request errors where the spec asks for it,
//! only JSON bodies on POST (no form or text bodies a browser could send
//! cross-site), no mutations over GET, no batches. GraphiQL on `GET` from a
//! browser when enabled.

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Response as GraphQLResponse, ServerError, Value, Variables};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::limits::count_aliases;
use super::loaders::{loaders, order_loaders};
use crate::app::AppState;
use crate::auth::RequestAuth;
use crate::error::{annotate, set_code};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the response is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphQLResponseJson,
    Json,
}

impl Media {
    /// Picks the response type from `Accept`. No header (or a wildcard) gets
    /// `application/json`, which every legacy client understands.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT) else {
            return Some(Media::Json);
        };
        let accept = accept.to_str().unwrap_or_default();
        let mut ranges = accept.split(',').filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?.to_ascii_lowercase();
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!refused).then_some(media)
        });
        let ranges: Vec<String> = ranges.by_ref().collect();
        if ranges.iter().any(|media| media == GRAPHQL_RESPONSE_JSON) {
            Some(Media::GraphQLResponseJson)
        } else if ranges
            .iter()
            .any(|media| media == JSON || media == "application/*" || media == "*/*")
        {
            Some(Media::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostBody {
    query: Option<String>,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

/// `GET /graphql`: GraphiQL for a browser, otherwise a query (never a
/// mutation) from the URL parameters.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
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
    if params.query.is_none() && wants_html && state.graphiql {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("Bookstore GraphiQL")
                .finish(),
        )
        .into_response();
    }
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let Some(query) = params.query else {
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
        Err(mut error) => {
            set_code(&mut error, "GRAPHQL_PARSE_FAILED");
            return respond(media, GraphQLResponse::from_errors(vec![error]));
        }
    }
    let auth = request_auth(&state, &headers, peer);
    execute(&state, media, request, auth).await
}

/// `POST /graphql` with a JSON body.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
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
    let Some(query) = body.query else {
        return plain_error(StatusCode::BAD_REQUEST, "`query` is required");
    };
    match build_request(query, body.variables, body.operation_name) {
        Ok(request) => {
            let auth = request_auth(&state, &headers, peer);
            execute(&state, media, request, auth).await
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

/// Who is asking: the session token (`Authorization: Bearer`, else the
/// session cookie), the user agent and the client's address.
fn request_auth(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> RequestAuth {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let bearer = header(header::AUTHORIZATION.as_str())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned());
    let cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == state.session_cookie)
            .map(|(_, token)| token.trim().to_owned())
    };
    let forwarded = state
        .client_ip_header
        .as_deref()
        .and_then(header)
        .and_then(|value| value.split(',').next())
        .map(|address| address.trim().to_owned())
        .filter(|address| !address.is_empty());
    let client_address = forwarded
        .or_else(|| peer.map(|Extension(ConnectInfo(address))| address.ip().to_string()))
        .unwrap_or_else(|| "unknown".to_owned());
    RequestAuth::new(
        bearer.or_else(cookie),
        header(header::USER_AGENT.as_str()).map(str::to_owned),
        client_address,
    )
}

async fn execute(
    state: &AppState,
    media: Media,
    mut request: Request,
    auth: RequestAuth,
) -> Response {
    state
        .graphql_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Parsed once here (or taken from the parsed-query cache); async-graphql
    // reuses the parsed document.
    let aliases = match state.parsed_queries.get(&request.query) {
        Some((document, aliases)) => {
            request.set_parsed_query(document);
            aliases
        }
        None => {
            let query = request.query.clone();
            match request.parsed_query() {
                Ok(document) => {
                    let aliases = count_aliases(document);
                    state.parsed_queries.insert(&query, document, aliases);
                    aliases
                }
                Err(mut error) => {
                    set_code(&mut error, "GRAPHQL_PARSE_FAILED");
                    return respond(media, GraphQLResponse::from_errors(vec![error]));
                }
            }
        }
    };
    if aliases > state.max_aliases {
        let mut error = ServerError::new(
            format!(
                "the query uses {aliases} aliases; at most {} are allowed",
                state.max_aliases
            ),
            None,
        );
        set_code(&mut error, "GRAPHQL_VALIDATION_FAILED");
        return respond(media, GraphQLResponse::from_errors(vec![error]));
    }
    let request = request
        .data(loaders(state.db.clone(), state.cache.clone()))
        .data(order_loaders(state.db.clone()))
        .data(auth);
    let mut response = state.schema.execute(request).await;
    for error in &mut response.errors {
        annotate(error);
    }
    respond(media, response)
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

fn respond(media: Media, response: GraphQLResponse) -> Response {
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
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, media.content_type())],
            bytes,
        )
            .into_response(),
        Err(_) => plain_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// An error response outside GraphQL execution (bad HTTP usage), shaped like
/// a GraphQL error so clients parse one format.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::INTERNAL_SERVER_ERROR => "INTERNAL",
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => "SERVICE_UNAVAILABLE",
        _ => "BAD_REQUEST",
    };
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
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

fn not_acceptable() -> Response {
    plain_error(
        StatusCode::NOT_ACCEPTABLE,
        "accept application/graphql-response+json or application/json",
    )
}

/// Recently parsed query documents by their text: clients send the same few
/// queries over and over, and parsing is a visible share of a request.
/// Bounded: when full it starts over.
pub struct ParsedQueries {
    documents: std::sync::Mutex<std::collections::HashMap<String, (ExecutableDocument, usize)>>,
}

impl ParsedQueries {
    const CAPACITY: usize = 512;
    /// Longer queries are parsed every time rather than kept.
    const MAX_QUERY_BYTES: usize = 16 * 1024;

    pub fn new() -> Self {
        Self {
            documents: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, query: &str) -> Option<(ExecutableDocument, usize)> {
        self.documents.lock().ok()?.get(query).cloned()
    }

    fn insert(&self, query: &str, document: &ExecutableDocument, aliases: usize) {
        if query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        if let Ok(mut documents) = self.documents.lock() {
            if documents.len() >= Self::CAPACITY {
                documents.clear();
            }
            documents.insert(query.to_owned(), (document.clone(), aliases));
        }
    }
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self::new()
    }
}
