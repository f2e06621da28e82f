//! The storefront: server-rendered HTML over the backend's GraphQL API.
//!
//! It never talks to Postgres or Redis: everything it shows comes from the
//! GraphQL endpoint (`api.rs`), with operations checked against the schema at
//! compile time (`queries.rs`). Pages work without JavaScript.

pub mod api;
pub mod config;
pub mod pages;
pub mod queries;
pub mod render;
pub mod session;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::api::Api;
use crate::config::Config;
use crate::render::Templates;

#[derive(Clone)]
pub struct AppState {
    pub api: Api,
    pub templates: Arc<Templates>,
    pub cookies: session::Cookies,
}

impl AppState {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            api: Api::new(&config.graphql_url, config.backend_timeout)?,
            templates: Arc::new(Templates::new()),
            cookies: session::Cookies::new(config.cookie_secure, config.csrf_secret.clone()),
        })
    }
}

/// The storefront's routes (no socket: tests drive it with `oneshot`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::catalog::home))
        .route("/books", get(pages::catalog::catalog))
        .route("/books/{slug}", get(pages::catalog::book))
        .route("/contributors/{slug}", get(pages::catalog::contributor))
        .route("/static/style.css", get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .merge(pages::accounts::routes())
        .merge(pages::shop::routes())
        .merge(pages::staff::routes())
        .fallback(pages::not_found)
        .with_state(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The stylesheet, compiled in; its URL carries a version, so browsers may
/// keep it for a year.
async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        include_str!("../static/style.css"),
    )
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = AppState::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(address = %config.bind_addr, backend = %config.graphql_url, "storefront listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
