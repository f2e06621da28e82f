//! Automatic persisted queries (flattened into [`super::Config`]): whether
//! clients may send a query's SHA-256 instead of its text, how long Redis
//! keeps a text, and how much text each instance keeps in memory.
//!
//! Owns only these variables; the protocol is `http::persisted`'s, the
//! store `cache::persisted`'s.

use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;

use super::values::seconds;

#[derive(Clone, Debug, Args)]
pub struct PersistedConfig {
    /// Accept Apollo's automatic persisted queries (`extensions.persistedQuery`
    /// with a SHA-256). Off: a request carrying only a hash gets
    /// `PERSISTED_QUERY_NOT_SUPPORTED` (clients then send the text).
    #[arg(
        long = "persisted-queries",
        env = "PERSISTED_QUERIES",
        default_value = "true",
        value_parser = BoolishValueParser::new(),
        action = clap::ArgAction::Set
    )]
    pub enabled: bool,
    /// How long Redis keeps a registered query text (seconds), shared by
    /// every instance; a client whose hash expired sends the text again.
    #[arg(
        long = "persisted-query-ttl-secs",
        env = "PERSISTED_QUERY_TTL_SECS",
        default_value = "86400",
        value_parser = seconds
    )]
    pub ttl: Duration,
    /// Bytes of query text each instance keeps in memory in front of Redis
    /// (the least used go first).
    #[arg(
        long = "persisted-query-cache-bytes",
        env = "PERSISTED_QUERY_CACHE_BYTES",
        default_value_t = 8 * 1024 * 1024
    )]
    pub cache_bytes: u64,
}
