//! Throttle counters kept in this process, beside Redis: what throttles
//! fall back on when Redis fails or hangs, so they never fail open. Fixed
//! windows like Redis's; bounded in size, so a flood of new keys cannot
//! grow memory: past the cap, expired counters go first, then the oldest.
//!
//! Never blocks on I/O and never holds its lock across an `.await`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Counter {
    count: i64,
    expires: Instant,
}

pub struct LocalCounts {
    counters: Mutex<HashMap<String, Counter>>,
    max_keys: usize,
}

impl LocalCounts {
    pub fn new(max_keys: usize) -> Self {
        Self {
            counters: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// Counts one event under `key` in a window starting at its first
    /// event; returns the count so far.
    pub fn count(&self, key: &str, window: Duration) -> i64 {
        let now = Instant::now();
        let Ok(mut counters) = self.counters.lock() else {
            return 0;
        };
        if !counters.contains_key(key) && counters.len() >= self.max_keys {
            make_room(&mut counters, self.max_keys, now);
        }
        let counter = counters.entry(key.to_owned()).or_insert(Counter {
            count: 0,
            expires: now + window,
        });
        if counter.expires <= now {
            *counter = Counter {
                count: 0,
                expires: now + window,
            };
        }
        counter.count += 1;
        counter.count
    }

    /// Takes one event back (never below zero).
    pub fn uncount(&self, key: &str) {
        if let Ok(mut counters) = self.counters.lock()
            && let Some(counter) = counters.get_mut(key)
        {
            counter.count = (counter.count - 1).max(0);
        }
    }

    pub fn reset(&self, key: &str) {
        if let Ok(mut counters) = self.counters.lock() {
            counters.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.counters.lock().map_or(0, |counters| counters.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops expired counters; if that is not enough, the tenth of the cap
/// that expires soonest (so the next inserts need no scan).
fn make_room(counters: &mut HashMap<String, Counter>, max_keys: usize, now: Instant) {
    counters.retain(|_, counter| counter.expires > now);
    if counters.len() < max_keys {
        return;
    }
    let drop = (max_keys / 10).max(1);
    let mut expiries: Vec<Instant> = counters.values().map(|counter| counter.expires).collect();
    let cut = drop.min(expiries.len()) - 1;
    let (_, threshold, _) = expiries.select_nth_unstable(cut);
    let threshold = *threshold;
    let mut dropped = 0;
    counters.retain(|_, counter| {
        if dropped < drop && counter.expires <= threshold {
            dropped += 1;
            false
        } else {
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_within_the_window_and_forgets_after() {
        let counts = LocalCounts::new(10);
        assert_eq!(counts.count("a", Duration::from_secs(60)), 1);
        assert_eq!(counts.count("a", Duration::from_secs(60)), 2);
        assert_eq!(counts.count("b", Duration::from_secs(60)), 1);
        counts.uncount("a");
        assert_eq!(counts.count("a", Duration::from_secs(60)), 2);
        counts.reset("a");
        assert_eq!(counts.count("a", Duration::from_secs(60)), 1);
        assert_eq!(counts.count("short", Duration::ZERO), 1);
        assert_eq!(counts.count("short", Duration::ZERO), 1, "window over");
    }

    #[test]
    fn a_flood_of_new_keys_stays_within_the_cap_and_drops_the_oldest() {
        let counts = LocalCounts::new(1000);
        counts.count("victim", Duration::from_secs(900));
        counts.count("victim", Duration::from_secs(900));
        for n in 0..100_000 {
            counts.count(&format!("flood{n}"), Duration::from_secs(3600));
            assert!(counts.len() <= 1000);
        }
        // The victim's counter expired soonest, so it went first; recent
        // flood keys are still counted.
        assert_eq!(counts.count("flood99999", Duration::from_secs(3600)), 2);
    }
}
