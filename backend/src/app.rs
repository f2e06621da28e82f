//! The HTTP application: shared state and the router (built without a socket
//! so tests can drive it with `oneshot`). Owns the wiring only: every handler
//! lives in `http`.
//!
//! Routes: `/graphql` (POST; GET = GraphiQL, a query, or a WebSocket
//! upgrade for subscriptions), `/healthz` (the
//! process is up), `/readyz` (Postgres answers; Redis reported, not required),
//! `/metrics` (Prometheus text; on its own internal address instead when
//! `METRICS_ADDR` is set or in production: [`metrics_router`]), and
//! GraphiQL's own scripts and styles under `/graphiql/assets/`
//! (`http::graphiql`; nothing from a CDN).
//! Every answer carries an `x-request-id` (`http::request_id`); `/graphql`
//! answers CORS for the allowed origins (`http::cors`).

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::cache::Cache;
use crate::config::Config;
use crate::db::Db;
use crate::graphql;
use crate::http::errors::plain_error;
use crate::http::graphql::{Endpoint, post as graphql_post};
use crate::http::{cors, graphiql, health, request_id, ws};
use crate::metrics::Metrics;
use crate::payments::{PaymentGateway, TestGateway};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub endpoint: Endpoint,
    pub db: Db,
    pub cache: Cache,
    pub metrics: Metrics,
    /// The payment provider (checkout charges, the sweeper asks it).
    pub gateway: Arc<dyn PaymentGateway>,
}

impl AppState {
    /// With the built-in test gateway.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Self::with_gateway(config, Arc::new(TestGateway::default()))
    }

    pub fn with_gateway(config: &Config, gateway: Arc<dyn PaymentGateway>) -> anyhow::Result<Self> {
        // A replica further behind than half the recent-write window is
        // left alone: a key written before that is no longer loaded from
        // the primary, so the caches would store the replica's older copy.
        let db = Db::with_replica_max_lag(
            &config.database_url,
            config.database_read_url.as_deref(),
            config.pool_options(),
            config.cache.recent_write / 2,
        );
        let cache = Cache::from_config(config)?;
        Self::from_parts(db, cache, gateway, config)
    }

    pub fn from_parts(
        db: Db,
        cache: Cache,
        gateway: Arc<dyn PaymentGateway>,
        config: &Config,
    ) -> anyhow::Result<Self> {
        // The response cache serves once subscribed to invalidations.
        cache.start_listening();
        let metrics = Metrics::new()?;
        let schema = graphql::build_schema(
            db.clone(),
            cache.clone(),
            gateway.clone(),
            metrics.clone(),
            config,
        );
        Ok(Self {
            endpoint: Endpoint::new(schema, db.clone(), cache.clone(), metrics.clone(), config),
            db,
            cache,
            metrics,
            gateway,
        })
    }
}

pub fn router(state: AppState, config: &Config) -> Router {
    let mut graphql = get(ws::get).post(graphql_post);
    // Browser apps on the allowed origins (none by default: no headers).
    if let Some(cors) = cors::layer(&config.cors) {
        graphql = graphql.layer(cors);
    }
    let mut routes = Router::new()
        .route("/graphql", graphql)
        // GraphiQL's bundles (about 1.5 MB) go brotli- or gzip-compressed
        // as the browser accepts (a fifth of that); browsers keep them.
        .route(
            &format!("{}/{{file}}", graphiql::ASSETS),
            get(graphiql::asset).layer(CompressionLayer::new()),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    // With an internal metrics address (always in production), `/metrics`
    // is served only there ([`metrics_router`]).
    if config.metrics_address().is_none() {
        routes = routes.route("/metrics", get(health::metrics));
    }
    routes
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        // Outermost: every answer, 413/503/panic included, has its id.
        .layer(axum::middleware::from_fn_with_state(
            config.clients.trusted_proxies.clone(),
            request_id::middleware,
        ))
}

/// The internal router on `METRICS_ADDR`: `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .with_state(state)
}

/// A panic is a bug: log it, answer a bare 500 without its message.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = message, "request handler panicked");
    plain_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
