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
pub mod events;
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
    state.metrics.install_global();
    if seed_demo_if_empty {
        let mut conn = state.db.primary().await.context("connecting to Postgres")?;
        let report = seed::demo(&mut conn).await?;
        tracing::info!(%report, "demo catalog");
    }
    let tasks = if config.mail.serve_runs_worker {
        background(&state, &config)?
    } else {
        tracing::info!(
            "SERVE_RUNS_WORKER=false: outbox and periodic jobs are left to `bookstore worker`"
        );
        Vec::new()
    };
    serve_metrics(&state, config.metrics_address()).await?;
    let sockets = state.endpoint.sockets.clone();
    let router = app::router(state, &config);
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("binding {}", config.bind_addr))?;
    tracing::info!(address = %config.bind_addr, env = ?config.app_env, graphiql = config.graphiql, "bookstore backend listening on /graphql");
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let closing = sockets.clone();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // WebSockets are no longer the server's once upgraded: they are
            // closed (1001) now, while it drains its HTTP requests.
            closing.begin_closing();
        })
        .await?;
    sockets.close_all(std::time::Duration::from_secs(5)).await;
    shut_down(tasks).await;
    tracing::info!("shut down");
    Ok(())
}

/// Serves `/metrics` alone on `address` (`METRICS_ADDR`), for as long as
/// the process runs.
async fn serve_metrics(
    state: &app::AppState,
    address: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let Some(address) = address else {
        return Ok(());
    };
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
    Ok(())
}

/// Gives background tasks time to finish what they started (the outbox
/// worker records the messages it is sending), then stops them.
async fn shut_down(tasks: Vec<jobs::Task>) {
    let grace = std::time::Duration::from_secs(15);
    futures_util::future::join_all(tasks.into_iter().map(|task| task.shut_down(grace))).await;
}

/// Runs the background work alone (no HTTP): outbox delivery and the
/// periodic jobs, until SIGINT/SIGTERM. Any number may run beside the
/// `serve` processes: every job claims its work in Postgres.
pub async fn worker(config: Config) -> anyhow::Result<()> {
    let applied = db::run_migrations(&config.database_url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    let state = app::AppState::new(&config)?;
    state.metrics.install_global();
    // Only when asked: the production default address is `serve`'s, which
    // may run on the same host.
    serve_metrics(&state, config.metrics_addr).await?;
    let tasks = background(&state, &config)?;
    tracing::info!("bookstore worker running (outbox delivery, periodic jobs)");
    shutdown_signal().await;
    shut_down(tasks).await;
    tracing::info!("shut down");
    Ok(())
}

/// Spawns the background tasks: the outbox worker and the periodic jobs.
/// They stop when the returned handles are dropped.
pub fn background(state: &app::AppState, config: &Config) -> anyhow::Result<Vec<jobs::Task>> {
    let mut tasks = vec![spawn_outbox_worker(config)?];
    tasks.extend(jobs::periodic::spawn(state, config));
    Ok(tasks)
}

/// The outbox worker, on a pool of its own (a backlog of mail never takes
/// connections from requests, and requests' statement counts stay theirs).
pub fn spawn_outbox_worker(config: &Config) -> anyhow::Result<jobs::Task> {
    let mailer = std::sync::Arc::new(jobs::mail::Mailer::from_config(&config.mail)?);
    let db = db::Db::new(
        &config.database_url,
        None,
        db::PoolOptions {
            size: u32::from(config.mail.concurrency).clamp(2, 8),
            statement_timeout: config.statement_timeout,
        },
    );
    let mail = config.mail.clone();
    let url = config.database_url.clone();
    Ok(jobs::Task::spawn_stoppable(move |stop| {
        jobs::outbox::run(db, mailer, mail, url, stop)
    }))
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
