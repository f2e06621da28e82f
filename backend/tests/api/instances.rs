//! More backend instances beside a [`TestApp`]: same database, same Redis
//! namespace, each with its own process state and its own [`ChaosProxy`] in
//! front of the shared Redis, so a test can take Redis away from one
//! instance only (hang or cut) while the others keep it.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use bookstore::app::{AppState, router};
use bookstore::config::Config;
use bookstore::db::Db;
pub use bookstore_test_support::ChaosProxy;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::TestApp;

/// The back-off the instances use: short, so tests wait little.
pub const BACKOFF: Duration = Duration::from_secs(1);

pub struct Instance {
    pub router: Router,
    pub db: Db,
    pub cache: bookstore::cache::Cache,
    pub proxy: ChaosProxy,
}

impl Instance {
    /// A new instance beside `app`, reaching Redis through its own proxy.
    pub async fn beside(app: &TestApp) -> Self {
        Self::beside_with(app, |_| {}).await
    }

    pub async fn beside_with(app: &TestApp, adjust: impl FnOnce(&mut Config)) -> Self {
        let proxy = ChaosProxy::for_redis().await;
        let mut config = app.config.clone();
        config.redis_url = Some(proxy.url());
        config.redis_backoff = BACKOFF;
        config.redis_timeout = Duration::from_millis(200);
        adjust(&mut config);
        let state = AppState::new(&config).expect("app state");
        Self {
            db: state.db.clone(),
            cache: state.cache.clone(),
            router: router(state, &config),
            proxy,
        }
    }

    /// The whole GraphQL response body.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        post(&self.router, token, query, variables).await
    }

    /// `data`, asserting there are no errors.
    pub async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.graphql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }
}

pub async fn post(router: &Router, token: Option<&str>, query: &str, variables: Value) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}
