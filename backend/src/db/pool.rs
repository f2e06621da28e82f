//! The connection pools: the primary, an optional read replica, and a count
//! of every SQL statement they ran (for `/metrics` and the N+1 tests). Owns
//! connecting; never runs a query of its own.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection, RunError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::FutureExt;

pub type Connection = PooledConnection<'static, AsyncPgConnection>;

/// The primary pool, an optional read-replica pool, and a count of every SQL
/// statement they ran (the N+1 tests and `/metrics`-style reporting read it).
#[derive(Clone)]
pub struct Db {
    primary: Pool<AsyncPgConnection>,
    replica: Pool<AsyncPgConnection>,
    statements: Arc<AtomicU64>,
}

impl Db {
    /// Builds the pools without connecting: the first request connects, so a
    /// Postgres that is still starting does not crash the service.
    pub fn new(primary_url: &str, read_url: Option<&str>, pool_size: u32) -> Self {
        let statements = Arc::new(AtomicU64::new(0));
        let primary = build_pool(primary_url, pool_size, &statements);
        let replica = match read_url {
            Some(url) => build_pool(url, pool_size, &statements),
            None => primary.clone(),
        };
        Self {
            primary,
            replica,
            statements,
        }
    }

    /// A connection for writes and for reads that must see them.
    pub async fn primary(&self) -> Result<Connection, RunError> {
        self.primary.get_owned().await
    }

    /// A connection for catalog reads (the replica when one is configured).
    pub async fn replica(&self) -> Result<Connection, RunError> {
        self.replica.get_owned().await
    }

    /// How many SQL statements this process has sent so far.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

fn build_pool(url: &str, size: u32, statements: &Arc<AtomicU64>) -> Pool<AsyncPgConnection> {
    let statements = statements.clone();
    let mut config = ManagerConfig::default();
    // `Verified` would add a `SELECT 1` round trip to every checkout.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let statements = statements.clone();
        async move {
            let mut connection = AsyncPgConnection::establish(url).await?;
            connection.set_instrumentation(StatementCounter(statements));
            Ok(connection)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(manager)
}

struct StatementCounter(Arc<AtomicU64>);

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "bookstore::sql", %query, "statement");
        }
    }
}
