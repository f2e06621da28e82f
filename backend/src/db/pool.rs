//! The connection pools: the primary, an optional read replica, and a count
//! of every SQL statement they ran (for `/metrics` and the N+1 tests). Owns
//! connecting, each connection's `statement_timeout`, and cancelling the
//! statement of a connection whose user gave up on it; never runs a query of
//! its own.
//!
//! A request that times out is dropped mid-statement. Postgres would keep
//! running that statement (holding its locks) and the connection would go
//! back to the pool still busy, so the next request using it would wait
//! behind it. [`Connection`] notices (a statement started and never
//! finished) and, when dropped, asks Postgres to cancel the statement and
//! keeps the connection out of the pool (it is closed; the pool opens a
//! fresh one).

use std::ops::{Deref, DerefMut};
use std::sync::{
    Arc, RwLock,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection, RunError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, SimpleAsyncConnection,
    TransactionManager,
};
use futures_util::FutureExt;

use super::replica::{self, ReplicaStatus};

/// How the pools connect.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Connections per pool.
    pub size: u32,
    /// Postgres aborts any statement running longer (zero: no limit).
    pub statement_timeout: Duration,
}

/// The primary pool, an optional read-replica pool, and a count of every SQL
/// statement they ran (the N+1 tests and `/metrics`-style reporting read it).
#[derive(Clone)]
pub struct Db {
    primary: Pool<AsyncPgConnection>,
    replica: Option<Replica>,
    statements: Arc<AtomicU64>,
    abandoned: Arc<AtomicU64>,
    /// One request's own count ([`Db::counting_into`]), beside the total.
    request_statements: Option<Arc<AtomicU64>>,
}

/// What a pool is doing, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolFigures {
    pub in_use: u32,
    pub idle: u32,
    /// Checkouts that had to wait for a connection, so far.
    pub waited: u64,
    /// Checkouts that gave up waiting, so far.
    pub timed_out: u64,
    /// Time spent waiting, so far.
    pub wait_seconds: f64,
}

/// The read replica: its pool (rebuilt after an outage, whose connections
/// died with it) and what the probe knows of it.
#[derive(Clone)]
struct Replica {
    pool: Arc<RwLock<(u64, Pool<AsyncPgConnection>)>>,
    url: Arc<str>,
    options: PoolOptions,
    status: Arc<ReplicaStatus>,
}

/// How far behind the primary a replica may be and still serve reads when
/// no other figure is given (`CACHE_RECENT_WRITE_SECS`' default, halved).
pub const DEFAULT_REPLICA_MAX_LAG: Duration = Duration::from_secs(15);

impl Db {
    /// Builds the pools without connecting: the first request connects, so a
    /// Postgres that is still starting does not crash the service.
    pub fn new(primary_url: &str, read_url: Option<&str>, options: PoolOptions) -> Self {
        Self::with_replica_max_lag(primary_url, read_url, options, DEFAULT_REPLICA_MAX_LAG)
    }

    /// [`Db::new`], with reads leaving a replica that lags more than
    /// `max_lag` (see `replica`).
    pub fn with_replica_max_lag(
        primary_url: &str,
        read_url: Option<&str>,
        options: PoolOptions,
        max_lag: Duration,
    ) -> Self {
        let primary = build_pool(primary_url, options);
        let replica = read_url.map(|url| Replica {
            pool: Arc::new(RwLock::new((0, build_pool(url, options)))),
            url: url.into(),
            options,
            status: replica::watch(primary_url, url, max_lag),
        });
        Self {
            primary,
            replica,
            statements: Arc::new(AtomicU64::new(0)),
            abandoned: Arc::new(AtomicU64::new(0)),
            request_statements: None,
        }
    }

    /// The same pools, also counting the statements run through them into
    /// `counter` (one request's own count, whatever runs beside it).
    pub fn counting_into(&self, counter: Arc<AtomicU64>) -> Self {
        Self {
            request_statements: Some(counter),
            ..self.clone()
        }
    }

    /// Whether a read replica is configured (usable or not).
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The same pools, reading from the primary only (a session that wrote
    /// more recently than the replica replayed).
    pub fn reading_from_primary(&self) -> Self {
        Self {
            replica: None,
            ..self.clone()
        }
    }

    /// The primary pool's figures, and the replica's when there is one.
    pub fn pool_figures(&self) -> (PoolFigures, Option<PoolFigures>) {
        let figures = |pool: &Pool<AsyncPgConnection>| {
            let state = pool.state();
            PoolFigures {
                in_use: state.connections.saturating_sub(state.idle_connections),
                idle: state.idle_connections,
                waited: state.statistics.get_waited,
                timed_out: state.statistics.get_timed_out,
                wait_seconds: state.statistics.get_wait_time.as_secs_f64(),
            }
        };
        let replica = self.replica.as_ref().and_then(|replica| {
            let pool = replica.pool.read().ok()?;
            Some(figures(&pool.1))
        });
        (figures(&self.primary), replica)
    }

    /// Whether catalog reads go to the replica right now (it answers and is
    /// caught up); false without one.
    pub fn replica_usable(&self) -> bool {
        self.replica
            .as_ref()
            .is_some_and(|replica| replica.status.usable())
    }

    /// Whether the replica has replayed the primary's WAL up to `lsn` (as
    /// of its last probe): a session whose last write is past that reads
    /// the primary. True without a replica.
    pub fn replica_has_replayed(&self, lsn: u64) -> bool {
        self.replica
            .as_ref()
            .is_none_or(|replica| replica.status.replayed() >= lsn)
    }

    /// A connection for writes and for reads that must see them.
    pub async fn primary(&self) -> Result<Connection, RunError> {
        let pooled = self.primary.get_owned().await?;
        Ok(self.track(pooled))
    }

    /// A connection for catalog reads: the replica when one is configured,
    /// answering and caught up; else the primary. A replica that fails to
    /// give a connection within the probe timeout is taken out until the
    /// probe sees it back (while all its pooled connections are busy, the
    /// read just goes to the primary).
    pub async fn replica(&self) -> Result<Connection, RunError> {
        let Some(replica) = self
            .replica
            .as_ref()
            .filter(|replica| replica.status.usable())
        else {
            return self.primary().await;
        };
        let pool = replica.pool();
        match tokio::time::timeout(replica::PROBE_TIMEOUT, pool.get_owned()).await {
            Ok(Ok(pooled)) => Ok(self.track(pooled)),
            // Every replica connection busy: a busy pool, not a dead server.
            Err(_) if pool.state().idle_connections == 0 && pool.state().connections > 0 => {
                self.primary().await
            }
            _ => {
                replica.status.mark_down();
                self.primary().await
            }
        }
    }

    /// How many SQL statements this process has sent so far.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// How many connections were dropped in the middle of a statement (and
    /// had that statement cancelled).
    pub fn statements_abandoned(&self) -> u64 {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// Connections of the primary pool handed out right now.
    pub fn primary_in_use(&self) -> u32 {
        let state = self.primary.state();
        state.connections - state.idle_connections
    }

    fn track(&self, mut pooled: PooledConnection<'static, AsyncPgConnection>) -> Connection {
        let running = Arc::new(AtomicUsize::new(0));
        pooled.set_instrumentation(StatementTracker {
            statements: self.statements.clone(),
            request: self.request_statements.clone(),
            running: running.clone(),
        });
        Connection {
            pooled,
            running,
            abandoned: self.abandoned.clone(),
        }
    }
}

impl Replica {
    /// The pool, a fresh one after each recovery.
    fn pool(&self) -> Pool<AsyncPgConnection> {
        let recoveries = self.status.recoveries();
        if let Ok(current) = self.pool.read()
            && current.0 == recoveries
        {
            return current.1.clone();
        }
        let Ok(mut current) = self.pool.write() else {
            return build_pool(&self.url, self.options);
        };
        if current.0 != recoveries {
            *current = (recoveries, build_pool(&self.url, self.options));
        }
        current.1.clone()
    }
}

/// A pooled connection that cancels its running statement when dropped in
/// the middle of it (see the module documentation). Use it as a
/// `&mut AsyncPgConnection`.
pub struct Connection {
    pooled: PooledConnection<'static, AsyncPgConnection>,
    /// Statements started and not yet finished on this connection.
    running: Arc<AtomicUsize>,
    abandoned: Arc<AtomicU64>,
}

impl Deref for Connection {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.pooled
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.pooled
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.running.load(Ordering::Acquire) == 0 {
            return;
        }
        self.abandoned.fetch_add(1, Ordering::Relaxed);
        // Nobody else will use this server session: the connection is marked
        // broken below, so the pool closes it instead of lending it out, and
        // the cancel cannot hit another request's statement.
        let cancel = self.pooled.cancel_token();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = cancel.cancel_query(tokio_postgres::NoTls).await {
                    tracing::warn!(%error, "could not cancel an abandoned statement");
                }
            });
        }
        let conn: &mut AsyncPgConnection = &mut self.pooled;
        AnsiTransactionManager::transaction_manager_status_mut(conn).set_in_error();
        tracing::warn!(
            "a request gave up during a statement: cancelled it and closed its connection"
        );
    }
}

fn build_pool(url: &str, options: PoolOptions) -> Pool<AsyncPgConnection> {
    let mut config = ManagerConfig::default();
    // `Verified` would add a `SELECT 1` round trip to every checkout.
    config.recycling_method = RecyclingMethod::Fast;
    let statement_timeout = options.statement_timeout.as_millis();
    config.custom_setup = Box::new(move |url| {
        async move {
            let mut connection = AsyncPgConnection::establish(url).await?;
            // One round trip per new connection, not per checkout.
            connection
                .batch_execute(&format!("SET statement_timeout = {statement_timeout}"))
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(connection)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Pool::builder()
        .max_size(options.size.max(1))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(manager)
}

/// Counts every statement (all connections; and one request's, when the
/// connection is that request's) and the ones running on one connection.
struct StatementTracker {
    statements: Arc<AtomicU64>,
    request: Option<Arc<AtomicU64>>,
    running: Arc<AtomicUsize>,
}

impl Instrumentation for StatementTracker {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.statements.fetch_add(1, Ordering::Relaxed);
                if let Some(request) = &self.request {
                    request.fetch_add(1, Ordering::Relaxed);
                }
                self.running.fetch_add(1, Ordering::AcqRel);
                tracing::debug!(target: "bookstore::sql", %query, "statement");
            }
            InstrumentationEvent::FinishQuery { .. } => {
                let _ = self
                    .running
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        Some(n.saturating_sub(1))
                    });
            }
            _ => {}
        }
    }
}
