//! The `/graphql` endpoint, following the GraphQL-over-HTTP specification:
//! content negotiation between `application/graphql-response+json` and
//! `application/json`, 400 for request errors where the spec asks for it,
//! only JSON bodies on POST (no form or text bodies a browser could send
//! cross-site), no mutations over GET, no batches. GraphiQL on `GET` from a
//! browser when enabled (404 otherwise). Before execution: the document's
//! limits ([`super::query_shape`]: aliases, depth with introspection exempt,
//! mutation fields, introspection when disabled, control characters) and
//! control characters in variables; parse errors are kept short.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response as GraphQLResponse, ServerError, Value, Variables};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::caching::{etag_of, private_get, public_get};
use super::client::ClientSettings;
use super::errors::{not_acceptable, plain_error};
use super::negotiation::{JSON, Media};
use super::parsed_queries::ParsedQueries;
use super::query_shape::{
    CONTROL_CHARACTERS, MAX_NESTING, ShapeLimits, bracket_nesting, control_character_in, measure,
};
use crate::auth::RequestAuth;
use crate::cache::{Cache, Cached, Lookup, ReadTags, Ticket};
use crate::config::Config;
use crate::db::Db;
use crate::error::{annotate, set_code};
use crate::graphql::AppSchema;
use crate::graphql::loaders::{loaders, order_loaders};
use crate::metrics::Metrics;

/// Everything the `/graphql` routes need: the schema, what per-request
/// loaders are built from, the transport's own limits and caches.
#[derive(Clone)]
pub struct Endpoint {
    pub schema: AppSchema,
    pub db: Db,
    pub cache: Cache,
    pub graphiql: bool,
    pub limits: ShapeLimits,
    pub client: ClientSettings,
    pub parsed_queries: Arc<ParsedQueries>,
    pub metrics: Metrics,
    /// `Cache-Control: max-age` of public `GET` answers.
    pub get_max_age: std::time::Duration,
}

/// Which requests a stored answer may serve: POST bodies and GET query
/// strings are told apart.
const POST: u8 = 0;
const GET: u8 = 1;

/// A request that may be answered from, and stored in, the response cache.
struct Storable {
    ticket: Ticket,
    request: Bytes,
}

/// An executed request: the HTTP answer, and its `ETag` when it may be
/// shared (a public query that never asked who the viewer is, without
/// errors).
struct Answer {
    response: Response,
    public_etag: Option<String>,
}

impl Endpoint {
    pub fn new(schema: AppSchema, db: Db, cache: Cache, metrics: Metrics, config: &Config) -> Self {
        Self {
            schema,
            db,
            cache,
            graphiql: config.graphiql,
            limits: ShapeLimits {
                max_aliases: config.max_aliases,
                max_depth: config.max_depth,
                max_mutations: config.max_mutations,
                introspection: config.introspection,
            },
            client: ClientSettings {
                session_cookie: config.session_cookie.clone(),
                trusted_proxies: config.clients.trusted_proxies.clone(),
            },
            parsed_queries: Arc::new(ParsedQueries::new()),
            metrics,
            get_max_age: config.responses.get_max_age,
        }
    }

    /// The response cache's answer to `request` (exact bytes), if any;
    /// otherwise what a miss needs to store the answer.
    fn cached(&self, space: u8, request: &Bytes) -> Result<Arc<Cached>, Option<Storable>> {
        match self.cache.responses().lookup(space, request) {
            Lookup::Hit(cached) => Ok(cached),
            Lookup::Miss(ticket) => Err(Some(Storable {
                ticket,
                request: request.clone(),
            })),
            Lookup::Bypass => Err(None),
        }
    }

    fn answer_cached(
        &self,
        media: Media,
        cached: &Cached,
        started: std::time::Instant,
    ) -> Response {
        self.metrics.graphql_request(started.elapsed());
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media.content_type())],
            cached.body.clone(),
        )
            .into_response()
    }

    async fn execute(
        &self,
        media: Media,
        mut request: Request,
        auth: RequestAuth,
        storable: Option<Storable>,
    ) -> Answer {
        let started = std::time::Instant::now();
        let refused = |response| Answer {
            response,
            public_etag: None,
        };
        // Parsed and measured once per text (and operation), then taken from
        // the parsed-query cache; async-graphql reuses the parsed document.
        let operation_name = request.operation_name.clone();
        let shape = match self
            .parsed_queries
            .get(&request.query, operation_name.as_deref())
        {
            Some((document, shape)) => {
                request.set_parsed_query(document);
                shape
            }
            None => {
                // Only new texts are scanned: a cached one passed already.
                if bracket_nesting(&request.query) > MAX_NESTING {
                    let message =
                        format!("the query nests brackets deeper than {MAX_NESTING} levels");
                    return refused(request_error(media, "GRAPHQL_PARSE_FAILED", message));
                }
                let query = request.query.clone();
                match request.parsed_query() {
                    Ok(document) => {
                        let shape = measure(document, operation_name.as_deref());
                        self.parsed_queries.insert(
                            &query,
                            document,
                            operation_name.as_deref(),
                            shape,
                        );
                        shape
                    }
                    Err(error) => {
                        // The parser's message may quote the whole query.
                        let message = shortened(&error.message);
                        return refused(request_error(media, "GRAPHQL_PARSE_FAILED", message));
                    }
                }
            }
        };
        if let Err((code, message)) = self.limits.check(&shape) {
            return refused(request_error(media, code, message));
        }
        if let Some(name) = control_character_in(request.variables.iter()) {
            let message = format!("variable `{name}`: {CONTROL_CHARACTERS}");
            return refused(request_error(media, "BAD_USER_INPUT", message));
        }
        let tags = ReadTags::default();
        let consulted = auth.consultation();
        let request = request
            .data(loaders(self.db.clone(), self.cache.clone(), tags.clone()))
            .data(order_loaders(self.db.clone()))
            .data(tags.clone())
            .data(auth);
        let mut response = self.schema.execute(request).await;
        for error in &mut response.errors {
            annotate(error);
        }
        let public = shape.public && response.errors.is_empty() && !consulted.get();
        self.metrics.graphql_request(started.elapsed());
        let (status, body) = encode(media, response);
        let public_etag = public.then(|| etag_of(&body));
        if let (Some(etag), Some(storable)) = (&public_etag, storable) {
            self.cache.responses().store(
                storable.ticket,
                storable.request,
                body.clone(),
                etag.clone(),
                &tags,
            );
        }
        Answer {
            response: (status, [(header::CONTENT_TYPE, media.content_type())], body)
                .into_response(),
            public_etag,
        }
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
    if params.query.is_none() && wants_html {
        if !endpoint.graphiql {
            return plain_error(StatusCode::NOT_FOUND, "not found");
        }
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
    let raw_query = Bytes::from(raw_query.unwrap_or_default());
    let storable = match endpoint.cached(GET, &raw_query) {
        Ok(cached) => {
            let response = endpoint.answer_cached(media, &cached, started);
            return public_get(&headers, response, &cached.etag, endpoint.get_max_age);
        }
        Err(storable) => storable,
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
    if bracket_nesting(&request.query) > MAX_NESTING {
        let message = format!("the query nests brackets deeper than {MAX_NESTING} levels");
        return request_error(media, "GRAPHQL_PARSE_FAILED", message);
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
            return request_error(media, "GRAPHQL_PARSE_FAILED", message);
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
    let Some(query) = body.query else {
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

/// Parse errors longer than this are cut (they may quote the query).
const MAX_PARSE_ERROR_CHARS: usize = 200;

fn shortened(message: &str) -> String {
    match message.char_indices().nth(MAX_PARSE_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_owned(),
    }
}

/// An error found before execution: no data, one error with `code`.
fn request_error(media: Media, code: &str, message: String) -> Response {
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

fn respond(media: Media, response: GraphQLResponse) -> Response {
    let (status, body) = encode(media, response);
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// The status and body of a GraphQL response.
fn encode(media: Media, mut response: GraphQLResponse) -> (StatusCode, Bytes) {
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
