//! The cache's consistency knobs (flattened into [`super::Config`]): how
//! long a write keeps readers on the primary and refuses older copies, and
//! how long one instance may hold the right to load a missing entry. The
//! Redis URL, TTL, timeout and back-off stay in `Config` itself.

use std::time::Duration;

use super::values::{milliseconds, seconds};
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct CacheConfig {
    /// For this long after a write (seconds), the entries it changed are
    /// loaded from the primary, not the replica, and a read that began
    /// before the write cannot store its copy. Must exceed the read
    /// replica's worst lag.
    #[arg(
        long = "cache-recent-write-secs",
        env = "CACHE_RECENT_WRITE_SECS",
        default_value = "30",
        value_parser = seconds
    )]
    pub recent_write: Duration,
    /// When an entry is missing, one instance loads it from Postgres and
    /// the others wait for it up to this long (milliseconds) before loading
    /// it themselves (the stampede lease).
    #[arg(
        long = "cache-lease-ms",
        env = "CACHE_LEASE_MS",
        default_value = "1000",
        value_parser = milliseconds
    )]
    pub lease: Duration,
}
