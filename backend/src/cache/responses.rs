//! The response cache: whole answers to public queries, kept in process,
//! keyed by the request's exact bytes (the POST body, or the GET query
//! string) and tagged with everything the answer read (each entity a
//! loader returned, and `Catalog` for anything read from the catalog's
//! tables directly: listings, counts, lookups by slug or ISBN).
//!
//! Freshness, without asking Redis per request:
//! - every invalidation (this instance's writes, and every other
//!   instance's through Redis pub/sub, see `subscriber`) moves an epoch
//!   and stamps its tags with it;
//! - an answer is stored with the epoch its request started in, and
//!   served only while none of its tags was stamped later: an answer
//!   computed from rows a write has since replaced is never served, even
//!   when the write landed while the answer was being computed;
//! - while this instance is not subscribed (Redis down, connection lost,
//!   not yet connected) the cache is bypassed, and every answer stored
//!   before is dropped when it subscribes again (it may have missed
//!   invalidations meanwhile);
//! - with a read replica, an answer that read the catalog directly is not
//!   stored within `recent_write` of a catalog write (the replica may lag).
//!
//! Never: decide what is public (the endpoint does), cache an answer that
//! depended on who asked, or hold a lock across an await.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::keys::Kind;
use crate::metrics::labels::Operation;

/// Something an answer read, which a write can make stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// One entity, as a loader returned it (or found it missing).
    Entity(Kind, i64),
    /// The catalog's tables read directly: every catalog write stamps it.
    Catalog,
}

impl Tag {
    /// The tag's text in invalidation messages (`book:12`, `catalog`).
    pub(super) fn encode(self) -> String {
        match self {
            Tag::Entity(kind, id) => format!("{}:{id}", kind.as_str()),
            Tag::Catalog => "catalog".to_owned(),
        }
    }

    pub(super) fn decode(text: &str) -> Option<Self> {
        if text == "catalog" {
            return Some(Tag::Catalog);
        }
        let (kind, id) = text.rsplit_once(':')?;
        Some(Tag::Entity(Kind::from_str(kind)?, id.parse().ok()?))
    }
}

/// What one request read, collected by the loaders and by direct catalog
/// reads while it runs (shared by the request's resolvers).
#[derive(Clone, Default)]
pub struct ReadTags(Arc<Mutex<Vec<Tag>>>);

impl ReadTags {
    pub fn entities(&self, kind: Kind, ids: impl IntoIterator<Item = i64>) {
        if let Ok(mut tags) = self.0.lock() {
            tags.extend(ids.into_iter().map(|id| Tag::Entity(kind, id)));
        }
    }

    pub fn catalog(&self) {
        if let Ok(mut tags) = self.0.lock() {
            tags.push(Tag::Catalog);
        }
    }

    fn take(&self) -> Vec<Tag> {
        let mut tags = self
            .0
            .lock()
            .map(|mut tags| std::mem::take(&mut *tags))
            .unwrap_or_default();
        tags.sort_unstable_by_key(|tag| match tag {
            Tag::Entity(kind, id) => (kind.as_str(), *id),
            Tag::Catalog => ("", 0),
        });
        tags.dedup();
        tags
    }
}

/// A stored answer.
pub struct Cached {
    /// The exact request bytes it answers (compared on every hit: the key
    /// is only their hash).
    request: Bytes,
    pub body: Bytes,
    /// A strong validator of `body` (stable across instances).
    pub etag: String,
    /// What metrics count a hit under.
    pub operation: Operation,
    tags: Box<[Tag]>,
    epoch: u64,
}

/// Where a request stands with the cache.
pub enum Lookup {
    /// A valid stored answer.
    Hit(Arc<Cached>),
    /// Not stored: run it, then [`ResponseCache::store`] with this ticket.
    Miss(Ticket),
    /// The cache is off or bypassed right now.
    Bypass,
}

/// A miss's key and the epoch its request started in.
pub struct Ticket {
    key: u64,
    epoch: u64,
}

/// Tag stamps, pruned (with everything stored before) past this many.
const MAX_STAMPS: usize = 100_000;

struct Stamps {
    epoch: u64,
    /// Answers stored from before this epoch are never served.
    floor: u64,
    tags: HashMap<Tag, u64>,
    catalog_written: Option<Instant>,
}

struct Inner {
    entries: moka::sync::Cache<u64, Arc<Cached>>,
    hasher: RandomState,
    stamps: RwLock<Stamps>,
    live: AtomicBool,
    replica_reads: bool,
    recent_write: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The in-process response cache (cheap to clone; `off()` stores nothing).
#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<Arc<Inner>>,
}

impl ResponseCache {
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// A cache holding up to `max_bytes` of requests and answers, each for
    /// at most `ttl`. Bypassed until [`ResponseCache::subscribed`].
    pub fn new(max_bytes: u64, ttl: Duration, replica_reads: bool, recent_write: Duration) -> Self {
        if max_bytes == 0 || ttl.is_zero() {
            return Self::off();
        }
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, cached: &Arc<Cached>| {
                let bytes = cached.request.len() + cached.body.len() + 16 * cached.tags.len() + 128;
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        Self {
            inner: Some(Arc::new(Inner {
                entries,
                hasher: RandomState::new(),
                stamps: RwLock::new(Stamps {
                    epoch: 1,
                    floor: 1,
                    tags: HashMap::new(),
                    catalog_written: None,
                }),
                live: AtomicBool::new(false),
                replica_reads,
                recent_write,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            })),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether answers are served and stored now (subscribed to the
    /// invalidations).
    pub fn live(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.live.load(Ordering::Acquire))
    }

    /// The stored answer to `request` (`space` separates GET from POST
    /// requests), or a ticket to store one.
    pub fn lookup(&self, space: u8, request: &[u8]) -> Lookup {
        let Some(inner) = &self.inner else {
            return Lookup::Bypass;
        };
        if !inner.live.load(Ordering::Acquire) {
            return Lookup::Bypass;
        }
        let key = inner.hasher.hash_one((space, request));
        let Ok(stamps) = inner.stamps.read() else {
            return Lookup::Bypass;
        };
        let epoch = stamps.epoch;
        if let Some(cached) = inner.entries.get(&key) {
            let fresh = cached.request == request
                && cached.epoch >= stamps.floor
                && cached.tags.iter().all(|tag| {
                    stamps
                        .tags
                        .get(tag)
                        .is_none_or(|stamp| *stamp <= cached.epoch)
                });
            if fresh {
                inner.hits.fetch_add(1, Ordering::Relaxed);
                return Lookup::Hit(cached);
            }
        }
        drop(stamps);
        inner.misses.fetch_add(1, Ordering::Relaxed);
        Lookup::Miss(Ticket { key, epoch })
    }

    /// Stores `body` as the answer to `request`, unless something it read
    /// was written since its request started (then the next request
    /// computes it again).
    pub fn store(
        &self,
        ticket: Ticket,
        request: Bytes,
        body: Bytes,
        etag: String,
        operation: Operation,
        tags: &ReadTags,
    ) {
        let Some(inner) = &self.inner else {
            return;
        };
        let tags = tags.take();
        {
            let Ok(stamps) = inner.stamps.read() else {
                return;
            };
            let stale = ticket.epoch < stamps.floor
                || tags.iter().any(|tag| {
                    stamps
                        .tags
                        .get(tag)
                        .is_some_and(|stamp| *stamp > ticket.epoch)
                });
            let replica_may_lag = inner.replica_reads
                && tags.contains(&Tag::Catalog)
                && stamps
                    .catalog_written
                    .is_some_and(|at| at.elapsed() < inner.recent_write);
            if stale || replica_may_lag || !inner.live.load(Ordering::Acquire) {
                return;
            }
        }
        inner.entries.insert(
            ticket.key,
            Arc::new(Cached {
                request,
                body,
                etag,
                operation,
                tags: tags.into_boxed_slice(),
                epoch: ticket.epoch,
            }),
        );
    }

    /// Marks `tags` written now: answers that read them are not served
    /// again, nor stored by requests that began before.
    pub fn invalidate(&self, tags: &[Tag]) {
        let Some(inner) = &self.inner else {
            return;
        };
        if tags.is_empty() {
            return;
        }
        let Ok(mut stamps) = inner.stamps.write() else {
            return;
        };
        stamps.epoch += 1;
        let epoch = stamps.epoch;
        if stamps.tags.len() + tags.len() > MAX_STAMPS {
            stamps.tags.clear();
            stamps.floor = epoch;
        }
        for tag in tags {
            stamps.tags.insert(*tag, epoch);
            if *tag == Tag::Catalog {
                stamps.catalog_written = Some(Instant::now());
            }
        }
    }

    /// Forgets every stored answer.
    pub fn flush(&self) {
        let Some(inner) = &self.inner else {
            return;
        };
        if let Ok(mut stamps) = inner.stamps.write() {
            stamps.epoch += 1;
            stamps.floor = stamps.epoch;
            stamps.tags.clear();
            stamps.catalog_written = Some(Instant::now());
        }
        inner.entries.invalidate_all();
    }

    /// Subscribed to the invalidations again: what was stored before may
    /// have missed some, so it goes, and the cache serves from now on.
    pub(super) fn subscribed(&self) {
        self.flush();
        if let Some(inner) = &self.inner {
            inner.live.store(true, Ordering::Release);
        }
    }

    /// The subscription answered again without a break: nothing was
    /// missed, so serve again.
    pub(super) fn resumed(&self) {
        if let Some(inner) = &self.inner {
            inner.live.store(true, Ordering::Release);
        }
    }

    /// Not (or no longer) subscribed: bypass the cache until subscribed.
    pub(super) fn unsubscribed(&self) {
        if let Some(inner) = &self.inner {
            inner.live.store(false, Ordering::Release);
        }
    }

    /// Hits and misses so far (for `/metrics` and tests).
    pub fn counts(&self) -> (u64, u64) {
        self.inner.as_ref().map_or((0, 0), |inner| {
            (
                inner.hits.load(Ordering::Relaxed),
                inner.misses.load(Ordering::Relaxed),
            )
        })
    }
}

/// The tags an invalidation of `entries` stamps: each entity, and the
/// catalog as a whole (any catalog write can change a listing or a lookup).
pub fn tags_of(entries: &[super::Entry]) -> Vec<Tag> {
    let mut tags: Vec<Tag> = entries
        .iter()
        .filter_map(|entry| match entry {
            super::Entry::Entity(kind, id) => Some(Tag::Entity(*kind, *id)),
            super::Entry::BookCounts => None,
        })
        .collect();
    if !entries.is_empty() {
        tags.push(Tag::Catalog);
    }
    tags
}

#[cfg(test)]
mod tests;
