//! The one way the storefront reaches data: GraphQL over HTTP to the
//! backend. A slow or absent backend becomes [`ApiError::Unavailable`]
//! (a 503 "try again" page) within the configured timeout.
//!
//! Every call carries the page request's `X-Request-Id` and the shopper's
//! address as `X-Forwarded-For` ([`crate::caller`]), so the backend
//! throttles each shopper on their own (it believes the header only from
//! the addresses in its `TRUSTED_PROXIES`) and logs under the same id.
//!
//! Owns the HTTP client and turning the backend's answers into data or an
//! [`ApiError`]. It never renders a page, never logs a session token, and
//! imports no other module of the crate but `caller`.

use graphql_client::{GraphQLQuery, Response};
use reqwest::header::ACCEPT;

use crate::caller;

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
}

impl Api {
    pub fn new(url: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()?,
            url: url.to_owned(),
        })
    }

    /// Runs one operation, as the shopper whose session token is given.
    pub async fn run<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
        session: Option<&str>,
    ) -> Result<Q::ResponseData, ApiError> {
        let mut request = self
            .client
            .post(&self.url)
            .header(
                ACCEPT,
                "application/graphql-response+json, application/json",
            )
            .json(&Q::build_query(variables));
        if let Some(token) = session {
            request = request.bearer_auth(token);
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
        // Errors first: with them, `data` may be partial and not decodable.
        let body: Response<serde_json::Value> = response.json().await.map_err(|error| {
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
}
