//! Wires the storefront: the router (every page area's routes, the
//! stylesheet, the health check) and the server.
//!
//! Owns no handler logic beyond the two static answers; it must never hold
//! page behaviour (that is `pages`), and nothing but the crate root imports it.

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::config::Config;
use crate::pages;
use crate::state::AppState;

/// The storefront's routes (no socket: tests drive it with `oneshot`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/static/style.css", get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .merge(pages::catalog::routes())
        .merge(pages::accounts::routes())
        .merge(pages::shop::routes())
        .merge(pages::staff::routes())
        .fallback(pages::page::not_found)
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

/// Serves until Ctrl-C.
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
