//! The one way the storefront reaches data: GraphQL over HTTP to the
//! backend. A slow or absent backend becomes [`ApiError::Unavailable`]
//! (a 503 "try again" page) within the configured timeout.
//!
//! Every call carries the page request's trace (`traceparent`), its
//! `X-Request-Id` and the shopper's address as `X-Forwarded-For`
//! ([`crate::caller`]), so the backend throttles each shopper on their own
//! (it believes these headers only from the addresses in its
//! `TRUSTED_PROXIES`) and logs under the same id and trace.
//!
//! Public queries (the catalog's pages, sent with no session) go as
//! `GET /graphql?query=…&variables=…`, conditional on the backend's `ETag`
//! of an earlier answer (`If-None-Match` → `304`); everything else POSTs.
//!
//! Owns the HTTP client (one pool of kept-alive connections) and turning the backend's answers into data or an
//! [`ApiError`], and timing each call by operation (`metrics`). It never
//! renders a page, never logs a session token, and imports no other module
//! of the crate but `caller` and `metrics`.

use graphql_client::{GraphQLQuery, QueryBody, Response};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ETAG, IF_NONE_MATCH};

use std::time::Instant;

use crate::caller;
use crate::metrics::{CallOutcome, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the backend is unavailable")]
    Unavailable,
    /// The backend answered with errors (their messages and codes).
    #[error("the backend answered with errors: {0:?}")]
    GraphQL(Vec<(String, Option<String>)>),
}

#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    url: String,
    metrics: Metrics,
}

impl Api {
    pub fn new(url: &str, timeout: std::time::Duration, metrics: Metrics) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()?,
            url: url.to_owned(),
            metrics,
        })
    }

    /// Counts a call of `operation` that began at `started`.
    fn count<T>(
        &self,
        operation: &'static str,
        started: Instant,
        result: &Result<T, ApiError>,
        outcome: impl Fn(&T) -> CallOutcome,
    ) {
        let outcome = match result {
            Ok(value) => outcome(value),
            Err(ApiError::GraphQL(_)) => CallOutcome::Errors,
            Err(ApiError::Unavailable) => CallOutcome::Unavailable,
        };
        self.metrics
            .backend_call(operation, outcome, started.elapsed());
    }

    /// Runs one operation, as the shopper whose session token is given.
    pub async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
        session: Option<&str>,
    ) -> Result<Q::ResponseData, ApiError> {
        let started = Instant::now();
        let body = Q::build_query(variables);
        let mut request = self.client.post(&self.url).json(&body);
        if let Some(token) = session {
            request = request.bearer_auth(token);
        }
        let result = match self.send(request).await {
            Ok(response) => decode::<Q::ResponseData>(response).await,
            Err(error) => Err(error),
        };
        self.count(body.operation_name, started, &result, |_| CallOutcome::Ok);
        result
    }

    /// Runs a public query (one that depends on no visitor: no session is
    /// sent) as `GET /graphql?query=…&variables=…`, which the backend may
    /// answer with an `ETag`. With `known`, the tag of the answer the caller
    /// kept, a backend that has nothing newer answers `304` and this returns
    /// [`Fetched::NotModified`]; a backend that sends no tags just answers.
    pub async fn run_public<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
        known: Option<&str>,
    ) -> Result<Fetched<Q::ResponseData>, ApiError> {
        let started = Instant::now();
        let body = Q::build_query(variables);
        let operation = body.operation_name;
        let result = self.fetch_public::<Q>(body, known).await;
        self.count(operation, started, &result, |fetched| match fetched {
            Fetched::Fresh { .. } => CallOutcome::Ok,
            Fetched::NotModified => CallOutcome::NotModified,
        });
        result
    }

    async fn fetch_public<Q: GraphQLQuery>(
        &self,
        body: QueryBody<Q::Variables>,
        known: Option<&str>,
    ) -> Result<Fetched<Q::ResponseData>, ApiError> {
        let variables = serde_json::to_string(&body.variables).map_err(|error| {
            tracing::error!(%error, "variables that cannot be written");
            ApiError::Unavailable
        })?;
        let mut parameters = vec![
            ("query", body.query),
            ("operationName", body.operation_name),
        ];
        // An operation without variables sends none (`null` is their JSON).
        if variables != "null" {
            parameters.push(("variables", variables.as_str()));
        }
        let parameters = serde_urlencoded::to_string(parameters).map_err(|error| {
            tracing::error!(%error, "a query that cannot be put in an address");
            ApiError::Unavailable
        })?;
        let mut request = self.client.get(format!("{}?{parameters}", self.url));
        if let Some(etag) = known {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = self.send(request).await?;
        if known.is_some() && response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let data = decode::<Q::ResponseData>(response).await?;
        Ok(Fetched::Fresh { data, etag })
    }

    /// Sends a request with what every call carries: the media types, the
    /// request id and the shopper's address. A failure to answer, or a
    /// server error, is [`ApiError::Unavailable`].
    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        request = request.header(
            ACCEPT,
            "application/graphql-response+json, application/json",
        );
        // The current span's place in the trace; the page's, if the log
        // filter left its span off.
        let traceparent = bookstore_telemetry::current_traceparent()
            .or_else(|| caller::current().map(|caller| caller.trace.traceparent().header_value()));
        if let Some(traceparent) = traceparent {
            request = request.header(bookstore_telemetry::HEADER, traceparent);
        }
        if let Some(caller) = caller::current() {
            request = request.header(caller::REQUEST_ID, caller.request_id);
            if let Some(address) = caller.address {
                request = request.header("x-forwarded-for", address.to_string());
            }
        }
        let response = request.send().await.map_err(|error| {
            tracing::warn!(%error, "backend request failed");
            ApiError::Unavailable
        })?;
        if response.status().is_server_error() {
            tracing::warn!(status = %response.status(), "backend error");
            return Err(ApiError::Unavailable);
        }
        Ok(response)
    }
}

/// A public query's answer: new data (with the backend's tag for it, if it
/// sent one), or "unchanged since the tag you sent".
pub enum Fetched<T> {
    Fresh { data: T, etag: Option<String> },
    NotModified,
}

/// The data of a GraphQL answer, or its errors.
async fn decode<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ApiError> {
    let bytes = response.bytes().await.map_err(|error| {
        tracing::warn!(%error, "unreadable backend response");
        ApiError::Unavailable
    })?;
    // The usual answer, data and no errors, decoded in one pass.
    if let Ok(Response {
        data: Some(data),
        errors: None,
        ..
    }) = serde_json::from_slice::<Response<T>>(&bytes)
    {
        return Ok(data);
    }
    // Errors first: with them, `data` may be partial and not decodable.
    let body: Response<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|error| {
        tracing::warn!(%error, "unreadable backend response");
        ApiError::Unavailable
    })?;
    if let Some(errors) = body.errors.filter(|errors| !errors.is_empty()) {
        return Err(ApiError::GraphQL(
            errors
                .into_iter()
                .map(|error| {
                    let code = error
                        .extensions
                        .as_ref()
                        .and_then(|extensions| extensions.get("code"))
                        .and_then(|code| code.as_str())
                        .map(str::to_owned);
                    (error.message, code)
                })
                .collect(),
        ));
    }
    let data = body.data.ok_or(ApiError::Unavailable)?;
    serde_json::from_value(data).map_err(|error| {
        tracing::error!(%error, "backend response does not match the query");
        ApiError::Unavailable
    })
}
