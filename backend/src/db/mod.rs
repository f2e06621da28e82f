//! Postgres: the connection pools, the embedded migrations and one module of
//! queries per table group. Nothing here knows about GraphQL or Redis.

pub mod account_tokens;
pub mod books;
pub mod carts;
pub mod catalog;
mod constraints;
pub mod contributors;
pub mod credits;
pub mod genres;
mod id_sets;
pub mod job_runs;
mod listing_order;
pub mod order_mail;
pub mod order_pages;
pub mod order_status;
pub mod orders;
pub mod outbox;
pub mod payments;
mod pool;
mod prepared;
pub mod replica;
pub mod reservations;
pub mod saved_addresses;
pub mod sessions;
pub mod slugs;
pub mod stock;
mod timestamp;
pub mod users;
#[rustfmt::skip]
pub mod schema;

pub use pool::{Connection, DEFAULT_REPLICA_MAX_LAG, Db, PoolFigures, PoolOptions};

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// The versions of every embedded migration, oldest first.
pub fn migration_versions() -> anyhow::Result<Vec<String>> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|error| anyhow::anyhow!("reading embedded migrations: {error}"))?;
    Ok(migrations
        .iter()
        .map(|migration| migration.name().to_string())
        .collect())
}

/// Held while migrating, so backend instances starting together take turns.
const MIGRATION_LOCK: i64 = 0x626f_6f6b_7374_6f72; // "bookstor"

/// Runs the pending migrations on a blocking thread (diesel's migration
/// harness is synchronous) and returns the versions it applied.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    with_migration_connection(database_url, |connection| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .execute(connection)?;
        let applied = connection
            .run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.iter().map(ToString::to_string).collect())
            .map_err(|error| anyhow::anyhow!("running migrations: {error}"));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .execute(connection)?;
        applied
    })
    .await
}

/// Reverts every migration (used by the test that proves each `down.sql`).
pub async fn revert_all_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    with_migration_connection(database_url, |connection| {
        let reverted = connection
            .revert_all_migrations(MIGRATIONS)
            .map_err(|error| anyhow::anyhow!("reverting migrations: {error}"))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    })
    .await
}

async fn with_migration_connection<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut AsyncConnectionWrapper<AsyncPgConnection>) -> anyhow::Result<T>
    + Send
    + 'static,
) -> anyhow::Result<T> {
    use diesel::Connection as _;
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut connection = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|error| anyhow::anyhow!("connecting to Postgres for migrations: {error}"))?;
        work(&mut connection)
    })
    .await?
}
