//! The HTTP application: shared state and the router (built without a socket
//! so tests can drive it with `oneshot`).
//!
//! Routes: `/graphql` (POST; GET = GraphiQL or a query), `/healthz` (the
//! process is up), `/readyz` (Postgres answers; Redis reported, not required),
//! `/metrics` (request and SQL statement counters, Prometheus text).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::cache::{Cache, CacheStatus};
use crate::config::Config;
use crate::db::Db;
use crate::graphql::http::ParsedQueries;
use crate::graphql::{self, AppSchema};

#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: Db,
    pub cache: Cache,
    pub graphiql: bool,
    pub max_aliases: usize,
    pub session_cookie: String,
    pub client_ip_header: Option<String>,
    /// GraphQL requests executed (for `/metrics`).
    pub graphql_requests: Arc<AtomicU64>,
    pub parsed_queries: Arc<ParsedQueries>,
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let db = Db::new(
            &config.database_url,
            config.database_read_url.as_deref(),
            config.database_pool_size,
        );
        let cache = Cache::new(
            config.redis_url.as_deref(),
            &config.cache_namespace,
            config.cache_ttl,
            config.redis_timeout,
            config.redis_backoff,
        )?;
        Ok(Self::from_parts(db, cache, config))
    }

    pub fn from_parts(db: Db, cache: Cache, config: &Config) -> Self {
        Self {
            schema: graphql::build_schema(
                db.clone(),
                cache.clone(),
                Arc::new(crate::payments::TestGateway),
                config,
            ),
            db,
            cache,
            graphiql: config.graphiql,
            max_aliases: config.max_aliases,
            session_cookie: config.session_cookie.clone(),
            client_ip_header: config.client_ip_header.clone(),
            graphql_requests: Arc::new(AtomicU64::new(0)),
            parsed_queries: Arc::new(ParsedQueries::new()),
        }
    }
}

pub fn router(state: AppState, config: &Config) -> Router {
    Router::new()
        .route(
            "/graphql",
            get(graphql::http::get).post(graphql::http::post),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

async fn healthz() -> &'static str {
    "ok"
}

#[derive(serde::Serialize)]
struct Readiness {
    status: &'static str,
    postgres: &'static str,
    redis: CacheStatus,
}

async fn readyz(State(state): State<AppState>) -> Response {
    use diesel_async::RunQueryDsl;
    let postgres_ok = async {
        let mut conn = state.db.primary().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    }
    .await
    .is_some();
    let redis = state.cache.status().await;
    let status = if postgres_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if postgres_ok { "ready" } else { "unavailable" },
        postgres: if postgres_ok { "ok" } else { "unavailable" },
        redis,
    };
    (status, Json(body)).into_response()
}

/// Prometheus text format: enough to see SQL statements per request.
async fn metrics(State(state): State<AppState>) -> Response {
    let body = format!(
        "# HELP bookstore_graphql_requests_total GraphQL requests executed.\n\
         # TYPE bookstore_graphql_requests_total counter\n\
         bookstore_graphql_requests_total {}\n\
         # HELP bookstore_sql_statements_total SQL statements sent to Postgres.\n\
         # TYPE bookstore_sql_statements_total counter\n\
         bookstore_sql_statements_total {}\n",
        state.graphql_requests.load(Ordering::Relaxed),
        state.db.statements_executed(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// A panic is a bug: log it, answer a bare 500 without its message.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = message, "request handler panicked");
    graphql::http::plain_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
