//! The streaming read replica of the test Postgres, for tests that run the
//! app with `DATABASE_READ_URL`: built (or reused) by
//! `backend/tests/replica/setup.sh` on port 5433, or given as
//! `TEST_REPLICA_DATABASE_URL` (a server URL, like `TEST_DATABASE_URL`).
//!
//! Test databases are created on the primary and reach the replica by
//! replication: [`wait_for_replay`] waits until the replica has replayed
//! everything the primary had written. Pausing replay is global to the
//! replica, so tests that pause it hold [`exclusive`] meanwhile.

use std::time::{Duration, Instant};

use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::{Mutex, MutexGuard, OnceCell};

const SETUP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/replica/setup.sh");

/// The replica server's admin URL (its `postgres` database).
pub fn replica_admin_url() -> String {
    std::env::var("TEST_REPLICA_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5433/postgres".to_owned())
}

/// The URL of database `name` on the replica.
pub fn replica_database_url(name: &str) -> String {
    let admin = replica_admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

#[derive(diesel::QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Text)]
    lsn: String,
}

async fn in_recovery() -> bool {
    let Ok(mut conn) = AsyncPgConnection::establish(&replica_admin_url()).await else {
        return false;
    };
    diesel::sql_query("SELECT pg_is_in_recovery() AS flag")
        .get_result::<Flag>(&mut conn)
        .await
        .is_ok_and(|row| row.flag)
}

/// Makes sure the replica runs (once per test process): reuses a running
/// one, else runs the setup script (unless `TEST_REPLICA_DATABASE_URL`
/// names one, which must then be up). Panics saying how to start it.
pub async fn ensure_replica() {
    static READY: OnceCell<()> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            if in_recovery().await {
                return;
            }
            if std::env::var_os("TEST_REPLICA_DATABASE_URL").is_none() {
                let status = tokio::process::Command::new("bash")
                    .arg(SETUP)
                    .status()
                    .await;
                if status.as_ref().is_ok_and(|status| status.success()) && in_recovery().await {
                    return;
                }
            }
            panic!(
                "no streaming replica answers at {} (run `backend/tests/replica/setup.sh` \
                 as root or postgres: it builds one of the test Postgres on port 5433; or \
                 point TEST_REPLICA_DATABASE_URL at a standby of TEST_DATABASE_URL's server)",
                replica_admin_url()
            );
        })
        .await;
}

async fn lsn(url: &str, function: &str) -> u64 {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|error| panic!("{url}: {error}"));
    let row: Lsn = diesel::sql_query(format!("SELECT {function}::text AS lsn"))
        .get_result(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("{function}: {error}"));
    bookstore::db::replica::parse_lsn(&row.lsn).expect("a WAL position")
}

/// Waits until the replica has replayed everything the primary had written
/// when called (a database just created is then there). Panics after
/// `timeout`, e.g. when replay is paused.
pub async fn wait_for_replay(timeout: Duration) {
    let target = lsn(&crate::admin_url(), "pg_current_wal_lsn()").await;
    let started = Instant::now();
    loop {
        let replayed = lsn(&replica_admin_url(), "pg_last_wal_replay_lsn()").await;
        if replayed >= target {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "the replica replayed {replayed:x}, not {target:x}, within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Held by a test while it pauses replay (or otherwise needs the replica to
/// itself): tests of one process take turns.
pub async fn exclusive() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    TURN.lock().await
}

async fn on_replica(sql: &str) {
    let mut conn = AsyncPgConnection::establish(&replica_admin_url())
        .await
        .unwrap_or_else(|error| panic!("replica: {error}"));
    crate::execute(&mut conn, sql).await;
}

/// Stops the replica applying WAL (it keeps receiving it): from now on it
/// answers with what it had, however the primary changes.
pub async fn pause_replay() {
    on_replica("SELECT pg_wal_replay_pause()").await;
}

pub async fn resume_replay() {
    on_replica("SELECT pg_wal_replay_resume()").await;
}

/// Resumes replay when dropped, so a failing test leaves the replica
/// replaying for the next.
pub struct ReplayPause;

impl ReplayPause {
    pub async fn start() -> Self {
        pause_replay().await;
        Self
    }
}

impl Drop for ReplayPause {
    fn drop(&mut self) {
        let _ = std::thread::spawn(|| {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(resume_replay());
            }
        })
        .join();
    }
}
