//! The read replica's health and freshness, watched by one probe task per
//! `Db`: every [`PROBE_EVERY`] it samples the primary's WAL position
//! (`pg_current_wal_lsn()`) and then the replica's replayed one
//! (`pg_last_wal_replay_lsn()`), on two connections of its own (not the
//! pools', so the statement counts stay the requests'). From those it keeps:
//!
//! - `replayed`: how far the replica had replayed (read-your-writes compares
//!   a session's last write with it);
//! - `caught_up_at`: the latest moment whose primary position the replica
//!   has replayed: it holds every commit made before then;
//! - `usable`: it answered the last probe within [`PROBE_TIMEOUT`] and its
//!   lag (now − `caught_up_at`) is below the allowed maximum. Otherwise reads
//!   go to the primary until it answers and catches up again. A replica as
//!   far behind as that is treated as down: what the caches store from it
//!   must never be older than the writes they were told about.
//!
//! Never runs a request's query; never decides what a caller reads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection};

/// How often the replica is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(200);
/// A probe unanswered this long counts as the replica being down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Primary positions kept while the replica is behind all of them.
const MAX_SAMPLES: usize = 512;

/// What the probe last found, shared with every clone of the `Db`.
#[derive(Debug)]
pub struct ReplicaStatus {
    usable: AtomicBool,
    replayed: AtomicU64,
    /// Bumped each time the replica becomes usable again (the pool is then
    /// rebuilt: its old connections died with the outage).
    recoveries: AtomicU64,
}

impl ReplicaStatus {
    fn new() -> Self {
        Self {
            // Until the first probe answers, reads go to the primary.
            usable: AtomicBool::new(false),
            replayed: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
        }
    }

    /// Whether reads may go to the replica now.
    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Acquire)
    }

    /// The WAL position the replica had replayed at the last probe
    /// (`u64::MAX` when the read URL is not a standby at all).
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Acquire)
    }

    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Acquire)
    }

    /// A read found the replica gone before the probe did.
    pub fn mark_down(&self) {
        if self.usable.swap(false, Ordering::AcqRel) {
            tracing::warn!("the read replica failed a request: reads go to the primary");
        }
    }
}

/// A WAL position as Postgres prints it (`16/B374D848`), as a number.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX)).then_some(high << 32 | low)
}

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Nullable<Text>)]
    lsn: Option<String>,
}

/// Starts the probe (on the current Tokio runtime; without one, the replica
/// is never used). It ends when the last `Db` holding `status` is dropped.
pub fn watch(primary_url: &str, replica_url: &str, max_lag: Duration) -> Arc<ReplicaStatus> {
    let status = Arc::new(ReplicaStatus::new());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let probe = Probe {
            primary_url: primary_url.to_owned(),
            replica_url: replica_url.to_owned(),
            max_lag,
            status: Arc::downgrade(&status),
            primary: None,
            replica: None,
            samples: VecDeque::new(),
        };
        runtime.spawn(probe.run());
    } else {
        tracing::warn!("no runtime to watch the read replica: reads go to the primary");
    }
    status
}

struct Probe {
    primary_url: String,
    replica_url: String,
    max_lag: Duration,
    status: Weak<ReplicaStatus>,
    primary: Option<AsyncPgConnection>,
    replica: Option<AsyncPgConnection>,
    /// Recent primary positions, oldest first.
    samples: VecDeque<(Instant, u64)>,
}

impl Probe {
    async fn run(mut self) {
        let mut ticks = tokio::time::interval(PROBE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(status) = self.status.upgrade() else {
                return;
            };
            let usable = self.probe(&status).await;
            if usable && !status.usable.swap(true, Ordering::AcqRel) {
                status.recoveries.fetch_add(1, Ordering::AcqRel);
                tracing::info!("the read replica answers and is caught up: catalog reads use it");
            } else if !usable && status.usable.swap(false, Ordering::AcqRel) {
                tracing::warn!(
                    "the read replica is down or lags more than {:?}: reads go to the primary",
                    self.max_lag
                );
            }
        }
    }

    /// One round: whether the replica may serve reads now.
    async fn probe(&mut self, status: &ReplicaStatus) -> bool {
        let started = Instant::now();
        // The primary away: nothing to compare with, so no new sample.
        if let Some(Some(lsn)) =
            position(&mut self.primary, &self.primary_url, "pg_current_wal_lsn()").await
        {
            self.samples.push_back((started, lsn));
        }
        let replayed = match position(
            &mut self.replica,
            &self.replica_url,
            "pg_last_wal_replay_lsn()",
        )
        .await
        {
            None => return false,
            // Not a standby (the read URL names a primary): always current.
            Some(None) => {
                status.replayed.store(u64::MAX, Ordering::Release);
                self.samples.clear();
                return true;
            }
            Some(Some(lsn)) => lsn,
        };
        status.replayed.store(replayed, Ordering::Release);
        // The newest sample the replica has replayed: it holds every commit
        // made before that sample was taken.
        let caught_up = self.samples.iter().rposition(|(_, lsn)| *lsn <= replayed);
        let Some(index) = caught_up else {
            // Behind every sample kept (the oldest is the last catch-up, or
            // the first probe): lagging at least that long. While it stays
            // behind, middle samples make way (the estimate only gets
            // more cautious).
            if self.samples.len() > MAX_SAMPLES {
                self.samples.remove(1);
            }
            return false;
        };
        self.samples.drain(..index);
        self.samples
            .front()
            .is_some_and(|(caught_up_at, _)| caught_up_at.elapsed() < self.max_lag)
    }
}

/// `SELECT <function>::text` on a probe connection, (re)connecting as
/// needed; `None` when the server did not answer in time (the connection
/// is then dropped), `Some(None)` for a NULL position.
async fn position(
    slot: &mut Option<AsyncPgConnection>,
    url: &str,
    function: &str,
) -> Option<Option<u64>> {
    let query = format!("SELECT {function}::text AS lsn");
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        if slot.is_none() {
            *slot = Some(AsyncPgConnection::establish(url).await.ok()?);
        }
        let conn = slot.as_mut()?;
        diesel_async::RunQueryDsl::get_result::<Lsn>(diesel::sql_query(&query), conn)
            .await
            .ok()
    })
    .await;
    match answer {
        Ok(Some(row)) => Some(row.lsn.as_deref().and_then(parse_lsn)),
        _ => {
            *slot = None;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_lsn;

    #[test]
    fn wal_positions_parse_as_postgres_prints_them() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("FFFFFFFF/FFFFFFFF"), Some(u64::MAX));
        assert_eq!(parse_lsn("1/2/3"), None);
        assert_eq!(parse_lsn("x/1"), None);
        assert_eq!(parse_lsn("100000000/0"), None);
    }
}
