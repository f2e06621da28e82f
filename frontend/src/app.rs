//! Wires the storefront: the router (every page area's routes, the
//! stylesheet and script, the health check, what crawlers read), the
//! `noindex` header of private pages, the guard in front of every form,
//! conditional GET and compression (gzip, brotli), the security headers on
//! every answer, page timings (`metrics`), `/metrics` (on its own internal
//! address when `METRICS_ADDR` is set or in production), and the server
//! with its graceful shutdown.
//!
//! Owns no handler logic beyond the static answers; it must never hold
//! page behaviour (that is `pages`), and nothing but the crate root imports it.

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::state::AppState;
use crate::{caller, conditional, forms, metrics, pages, script, seo, stylesheet};

/// What pages may load: only this site's stylesheet, script (`live.js`,
/// never an inline one), event streams and forms, nothing of anyone
/// else's, no framing (clickjacking), no `<base>` tricks.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The storefront's routes (no socket: tests drive it with `oneshot`).
pub fn router(state: AppState) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    let trusted_proxies = state.trusted_proxies.clone();
    let mut routes = Router::new()
        .route("/static/style.css", get(stylesheet))
        .route("/static/live.js", get(live_script))
        .route("/healthz", get(|| async { "ok" }));
    // With an internal metrics address (always in production), `/metrics`
    // is served only there ([`metrics_router`]).
    if state.metrics_on_bind_addr {
        routes = routes.route("/metrics", get(metrics::serve));
    }
    routes
        .merge(pages::catalog::routes())
        .merge(pages::accounts::routes())
        .merge(pages::shop::routes())
        .merge(pages::staff::routes())
        .merge(pages::seo::routes())
        .merge(pages::live::routes())
        .fallback(pages::page::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::shop::cart_count::fill,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forms::guard,
        ))
        // Inside the routes (`Router::layer`): each answer is timed under
        // its route pattern.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::pages,
        ))
        .with_state(state)
        // Conditional GET (304 for a public page the client has), then
        // gzip or brotli for what the client accepts.
        .layer(axum::middleware::from_fn(conditional::middleware))
        .layer(CompressionLayer::new())
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Private pages (cart, checkout, account, orders, staff) are
        // `noindex` for crawlers that reach them despite `robots.txt`.
        .layer(axum::middleware::from_fn(seo::robots::middleware))
        // A page whose address holds a token sets a stricter one itself.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(caller::span))
        // Outermost: the shopper's address and the request id, for the
        // backend, the logs and the answer's `x-request-id`.
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies,
            caller::middleware,
        ))
}

/// The stylesheet, compiled in; its URL carries a hash of it, so browsers
/// may keep it for a year.
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
        stylesheet::CSS,
    )
}

/// The live updates' script, compiled in; its URL carries a hash of it.
async fn live_script() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        script::LIVE_JS,
    )
}

/// The internal router on `METRICS_ADDR`: `/metrics` and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::serve))
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM (what a container's stop sends), then
/// finishes the requests in flight; `/metrics` on `METRICS_ADDR` (when set,
/// always in production) for as long as the process runs.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = AppState::new(&config)?;
    state.metrics.install_global();
    if let Some(address) = config.metrics_address() {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding METRICS_ADDR {address}"))?;
        tracing::info!(%address, "metrics listening (internal)");
        let metrics = metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(address = %config.bind_addr, backend = %config.graphql_url, "storefront listening");
    // The peer's address: the shopper's, unless a trusted proxy vouches.
    let live = state.live.clone();
    let service = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Live streams never finish by themselves: end them, and their
            // browsers reconnect to another instance.
            live.close_all();
        })
        .await?;
    tracing::info!("shut down");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
