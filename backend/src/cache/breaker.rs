//! Whether requests may use Redis: closed (yes) or open (a call failed:
//! every request skips Redis). Requests never probe an open breaker: a
//! background prober (`Cache::probe_until_back`) tries Redis once per
//! back-off and closes the breaker only after the instance caught up, so a
//! hung Redis delays only the requests in flight when it stopped answering.
//! The outage and the recovery are each logged once. Never talks to Redis.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(super) struct Breaker {
    backoff: Duration,
    open: Mutex<bool>,
    prober_running: AtomicBool,
}

impl Breaker {
    pub(super) fn new(backoff: Duration) -> Self {
        Self {
            backoff,
            open: Mutex::new(false),
            prober_running: AtomicBool::new(false),
        }
    }

    /// How long the prober waits between attempts.
    pub(super) fn backoff(&self) -> Duration {
        self.backoff.max(Duration::from_millis(10))
    }

    pub(super) fn is_closed(&self) -> bool {
        self.open.lock().map(|open| !*open).unwrap_or(false)
    }

    /// A call failed: open (logged once per outage). `true` if the caller
    /// must start the prober (none is running).
    pub(super) fn failed(&self, reason: &str) -> bool {
        let was_open = self
            .open
            .lock()
            .map(|mut open| std::mem::replace(&mut *open, true))
            .unwrap_or(true);
        if !was_open {
            tracing::warn!(
                reason,
                backoff = ?self.backoff,
                "Redis unavailable: serving from Postgres and retrying Redis after each back-off"
            );
        }
        self.claim_prober()
    }

    /// `true` if the caller is now the one prober.
    pub(super) fn claim_prober(&self) -> bool {
        !self.prober_running.swap(true, Ordering::AcqRel)
    }

    /// The prober got through (and the instance caught up): close.
    pub(super) fn recovered(&self) {
        let was_open = self
            .open
            .lock()
            .map(|mut open| std::mem::replace(&mut *open, false))
            .unwrap_or(false);
        if was_open {
            tracing::info!("Redis is answering again: cache re-enabled");
        }
    }

    /// The prober ended.
    pub(super) fn prober_stopped(&self) {
        self.prober_running.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prober_per_outage_and_requests_skip_until_it_succeeds() {
        let breaker = Breaker::new(Duration::ZERO);
        assert!(breaker.is_closed());
        assert!(
            breaker.failed("test"),
            "the first failure starts the prober"
        );
        assert!(!breaker.failed("again"), "one prober at a time");
        assert!(!breaker.is_closed());
        breaker.recovered();
        breaker.prober_stopped();
        assert!(breaker.is_closed());
        assert!(breaker.failed("later"), "a new outage, a new prober");
    }
}
