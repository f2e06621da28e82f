//! The Redis cache in front of Postgres: key naming, read-through for the
//! DataLoaders (one MGET, then one pipelined SET for the misses), the one
//! invalidation function writes call, cached sessions, event counters for
//! throttling and the catalog's listing counts.
//!
//! Redis is an optimisation, never a dependency: every call is bounded by a
//! short timeout, a failure switches the cache off for a back-off period, and
//! both the outage and the recovery are logged once. It must never turn a
//! Redis problem into an error for the shopper.

mod client;
mod counts;
mod entities;
mod events;
mod keys;
mod sessions;

pub use client::{Cache, CacheStatus};
pub use counts::CountLookup;
pub use keys::{CACHE_VERSION, Entry, Kind};
pub use sessions::SESSION_TTL;
