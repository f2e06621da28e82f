//! The figures `/metrics` reads when scraped rather than counting them on
//! the request path: SQL statements (the pools' own count, which the N+1
//! tests read too), the response and entity caches' hits and misses, the
//! pools' connections and waits, and the outbox's depth (one short query,
//! given up after [`OUTBOX_QUERY_LIMIT`]: a slow database leaves the last
//! figures in place, it never holds the scrape).

use std::sync::OnceLock;
use std::time::Duration;

use bookstore_edge::metrics::Registry;
use metrics::{Counter, Gauge};

use super::names::*;
use crate::cache::Cache;
use crate::db::{Db, PoolFigures, outbox};

const OUTBOX_QUERY_LIMIT: Duration = Duration::from_secs(1);

pub(super) struct Scraped {
    sql_statements: Counter,
    response_hits: Counter,
    response_misses: Counter,
    entity_hits: Counter,
    entity_misses: Counter,
    primary: PoolHandles,
    /// Registered once a replica pool is seen.
    replica: OnceLock<PoolHandles>,
    outbox_pending: Gauge,
    outbox_dead: Gauge,
    registry: Registry,
}

struct PoolHandles {
    in_use: Gauge,
    idle: Gauge,
    waits: Counter,
    timeouts: Counter,
}

impl PoolHandles {
    fn new(registry: &Registry, pool: &'static str) -> Self {
        Self {
            in_use: registry.gauge(POOL_CONNECTIONS, &[("pool", pool), ("state", "in_use")]),
            idle: registry.gauge(POOL_CONNECTIONS, &[("pool", pool), ("state", "idle")]),
            waits: registry.counter(POOL_WAITS, &[("pool", pool)]),
            timeouts: registry.counter(POOL_TIMEOUTS, &[("pool", pool)]),
        }
    }

    fn set(&self, figures: PoolFigures) {
        self.in_use.set(f64::from(figures.in_use));
        self.idle.set(f64::from(figures.idle));
        self.waits.absolute(figures.waited);
        self.timeouts.absolute(figures.timed_out);
    }
}

impl Scraped {
    pub(super) fn new(registry: &Registry) -> Self {
        Self {
            sql_statements: registry.counter(SQL_STATEMENTS, &[]),
            response_hits: registry.counter(RESPONSE_CACHE_HITS, &[]),
            response_misses: registry.counter(RESPONSE_CACHE_MISSES, &[]),
            entity_hits: registry.counter(ENTITY_CACHE_HITS, &[]),
            entity_misses: registry.counter(ENTITY_CACHE_MISSES, &[]),
            primary: PoolHandles::new(registry, "primary"),
            replica: OnceLock::new(),
            outbox_pending: registry.gauge(OUTBOX_MESSAGES, &[("status", "pending")]),
            outbox_dead: registry.gauge(OUTBOX_MESSAGES, &[("status", "dead")]),
            registry: registry.clone(),
        }
    }

    pub(super) async fn update(&self, db: &Db, cache: &Cache) {
        self.sql_statements.absolute(db.statements_executed());
        let (hits, misses) = cache.responses().counts();
        self.response_hits.absolute(hits);
        self.response_misses.absolute(misses);
        let (hits, misses) = cache.entity_counts();
        self.entity_hits.absolute(hits);
        self.entity_misses.absolute(misses);
        let (primary, replica) = db.pool_figures();
        self.primary.set(primary);
        if let Some(replica) = replica {
            self.replica
                .get_or_init(|| PoolHandles::new(&self.registry, "replica"))
                .set(replica);
        }
        let depth = tokio::time::timeout(OUTBOX_QUERY_LIMIT, async {
            let mut conn = db.primary().await.ok()?;
            outbox::depth(&mut conn).await.ok()
        })
        .await;
        match depth {
            Ok(Some((pending, dead))) => {
                self.outbox_pending.set(pending as f64);
                self.outbox_dead.set(dead as f64);
            }
            _ => tracing::debug!("the outbox depth was not read for /metrics"),
        }
    }
}
