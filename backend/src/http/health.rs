//! `/healthz` (the process is up), `/readyz` (Postgres answers; Redis is
//! reported, not required) and `/metrics`. Must never run a query that can
//! take long or touch the catalog (`/metrics` counts the outbox, bounded
//! by a timeout).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use diesel_async::RunQueryDsl;

use crate::cache::{Cache, CacheStatus};
use crate::db::Db;
use crate::metrics::Metrics;

pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(serde::Serialize)]
struct Readiness {
    status: &'static str,
    postgres: &'static str,
    redis: CacheStatus,
}

pub async fn readyz(State(db): State<Db>, State(cache): State<Cache>) -> Response {
    let postgres_ok = async {
        let mut conn = db.primary().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    }
    .await
    .is_some();
    let redis = cache.status().await;
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

/// Prometheus text format.
pub async fn metrics(
    State(metrics): State<Metrics>,
    State(db): State<Db>,
    State(cache): State<Cache>,
) -> Response {
    (
        [(header::CONTENT_TYPE, bookstore_edge::metrics::CONTENT_TYPE)],
        metrics.render(&db, &cache).await,
    )
        .into_response()
}
