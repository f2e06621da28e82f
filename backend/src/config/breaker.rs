//! When a slow Redis switches the cache off (flattened into
//! [`super::Config`]). An error (refused, broken connection) switches it
//! off at once; timeouts only several in a row, so one slow reply under CPU
//! contention does not send every request to Postgres for a back-off.
//!
//! Owns only this variable; the counting is `cache::breaker`'s.

use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct BreakerConfig {
    /// Redis timeouts in a row that start the back-off: each counted call
    /// was sent after the previous one timed out, and none was answered in
    /// between (calls that stall together count once). 1 restores "any
    /// timeout starts the back-off".
    #[arg(
        long = "redis-timeouts-to-backoff",
        env = "REDIS_TIMEOUTS_TO_BACKOFF",
        default_value_t = BreakerConfig::DEFAULT_TIMEOUTS_TO_BACKOFF,
        value_parser = clap::value_parser!(u32).range(1..=100)
    )]
    pub timeouts_to_backoff: u32,
}

impl BreakerConfig {
    pub const DEFAULT_TIMEOUTS_TO_BACKOFF: u32 = 3;
}
