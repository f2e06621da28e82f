//! The `job_runs` table: one row per periodic job, saying when its last
//! round started (on whichever instance) and how it ended. [`claim`] is
//! what keeps a round to one instance per interval fleet-wide; the row is
//! also what an operator reads to see whether the jobs run.
//!
//! Never runs a job and never holds a lock beyond its one statement: a
//! round runs with no transaction open on this table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::job_runs;

/// Whether this instance may run a round now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Claim {
    /// The round is ours: `last_started_at` moved to now.
    Started,
    /// A round started (here or elsewhere) less than an interval ago: the
    /// next one is due in `wait`.
    NotDue { wait: Duration },
}

#[derive(QueryableByName)]
struct ClaimRow {
    #[diesel(sql_type = Bool)]
    started: bool,
    #[diesel(sql_type = Double)]
    wait_secs: f64,
}

/// Starts a round of `name` if none started within `interval` (by the
/// database's clock, so instances' clocks do not matter). One statement:
/// of two instances claiming at once, the second waits for the first's row
/// lock, then sees its new `last_started_at` and does not start.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    name: &str,
    interval: Duration,
) -> QueryResult<Claim> {
    let row: ClaimRow = diesel::sql_query(
        "WITH claimed AS ( \
             INSERT INTO job_runs AS runs (name, last_started_at) VALUES ($1, now()) \
             ON CONFLICT (name) DO UPDATE \
                 SET last_started_at = now(), rounds = runs.rounds + 1 \
                 WHERE runs.last_started_at <= now() - make_interval(secs => $2) \
             RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM claimed) AS started, \
                coalesce((SELECT extract(epoch FROM last_started_at + make_interval(secs => $2) - now()) \
                          FROM job_runs WHERE name = $1), 0)::float8 AS wait_secs",
    )
    .bind::<Text, _>(name)
    .bind::<Double, _>(interval.as_secs_f64())
    .get_result(conn)
    .await?;
    if row.started {
        return Ok(Claim::Started);
    }
    // The row read is this statement's snapshot: when another instance's
    // claim committed meanwhile it is older than the truth, and the wait
    // is short (the next claim finds out). Never longer than an interval.
    let wait = Duration::try_from_secs_f64(row.wait_secs.max(0.0)).unwrap_or(interval);
    Ok(Claim::NotDue {
        wait: wait.min(interval),
    })
}

/// Records how the round of `name` that started last ended: `error` (None
/// when it succeeded) and how many rows it removed or resolved.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    name: &str,
    error: Option<&str>,
    count: Option<i64>,
) -> QueryResult<()> {
    let error = error.map(|error| error.chars().take(2000).collect::<String>());
    diesel::update(job_runs::table.find(name))
        .set((
            job_runs::last_finished_at.eq(diesel::dsl::now),
            job_runs::last_error.eq(error),
            job_runs::last_count.eq(count),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One job's row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = job_runs)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct JobRun {
    pub name: String,
    pub last_started_at: DateTime<Utc>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_count: Option<i64>,
    /// Rounds started, on every instance together.
    pub rounds: i64,
}

/// A job's row, if it ever ran.
pub async fn find(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<JobRun>> {
    job_runs::table
        .find(name)
        .select(JobRun::as_select())
        .first(conn)
        .await
        .optional()
}
