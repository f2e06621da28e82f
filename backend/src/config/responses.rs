//! The response cache's and HTTP caching's knobs (flattened into
//! [`super::Config`]): how much memory whole answers to public queries may
//! take in process, and how long browsers and CDNs may keep a public
//! `GET /graphql` answer without asking again.

use std::time::Duration;

use super::values::seconds;
use clap::Args;

#[derive(Clone, Debug, Args)]
pub struct ResponsesConfig {
    /// Memory (MiB) for whole answers to public queries (the catalog), kept
    /// in process and dropped by the writes that change what they read, on
    /// every instance (Redis pub/sub). 0 turns it off; without Redis it is
    /// off.
    #[arg(
        long = "response-cache-mb",
        env = "RESPONSE_CACHE_MB",
        default_value_t = 24
    )]
    pub response_cache_mb: u64,
    /// `Cache-Control: public, max-age` of a public `GET /graphql` answer
    /// (seconds). 0 (the default): caches must revalidate (`ETag` → 304)
    /// every time, so none serves an answer older than the last write; a
    /// CDN in front may be given a few seconds instead.
    #[arg(long = "graphql-get-max-age-secs", env = "GRAPHQL_GET_MAX_AGE_SECS", default_value = "0", value_parser = seconds)]
    pub get_max_age: Duration,
}
