//! The bookstore backend: a GraphQL API over Postgres, with Redis-cached
//! DataLoaders. `main.rs` only parses the command line and calls in here.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cache;
pub mod checkout;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod order_workflow;
pub mod payments;
pub mod seed;
pub mod telemetry;

use anyhow::Context;

use crate::config::Config;

/// Runs pending migrations, then serves until SIGINT/SIGTERM (and
/// `/metrics` on `METRICS_ADDR` when set: always in production).
pub async fn serve(config: Config, seed_demo_if_empty: bool) -> anyhow::Result<()> {
    let applied = db::run_migrations(&config.database_url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    let state = app::AppState::new(&config)?;
    if seed_demo_if_empty {
        let mut conn = state.db.primary().await.context("connecting to Postgres")?;
        let report = seed::demo(&mut conn).await?;
        tracing::info!(%report, "demo catalog");
    }
    // Detached: the jobs stop with the process.
    let _jobs = jobs::periodic::spawn(&state, &config);
    if let Some(address) = config.metrics_address() {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding METRICS_ADDR {address}"))?;
        tracing::info!(%address, "metrics listening (internal)");
        let metrics = app::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let router = app::router(state, &config);
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(address = %config.bind_addr, env = ?config.app_env, graphiql = config.graphiql, "bookstore backend listening on /graphql");
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
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
        _ = interrupt => {},
        () = terminate => {},
    }
}
