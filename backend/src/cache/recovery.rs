//! What an instance owes Redis after an outage: the invalidations it could
//! not deliver, whether there were too many to remember, and which Redis
//! server it last caught up with. Book-keeping only: the catch-up itself
//! (`invalidation`) talks to Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::keys::Entry;

/// Beyond this many queued entries, the queue is dropped: replacing the
/// generation alone retires everything anyway.
const MAX_QUEUED: usize = 10_000;

pub(super) struct Recovery {
    /// Bumped whenever this instance may have missed something.
    required: AtomicU64,
    /// The last `required` value a catch-up covered.
    covered: AtomicU64,
    queue: Mutex<Queue>,
    /// One catch-up at a time; other calls wait for it (bounded).
    pub(super) catching_up: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Queue {
    /// Each missed entry with the number of the miss that queued it last.
    entries: HashMap<Entry, u64>,
    overflowed: bool,
    next: u64,
    /// The Redis server this instance last caught up with.
    run_id: Option<String>,
}

/// A copy of what is owed, for one catch-up.
pub(super) struct Owed {
    pub missed: Vec<(Entry, u64)>,
    pub overflowed: bool,
    pub run_id: Option<String>,
}

impl Default for Recovery {
    fn default() -> Self {
        // A new instance has not met this Redis yet: its first call checks.
        Self {
            required: AtomicU64::new(1),
            covered: AtomicU64::new(0),
            queue: Mutex::default(),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }
}

impl Recovery {
    pub(super) fn needed(&self) -> bool {
        self.outstanding().is_some()
    }

    /// The requirement a catch-up starting now must cover, if any.
    pub(super) fn outstanding(&self) -> Option<u64> {
        let required = self.required.load(Ordering::Acquire);
        (required > self.covered.load(Ordering::Acquire)).then_some(required)
    }

    pub(super) fn require(&self) {
        self.required.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn enqueue(&self, entries: &[Entry]) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.next += 1;
            let number = queue.next;
            if !queue.overflowed {
                for entry in entries {
                    queue.entries.insert(*entry, number);
                }
                if queue.entries.len() > MAX_QUEUED {
                    queue.overflowed = true;
                    queue.entries.clear();
                }
            }
        }
        self.require();
    }

    /// How many entries are queued.
    pub(super) fn queued(&self) -> usize {
        self.queue
            .lock()
            .map(|queue| queue.entries.len())
            .unwrap_or(0)
    }

    pub(super) fn owed(&self) -> Option<Owed> {
        let queue = self.queue.lock().ok()?;
        Some(Owed {
            missed: queue
                .entries
                .iter()
                .map(|(entry, number)| (*entry, *number))
                .collect(),
            overflowed: queue.overflowed,
            run_id: queue.run_id.clone(),
        })
    }

    /// A catch-up for `target` delivered `missed`: forget them (unless
    /// missed again since) and, if nothing is left, mark `target` covered.
    pub(super) fn caught_up(
        &self,
        target: u64,
        missed: &[(Entry, u64)],
        overflowed: bool,
        run_id: Option<String>,
    ) {
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        for (entry, number) in missed {
            if queue.entries.get(entry) == Some(number) {
                queue.entries.remove(entry);
            }
        }
        queue.run_id = run_id;
        if overflowed {
            queue.overflowed = false;
        }
        if queue.entries.is_empty() && !queue.overflowed {
            self.covered.fetch_max(target, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::Kind;

    #[test]
    fn a_miss_queued_during_a_catch_up_is_still_owed_after_it() {
        let recovery = Recovery::default();
        let book = Entry::Entity(Kind::Book, 1);
        recovery.enqueue(&[book]);
        let target = recovery.outstanding().unwrap();
        let owed = recovery.owed().unwrap();
        // The same entry missed again while the catch-up runs.
        recovery.enqueue(&[book]);
        recovery.caught_up(target, &owed.missed, owed.overflowed, None);
        assert_eq!(recovery.queued(), 1);
        assert!(recovery.needed());
        let target = recovery.outstanding().unwrap();
        let owed = recovery.owed().unwrap();
        recovery.caught_up(target, &owed.missed, owed.overflowed, None);
        assert!(!recovery.needed());
    }
}
