//! Whether requests may use Redis: closed (yes) or open (every request
//! skips Redis). A refused or broken connection, or any error Redis
//! answers, opens it at once. A timeout alone does not: under CPU
//! contention one slow reply (or a burst of calls stalled together) says
//! little, and opening would send every request to Postgres for a whole
//! back-off. Timeouts open it only when they come in a row: several calls,
//! each sent after the previous counted one had timed out, none answered in
//! between (a Redis that really hangs fails that within a few timeouts).
//!
//! Requests never probe an open breaker: a background prober
//! (`Cache::start_prober`) tries Redis once per back-off and closes the
//! breaker only after the instance caught up, so a hung Redis delays only
//! the requests in flight when it stopped answering. The outage and the
//! recovery are each logged once. Never talks to Redis.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub(super) struct Breaker {
    backoff: Duration,
    /// Timeouts in a row that open the breaker (at least 1).
    timeouts_to_open: u32,
    open: Mutex<bool>,
    prober_running: AtomicBool,
    streak: Mutex<Streak>,
    /// `streak.count`, readable without the lock (the answered path).
    streak_count: AtomicU32,
}

/// The timeouts in a row since Redis last answered.
#[derive(Default)]
struct Streak {
    count: u32,
    /// When the last counted timeout happened: calls sent before it stalled
    /// with it and do not count again.
    last: Option<Instant>,
}

/// What a timed-out call means for the breaker.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Timeout {
    /// Part of a stall already counted: nothing new.
    SameStall,
    /// Counted; fewer than the limit in a row (the count so far).
    Counted(u32),
    /// The limit in a row: Redis hangs, open.
    Open,
}

impl Breaker {
    pub(super) fn new(backoff: Duration, timeouts_to_open: u32) -> Self {
        Self {
            backoff,
            timeouts_to_open: timeouts_to_open.max(1),
            open: Mutex::new(false),
            prober_running: AtomicBool::new(false),
            streak: Mutex::default(),
            streak_count: AtomicU32::new(0),
        }
    }

    /// How long the prober waits between attempts.
    pub(super) fn backoff(&self) -> Duration {
        self.backoff.max(Duration::from_millis(10))
    }

    pub(super) fn is_closed(&self) -> bool {
        self.open.lock().map(|open| !*open).unwrap_or(false)
    }

    /// Redis answered a call: any streak of timeouts ends.
    pub(super) fn answered(&self) {
        if self.streak_count.load(Ordering::Relaxed) != 0 {
            self.end_streak();
        }
    }

    /// A call sent at `sent` got no answer within the timeout. Counts it
    /// unless it stalled together with a timeout already counted; says
    /// whether the breaker must open (the caller then calls [`Self::failed`]).
    pub(super) fn timed_out(&self, sent: Instant) -> Timeout {
        let Ok(mut streak) = self.streak.lock() else {
            return Timeout::Open;
        };
        if streak.last.is_some_and(|last| sent < last) {
            return Timeout::SameStall;
        }
        streak.count += 1;
        streak.last = Some(Instant::now());
        self.streak_count.store(streak.count, Ordering::Relaxed);
        if streak.count >= self.timeouts_to_open {
            Timeout::Open
        } else {
            Timeout::Counted(streak.count)
        }
    }

    fn end_streak(&self) {
        if let Ok(mut streak) = self.streak.lock() {
            *streak = Streak::default();
            self.streak_count.store(0, Ordering::Relaxed);
        }
    }

    /// A call failed: open (logged once per outage). `true` if the caller
    /// must start the prober (none is running).
    pub(super) fn failed(&self, reason: &str) -> bool {
        self.end_streak();
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
        self.end_streak();
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
        let breaker = Breaker::new(Duration::ZERO, 3);
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

    #[test]
    fn timeouts_open_only_in_a_row_and_an_answer_ends_the_row() {
        let breaker = Breaker::new(Duration::ZERO, 3);
        for _ in 0..5 {
            assert_eq!(breaker.timed_out(Instant::now()), Timeout::Counted(1));
            assert_eq!(breaker.timed_out(Instant::now()), Timeout::Counted(2));
            breaker.answered();
        }
        assert_eq!(breaker.timed_out(Instant::now()), Timeout::Counted(1));
        assert_eq!(breaker.timed_out(Instant::now()), Timeout::Counted(2));
        assert_eq!(breaker.timed_out(Instant::now()), Timeout::Open);
    }

    #[test]
    fn calls_that_stalled_together_count_once() {
        let breaker = Breaker::new(Duration::ZERO, 2);
        // Thirty calls in flight when Redis (or this process) stalled.
        let sent = Instant::now();
        assert_eq!(breaker.timed_out(sent), Timeout::Counted(1));
        for _ in 0..29 {
            assert_eq!(breaker.timed_out(sent), Timeout::SameStall);
        }
        // A call sent after that stall and timing out too: the second in a row.
        assert_eq!(breaker.timed_out(Instant::now()), Timeout::Open);
    }

    #[test]
    fn a_limit_of_one_opens_at_the_first_timeout() {
        let breaker = Breaker::new(Duration::ZERO, 0);
        assert_eq!(breaker.timed_out(Instant::now()), Timeout::Open);
    }
}
