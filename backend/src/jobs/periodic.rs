//! The periodic jobs, in one runner: the payment sweeper
//! ([`super::sweeper`]), and the cleanups that keep tables small — expired
//! sessions, abandoned carts, old checkout idempotency records, finished
//! outbox messages, expired account tokens. `bookstore serve` starts it
//! ([`spawn`]); so does `bookstore worker`.
//!
//! Each job runs on its own interval (`config::jobs`, and
//! `PAYMENT_SWEEP_INTERVAL_SECS` for the sweeper) in its own task: a slow,
//! failing or panicking job never delays another, and a round that fails is
//! logged (and kept in `job_runs.last_error`) and tried again an interval
//! later. Every backend runs the runner, but a round runs on one instance
//! per interval fleet-wide: it starts only on the instance whose
//! [`db::job_runs::claim`] moved the job's `last_started_at` forward (by the
//! database's clock); the others sleep until the next round is due. A round
//! that outlives its interval may overlap the next one elsewhere: every
//! job is safe with that (the sweeper claims its orders with `SKIP LOCKED`;
//! the cleanups delete rows that stay deletable).
//!
//! Deletes go in batches of [`BATCH`] rows, each on a freshly checked-out
//! connection, so a big backlog never holds many locks or a connection for
//! long, and rows a request holds locked are skipped, never waited for.
//! Never holds a connection across a payment gateway call (the sweeper
//! takes care of its own).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::future::join_all;

use crate::app::AppState;
use crate::cache::Cache;
use crate::config::Config;
use crate::config::checkout::CheckoutConfig;
use crate::config::jobs::JobsConfig;
use crate::db::job_runs::Claim;
use crate::db::{self, Db};
use crate::error::Error;
use crate::payments::PaymentGateway;

use super::Task;

/// Rows one delete statement removes at most.
pub const BATCH: i64 = 1000;

/// A periodic job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// Resolves orders left awaiting payment (`jobs::sweeper`).
    PaymentSweeper,
    /// Deletes sessions expired absolutely or by idleness.
    ExpiredSessions,
    /// Deletes open carts untouched for `CART_RETENTION_DAYS` (guests) or
    /// `CUSTOMER_CART_RETENTION_DAYS` (customers).
    AbandonedCarts,
    /// Deletes idempotency records older than `IDEMPOTENCY_RETENTION_HOURS`.
    IdempotencyRecords,
    /// Deletes sent and dead outbox messages older than
    /// `OUTBOX_RETENTION_DAYS`.
    FinishedOutbox,
    /// Deletes expired email-verification and password-reset tokens.
    ExpiredAccountTokens,
}

impl Job {
    pub const ALL: [Job; 6] = [
        Job::PaymentSweeper,
        Job::ExpiredSessions,
        Job::AbandonedCarts,
        Job::IdempotencyRecords,
        Job::FinishedOutbox,
        Job::ExpiredAccountTokens,
    ];

    /// Its name in `job_runs` and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Job::PaymentSweeper => "payment_sweeper",
            Job::ExpiredSessions => "expired_sessions",
            Job::AbandonedCarts => "abandoned_carts",
            Job::IdempotencyRecords => "idempotency_records",
            Job::FinishedOutbox => "finished_outbox",
            Job::ExpiredAccountTokens => "expired_account_tokens",
        }
    }
}

/// What the jobs need: the pools, the cache (the sweeper invalidates stock),
/// the payment gateway (the sweeper asks it) and their settings.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    cache: Cache,
    gateway: Arc<dyn PaymentGateway>,
    checkout: CheckoutConfig,
    session_idle: Duration,
    jobs: JobsConfig,
}

/// Starts every job that has an interval on this instance, each in its own
/// task; dropping the returned tasks stops them (they never end on their
/// own). What `bookstore serve` and `bookstore worker` call.
pub fn spawn(state: &AppState, config: &Config) -> Vec<Task> {
    Runner::new(
        state.db.clone(),
        state.cache.clone(),
        state.gateway.clone(),
        config,
    )
    .spawn()
}

impl Runner {
    pub fn new(db: Db, cache: Cache, gateway: Arc<dyn PaymentGateway>, config: &Config) -> Self {
        Self {
            db,
            cache,
            gateway,
            checkout: config.checkout.clone(),
            session_idle: config.session_idle,
            jobs: config.jobs.clone(),
        }
    }

    /// How often `job` runs fleet-wide; zero: not on this instance.
    pub fn interval(&self, job: Job) -> Duration {
        match job {
            Job::PaymentSweeper => self.checkout.sweep_interval,
            Job::ExpiredSessions => self.jobs.session_sweep_interval,
            Job::AbandonedCarts => self.jobs.cart_sweep_interval,
            Job::IdempotencyRecords => self.jobs.idempotency_sweep_interval,
            Job::FinishedOutbox => self.jobs.outbox_sweep_interval,
            Job::ExpiredAccountTokens => self.jobs.account_token_sweep_interval,
        }
    }

    /// Starts one task per job with a non-zero interval (stopped when
    /// dropped).
    pub fn spawn(self) -> Vec<Task> {
        Job::ALL
            .into_iter()
            .filter(|job| {
                let on = !self.interval(*job).is_zero();
                if !on {
                    tracing::info!(
                        job = job.name(),
                        "periodic job off on this instance (interval 0)"
                    );
                }
                on
            })
            .map(|job| Task::spawn(self.clone().run_forever(job)))
            .collect()
    }

    /// Every job once, concurrently, each only if due fleet-wide (see
    /// [`Runner::run_once`]); one failing does not stop the others.
    pub async fn run_all_once(&self) -> Vec<(Job, Result<Option<u64>, Error>)> {
        join_all(
            Job::ALL
                .into_iter()
                .map(async |job| (job, self.run_once(job).await)),
        )
        .await
    }

    /// Runs a round of `job` if no instance started one within its interval,
    /// and records how it ended in `job_runs`. `Ok(None)`: not due.
    /// `Ok(Some(count))`: rows removed or orders resolved.
    pub async fn run_once(&self, job: Job) -> Result<Option<u64>, Error> {
        match self.claim(job).await? {
            Claim::NotDue { .. } => Ok(None),
            Claim::Started => {
                let result = self.round(job).await;
                self.record(job, &result).await;
                result.map(Some)
            }
        }
    }

    /// One round of `job`, now, whatever ran when (no claim: what
    /// [`Runner::run_once`] runs once it won the claim).
    pub async fn round(&self, job: Job) -> Result<u64, Error> {
        match job {
            Job::PaymentSweeper => {
                let swept = super::sweeper::sweep_once(
                    &self.db,
                    &self.cache,
                    self.gateway.as_ref(),
                    self.checkout.effective_sweep_age(),
                )
                .await?;
                if swept.unresolved > 0 {
                    tracing::warn!(?swept, "payment sweeper left orders for the next round");
                }
                Ok(u64::try_from(swept.paid + swept.cancelled).unwrap_or(u64::MAX))
            }
            _ => self.delete_in_batches(job).await,
        }
    }

    async fn claim(&self, job: Job) -> Result<Claim, Error> {
        let interval = self.interval(job);
        let mut conn = self.db.primary().await?;
        Ok(db::job_runs::claim(&mut conn, job.name(), interval).await?)
    }

    /// Keeps the round's outcome in `job_runs` (for operators); a failure to
    /// is only logged.
    async fn record(&self, job: Job, result: &Result<u64, Error>) {
        let (error, count) = match result {
            Ok(count) => (None, Some(i64::try_from(*count).unwrap_or(i64::MAX))),
            Err(error) => (Some(round_error(error)), None),
        };
        let recorded = async {
            let mut conn = self.db.primary().await?;
            db::job_runs::finish(&mut conn, job.name(), error.as_deref(), count).await?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(error) = recorded {
            tracing::warn!(job = job.name(), %error, "could not record a periodic job's round");
        }
    }

    /// Loops forever: claims `job`, runs the round when it won, sleeps
    /// until the next one is due.
    async fn run_forever(self, job: Job) {
        let interval = self.interval(job);
        tracing::info!(job = job.name(), ?interval, "periodic job started");
        loop {
            let wait = match self.claim(job).await {
                Ok(Claim::Started) => {
                    // Its own task, so a panicking round is caught here
                    // and the job goes on next interval.
                    let runner = self.clone();
                    let result = tokio::spawn(async move { runner.round(job).await })
                        .await
                        .unwrap_or_else(|panic| {
                            Err(Error::Internal(anyhow::anyhow!(
                                "the round panicked: {panic}"
                            )))
                        });
                    match &result {
                        Ok(0) => {
                            tracing::debug!(job = job.name(), "periodic job round: nothing to do")
                        }
                        Ok(count) => {
                            tracing::info!(job = job.name(), count, "periodic job round done")
                        }
                        Err(error) => {
                            tracing::warn!(job = job.name(), error = %round_error(error), "periodic job round failed; will retry next interval")
                        }
                    }
                    self.record(job, &result).await;
                    interval
                }
                Ok(Claim::NotDue { wait }) => wait,
                Err(error) => {
                    tracing::warn!(job = job.name(), %error, "could not claim a periodic job's round; will retry next interval");
                    interval
                }
            };
            // Never a busy loop, however the clocks disagree.
            tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
        }
    }

    /// Deletes what `job` removes, a batch at a time, until a batch comes
    /// back short. The cut-offs are fixed at the round's start.
    async fn delete_in_batches(&self, job: Job) -> Result<u64, Error> {
        let now = Utc::now();
        let mut total: u64 = 0;
        loop {
            let deleted = {
                let mut conn = self.db.primary().await?;
                self.delete_batch(job, &mut conn, now).await?
            };
            total += u64::try_from(deleted).unwrap_or(u64::MAX);
            if i64::try_from(deleted).unwrap_or(i64::MAX) < BATCH {
                return Ok(total);
            }
        }
    }

    async fn delete_batch(
        &self,
        job: Job,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        let deleted = match job {
            Job::ExpiredSessions => {
                db::sessions::delete_expired(conn, before(now, self.session_idle)?, BATCH).await?
            }
            Job::AbandonedCarts => {
                db::carts::delete_abandoned(
                    conn,
                    before(now, self.jobs.cart_retention)?,
                    before(now, self.jobs.customer_cart_retention)?,
                    BATCH,
                )
                .await?
            }
            Job::IdempotencyRecords => {
                db::reservations::delete_expired_keys(
                    conn,
                    before(now, self.jobs.idempotency_retention)?,
                    BATCH,
                )
                .await?
            }
            Job::FinishedOutbox => {
                db::outbox::delete_finished(conn, before(now, self.jobs.outbox_retention)?, BATCH)
                    .await?
            }
            // Unbatched (one statement): the table holds at most a few
            // live tokens per account, and the job keeps it that way.
            Job::ExpiredAccountTokens => db::account_tokens::delete_expired(conn, now).await?,
            Job::PaymentSweeper => 0,
        };
        Ok(deleted)
    }
}

/// `now - age`, or an error for an age too long to subtract.
fn before(now: DateTime<Utc>, age: Duration) -> Result<DateTime<Utc>, Error> {
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .context("a retention too long to subtract from now")
        .map_err(Error::Internal)
}

/// A round's error with its cause (`Error`'s own text hides internal
/// causes from clients; operators need them).
fn round_error(error: &Error) -> String {
    match error {
        Error::Database(cause) => format!("database: {cause}"),
        Error::Pool(cause) => format!("connection pool: {cause}"),
        Error::Internal(cause) => format!("{cause:#}"),
        other => other.to_string(),
    }
}
