//! The Redis cache in front of Postgres: key naming, read-through for the
//! DataLoaders (single-flight, leases, stamped stores), the one invalidation
//! function writes call, event counters for throttling, the catalog's
//! listing counts, the texts of persisted queries (`persisted`), and the
//! live events subscriptions listen to (`fanout`).
//! Sessions are not cached: Postgres answers for every request, so a
//! revoked session is refused whatever Redis did.
//!
//! Redis is an optimisation, never a dependency: every call is bounded by a
//! short timeout, a failure (an error, or timeouts several in a row: see
//! `breaker`) switches the cache off for a back-off period (then one call
//! probes), invalidations missed or timed out are replayed and the entries
//! from before retired, and both the outage and the recovery are logged
//! once. It must never turn a Redis problem into an error for the shopper,
//! nor serve a value older than the last committed write for longer than
//! one request.

mod breaker;
mod client;
mod counts;
mod entities;
mod events;
mod fanout;
mod flights;
mod invalidation;
mod keys;
mod persisted;
mod recovery;
mod responses;
mod scripts;
mod subscriber;

pub use client::{Cache, CacheSettings, CacheStatus};
pub use counts::CountLookup;
pub use entities::Source;
pub use fanout::Signal;
pub use keys::{CACHE_VERSION, Entry, Kind};
pub use persisted::{PersistedQueries, QueryHash};
pub use responses::{Cached, Lookup, ReadTags, ResponseCache, Tag, Ticket};
