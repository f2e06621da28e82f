//! Test support shared by the backend's and the storefront's integration
//! tests: each test gets its own database, cloned from a template that is
//! migrated and seeded with the demo catalog once per version of the
//! migrations and seed data.
//!
//! A dev-only crate: the release binaries never link it. It must never be a
//! normal dependency of either service.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use bookstore::db;

mod mail;
mod proxy;
pub mod replica;
pub use mail::{Mail, MailSink, SinkMode};
pub use proxy::{ChaosProxy, Mode as ProxyMode};

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The URL of database `name` on the test server.
pub fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

pub async fn admin_connection() -> AsyncPgConnection {
    match AsyncPgConnection::establish(&admin_url()).await {
        Ok(conn) => conn,
        Err(error) => panic!(
            "Postgres is not reachable at {} ({error}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             or point TEST_DATABASE_URL at a server whose user may create databases.",
            admin_url()
        ),
    }
}

pub async fn redis_connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).expect("a valid TEST_REDIS_URL");
    match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(error) => panic!(
            "Redis is not reachable at {} ({error}). Start it with \
             `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no` \
             or point TEST_REDIS_URL at one.",
            redis_url()
        ),
    }
}

pub async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    if let Err(error) = diesel::sql_query(sql).execute(conn).await {
        panic!("{sql}: {error}");
    }
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// The template's name changes whenever migrations, seed data or the seed
/// code change.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    db::migration_versions()
        .expect("migrations embedded")
        .hash(&mut hasher);
    // The seed's data and the code that loads it (slugs, ISBNs, editions).
    for seed_source in [
        include_str!("../../src/seed/demo_catalog.json"),
        include_str!("../../src/seed/mod.rs"),
        include_str!("../../src/seed/demo_catalog.rs"),
        include_str!("../../src/domain/slug.rs"),
        include_str!("../../src/domain/isbn.rs"),
    ] {
        seed_source.hash(&mut hasher);
    }
    for migration in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations"))
        .expect("migrations directory")
        .flatten()
    {
        for file in ["up.sql", "down.sql"] {
            std::fs::read_to_string(migration.path().join(file))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
    }
    format!("bookstore_test_tpl_{:016x}", hasher.finish())
}

/// Templates of other versions kept (newest first) when a new one is built,
/// so checkouts testing different migrations side by side do not drop each
/// other's template mid-run.
const KEPT_TEMPLATES: usize = 6;

/// Creates the template once (across test processes: an advisory lock
/// serializes them; the template appears under its name only when complete).
async fn ensure_template() -> String {
    let name = template_name();
    let mut admin = admin_connection().await;
    execute(&mut admin, "SELECT pg_advisory_lock(2026112101)").await;
    // Newest first: the templates of other checkouts (worktrees testing
    // other migrations at the same time) are kept, up to a few.
    let existing: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'bookstore\\_test\\_tpl\\_%' \
         ORDER BY oid DESC",
    )
    .load(&mut admin)
    .await
    .expect("listing templates");
    if !existing.iter().any(|db| db.datname == name) {
        for stale in existing.iter().skip(KEPT_TEMPLATES) {
            execute(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", stale.datname),
            )
            .await;
        }
        let building = format!("{name}_building");
        execute(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await;
        execute(&mut admin, &format!("CREATE DATABASE \"{building}\"")).await;
        let url = database_url(&building);
        db::run_migrations(&url)
            .await
            .expect("migrating the template");
        {
            let mut conn = AsyncPgConnection::establish(&url)
                .await
                .expect("template connection");
            bookstore::seed::demo(&mut conn)
                .await
                .expect("seeding the template");
        }
        execute(
            &mut admin,
            &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
        )
        .await;
    }
    execute(&mut admin, "SELECT pg_advisory_unlock(2026112101)").await;
    name
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A database of its own, dropped when the value is dropped.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A copy of the migrated, demo-seeded template.
    pub async fn seeded() -> Self {
        let template = ensure_template().await;
        Self::create(&format!("TEMPLATE \"{template}\"")).await
    }

    /// An empty database, no migrations run.
    pub async fn empty() -> Self {
        Self::create("").await
    }

    async fn create(options: &str) -> Self {
        let name = unique_name("bookstore_test");
        let mut admin = admin_connection().await;
        execute(&mut admin, &format!("CREATE DATABASE \"{name}\" {options}")).await;
        Self {
            url: database_url(&name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a short-lived runtime on its own thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                    }
                });
            }
        })
        .join();
    }
}
