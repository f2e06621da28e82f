//! Invalidation that is never lost. Every write calls [`Cache::invalidate`]
//! after it commits: the entries' keys go, their stamps change (so a read
//! that began before the write cannot store its copy), and the listing
//! counts move to a new generation.
//!
//! When Redis cannot be reached (down, hung, or this instance backing off),
//! the invalidation is queued instead of skipped. Before this instance uses
//! Redis again it catches up: it replays the queue and replaces the cache's
//! generation, which retires every entry written before (other instances
//! may have stored old rows meanwhile). It does the same when Redis itself
//! restarted (it may have come back from an old snapshot). The breaker's
//! background prober runs the catch-up, so an idle instance catches up
//! too. Never decides what is stale: callers name the entries.

use redis::aio::ConnectionManager;

use super::client::Cache;
use super::fanout::Signal;
use super::keys::Entry;
use super::recovery::Owed;
use super::responses::tags_of;
use super::scripts::new_token;
use super::subscriber::FLUSH;

impl Cache {
    /// Forgets what a write made stale, on every instance: deletes the
    /// entities' keys and changes their stamps; for [`Entry::BookCounts`],
    /// moves the counts to a new generation. One round trip; queued for
    /// the catch-up if Redis cannot take it now.
    pub async fn invalidate(&self, entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        for entry in entries {
            if let Entry::Entity(kind, id) = entry {
                self.inner.flights.forget(&self.key(*kind, id));
            }
        }
        let tags = tags_of(entries);
        if !self.enabled() {
            // No Redis, so no other instance to tell: only this one's
            // subscriptions hear of it.
            self.broadcast(Signal::Changed(tags.into()));
            return;
        }
        let mut pipe = self.invalidation_pipe(entries);
        // After the deletions (a pipeline runs in order): an instance that
        // hears of the write finds the entries gone from Redis already.
        pipe.publish(
            self.invalidation_channel(),
            Self::invalidation_message(&tags),
        )
        .ignore();
        let done = self
            .run(|mut connection| async move { pipe.query_async::<()>(&mut connection).await })
            .await;
        if done.is_none() {
            // Replayed before this instance's next Redis call, or by the
            // prober (running already if the breaker is open) when idle.
            self.inner.recovery.enqueue(entries);
            self.owe_catch_up();
        }
        // Only now: a request of this instance starting earlier could still
        // have read the old entries from Redis.
        self.inner.responses.invalidate(&tags);
    }

    /// How many invalidations wait for Redis (for tests and `/readyz`).
    pub fn queued_invalidations(&self) -> usize {
        self.inner.recovery.queued()
    }

    fn invalidation_pipe(&self, entries: &[Entry]) -> redis::Pipeline {
        let window = self.inner.settings.recent_write.as_millis().max(1) as u64;
        let mut pipe = redis::pipe();
        for entry in entries {
            match entry {
                Entry::Entity(kind, id) => {
                    let key = self.key(*kind, id);
                    pipe.del(&[key.clone(), format!("{key}:lease")]).ignore();
                    pipe.cmd("SET")
                        .arg(format!("{key}:stamp"))
                        .arg(new_token())
                        .arg("PX")
                        .arg(window)
                        .ignore();
                }
                Entry::BookCounts => self.retire_counts(&mut pipe),
            }
        }
        pipe
    }

    /// Brings this instance up to date with Redis before it is used again;
    /// `false` if Redis failed meanwhile. Requests (`by_prober: false`)
    /// give up once the breaker is open: only the prober then tries.
    pub(super) async fn catch_up(
        &self,
        mut connection: ConnectionManager,
        by_prober: bool,
    ) -> bool {
        let recovery = &self.inner.recovery;
        let _one_at_a_time = recovery.catching_up.lock().await;
        let Some(target) = recovery.outstanding() else {
            return true;
        };
        if !by_prober && !self.inner.breaker.is_closed() {
            return false;
        }
        let Some(info) = self
            .bounded(
                redis::cmd("INFO")
                    .arg("server")
                    .query_async::<String>(&mut connection),
            )
            .await
        else {
            return false;
        };
        let run_id = info
            .lines()
            .find_map(|line| line.strip_prefix("run_id:"))
            .map(|id| id.trim().to_owned());
        let Some(Owed {
            missed,
            overflowed,
            run_id: previous,
        }) = recovery.owed()
        else {
            return false;
        };
        let restarted = previous.is_some() && previous != run_id;
        if overflowed || restarted || !missed.is_empty() {
            let entries: Vec<Entry> = missed.iter().map(|(entry, _)| *entry).collect();
            let mut pipe = self.invalidation_pipe(&entries);
            pipe.set(self.generation_key(), new_token()).ignore();
            self.retire_counts(&mut pipe);
            // Other instances heard nothing of the missed writes either.
            pipe.publish(self.invalidation_channel(), FLUSH).ignore();
            if self
                .bounded(pipe.query_async::<()>(&mut connection))
                .await
                .is_none()
            {
                return false;
            }
            tracing::info!(
                replayed = entries.len(),
                overflowed,
                restarted,
                "caught up with Redis: missed invalidations replayed, cached entries retired"
            );
        }
        recovery.caught_up(target, &missed, overflowed, run_id);
        true
    }
}
