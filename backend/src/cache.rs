//! The Redis cache in front of Postgres: key naming, read-through for the
//! DataLoaders (one MGET, then one pipelined SET for the misses), and the one
//! invalidation function writes call.
//!
//! Redis is an optimisation, never a dependency: every call is bounded by a
//! short timeout, a failure switches the cache off for a back-off period, and
//! both the outage and the recovery are logged once. It must never turn a
//! Redis problem into an error for the shopper.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Serialize, de::DeserializeOwned};

/// Bump whenever the shape of a cached value changes: old entries are then
/// simply never read again (and expire with their TTL).
pub const CACHE_VERSION: u32 = 2;

/// One kind of cached entity; the kind names the Redis key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `db::books::Book` by book id.
    Book,
    /// `db::books::BookRelations` (credits and genres) by book id.
    BookRelations,
    /// `db::contributors::Contributor` by id.
    Contributor,
    /// The live book ids of a contributor, by contributor id.
    ContributorBooks,
    /// `db::genres::Genre` by id.
    Genre,
}

/// How long a session lookup is trusted from Redis before Postgres (the
/// source of truth) is asked again.
pub const SESSION_TTL: Duration = Duration::from_secs(60);

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Book => "book",
            Kind::BookRelations => "book-relations",
            Kind::Contributor => "contributor",
            Kind::ContributorBooks => "contributor-books",
            Kind::Genre => "genre",
        }
    }
}

/// Something a write made stale, for [`Cache::invalidate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// One cached entity.
    Entity(Kind, i64),
    /// Every cached `totalCount` of the book listing (a write that adds,
    /// archives, restores or re-prices a book, or changes whether it is in
    /// stock, can change any of them).
    BookCounts,
    /// A cached session, by the SHA-256 of its token.
    Session([u8; 32]),
}

/// A cached listing count and the catalog generation it was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountLookup {
    pub generation: i64,
    pub count: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Ok,
    Unavailable,
    Disabled,
}

#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Option<ConnectionManager>,
    namespace: String,
    ttl: Duration,
    timeout: Duration,
    backoff: Duration,
    /// While set and in the future, Redis is skipped.
    bypass_until: std::sync::Mutex<Option<Instant>>,
    /// Whether the outage has been logged (so it is logged once).
    down: AtomicBool,
    /// Reads the counts' generation, then that generation's count, in Redis.
    count_script: redis::Script,
}

fn count_script() -> redis::Script {
    redis::Script::new(
        "local generation = redis.call('GET', KEYS[1]) or '0' \
         return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}",
    )
}

impl Cache {
    /// `url: None` disables the cache. Connecting is lazy: a Redis that is
    /// down at start-up only means cache misses.
    pub fn new(
        url: Option<&str>,
        namespace: &str,
        ttl: Duration,
        timeout: Duration,
        backoff: Duration,
    ) -> anyhow::Result<Self> {
        let connection = match url {
            Some(url) => {
                let client = redis::Client::open(url).map_err(|error| {
                    anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {error}")
                })?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(timeout);
                Some(ConnectionManager::new_lazy_with_config(client, config)?)
            }
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                connection,
                namespace: namespace.to_owned(),
                ttl,
                timeout,
                backoff,
                bypass_until: std::sync::Mutex::new(None),
                down: AtomicBool::new(false),
                count_script: count_script(),
            }),
        })
    }

    /// A cache that never stores anything.
    pub fn disabled() -> Self {
        Self {
            inner: Arc::new(Inner {
                connection: None,
                namespace: String::new(),
                ttl: Duration::ZERO,
                timeout: Duration::ZERO,
                backoff: Duration::ZERO,
                bypass_until: std::sync::Mutex::new(None),
                down: AtomicBool::new(false),
                count_script: count_script(),
            }),
        }
    }

    /// The Redis key of one entity: `{namespace}:v{CACHE_VERSION}:{kind}:{id}`.
    pub fn key(&self, kind: Kind, id: impl Display) -> String {
        format!(
            "{}:v{CACHE_VERSION}:{}:{id}",
            self.inner.namespace,
            kind.as_str()
        )
    }

    /// Returns the values for `ids`: the ones Redis has, plus the misses,
    /// which `load` fetches (in one call) and which are then written back
    /// with the TTL. Undecodable entries count as misses.
    pub async fn read_through<K, V, E, F, Fut>(
        &self,
        kind: Kind,
        ids: &[K],
        load: F,
    ) -> Result<HashMap<K, V>, E>
    where
        K: Display + Hash + Eq + Clone,
        V: Serialize + DeserializeOwned,
        F: FnOnce(Vec<K>) -> Fut,
        Fut: Future<Output = Result<HashMap<K, V>, E>>,
    {
        let mut found = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(found);
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(kind, id)).collect();
        let cached = self.get_many(&keys).await;
        let mut misses = Vec::new();
        for (id, raw) in ids.iter().zip(cached) {
            match raw.and_then(|bytes| serde_json::from_slice::<V>(&bytes).ok()) {
                Some(value) => {
                    found.insert(id.clone(), value);
                }
                None => misses.push(id.clone()),
            }
        }
        if misses.is_empty() {
            return Ok(found);
        }
        let loaded = load(misses).await?;
        let entries: Vec<(String, Vec<u8>)> = loaded
            .iter()
            .filter_map(|(id, value)| {
                serde_json::to_vec(value)
                    .ok()
                    .map(|bytes| (self.key(kind, id), bytes))
            })
            .collect();
        self.set_many(&entries).await;
        found.extend(loaded);
        Ok(found)
    }

    /// Forgets what a write made stale: deletes the entities' keys and, for
    /// [`Entry::BookCounts`], moves the counts to a new generation (one INCR
    /// retires them all). Every write calls this after its transaction
    /// commits, in one round trip.
    pub async fn invalidate(&self, entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for entry in entries {
            match entry {
                Entry::Entity(kind, id) => pipe.del(self.key(*kind, id)).ignore(),
                Entry::BookCounts => pipe.incr(self.generation_key(), 1).ignore(),
                Entry::Session(hash) => pipe.del(self.session_key(hash)).ignore(),
            };
        }
        self.run(|mut connection| async move { pipe.query_async::<()>(&mut connection).await })
            .await;
    }

    fn session_key(&self, token_hash: &[u8; 32]) -> String {
        let hex: String = token_hash
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{}:v{CACHE_VERSION}:session:{hex}", self.inner.namespace)
    }

    /// A cached session lookup (see [`SESSION_TTL`]).
    pub async fn session<T: DeserializeOwned>(&self, token_hash: &[u8; 32]) -> Option<T> {
        let key = self.session_key(token_hash);
        let bytes: Option<Vec<u8>> = self
            .run(|mut connection| async move {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
            })
            .await
            .flatten();
        serde_json::from_slice(&bytes?).ok()
    }

    pub async fn store_session<T: Serialize>(
        &self,
        token_hash: &[u8; 32],
        session: &T,
        ttl: Duration,
    ) {
        let Ok(bytes) = serde_json::to_vec(session) else {
            return;
        };
        let key = self.session_key(token_hash);
        let ttl = ttl.as_secs().max(1);
        self.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }

    /// Counts one more event under `name` in a window that starts at the
    /// first event and lasts `window`; returns the count so far. `None` when
    /// Redis is unavailable (callers decide whether to fail open).
    pub async fn count_event(&self, name: &str, window: Duration) -> Option<i64> {
        let key = format!("{}:v{CACHE_VERSION}:events:{name}", self.inner.namespace);
        let window = window.as_secs().max(1);
        let (count,): (i64,) = self
            .run(|mut connection| async move {
                redis::pipe()
                    .incr(&key, 1)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(window)
                    .arg("NX")
                    .ignore()
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Some(count)
    }

    /// Forgets the events counted under `name`.
    pub async fn reset_events(&self, name: &str) {
        let key = format!("{}:v{CACHE_VERSION}:events:{name}", self.inner.namespace);
        self.run(|mut connection| async move {
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }

    fn generation_key(&self) -> String {
        format!(
            "{}:v{CACHE_VERSION}:book-counts-generation",
            self.inner.namespace
        )
    }

    fn count_key(&self, generation: i64, filter: &str) -> String {
        format!(
            "{}:v{CACHE_VERSION}:book-count:{generation}:{filter}",
            self.inner.namespace
        )
    }

    /// The cached number of live books matching `filter` (a canonical text
    /// of the filter), read with the current generation in one round trip.
    /// `None` when the cache is off or unreachable.
    pub async fn book_count(&self, filter: &str) -> Option<CountLookup> {
        let script = &self.inner.count_script;
        let prefix = format!("{}:v{CACHE_VERSION}:book-count:", self.inner.namespace);
        let generation_key = self.generation_key();
        let (generation, count): (i64, Option<i64>) = self
            .run(|mut connection| async move {
                script
                    .key(generation_key)
                    .arg(prefix)
                    .arg(filter)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Some(CountLookup { generation, count })
    }

    /// Caches a count under the generation it was looked up in: if a write
    /// moved the generation meanwhile, this (possibly stale) count is never read.
    pub async fn store_book_count(&self, generation: i64, filter: &str, count: i64) {
        let key = self.count_key(generation, filter);
        let ttl = self.inner.ttl.as_secs().max(1);
        self.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(count)
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }

    /// Pings Redis (bypassing the back-off) for the readiness report.
    pub async fn status(&self) -> CacheStatus {
        let Some(connection) = self.inner.connection.clone() else {
            return CacheStatus::Disabled;
        };
        let mut connection = connection;
        let ping = tokio::time::timeout(
            self.inner.timeout,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await;
        match ping {
            Ok(Ok(_)) => {
                self.mark_up();
                CacheStatus::Ok
            }
            Ok(Err(error)) => {
                self.mark_down(&error.to_string());
                CacheStatus::Unavailable
            }
            Err(_) => {
                self.mark_down("timed out");
                CacheStatus::Unavailable
            }
        }
    }

    async fn get_many(&self, keys: &[String]) -> Vec<Option<Vec<u8>>> {
        let result = self
            .run(|mut connection| async move {
                redis::cmd("MGET")
                    .arg(keys)
                    .query_async::<Vec<Option<Vec<u8>>>>(&mut connection)
                    .await
            })
            .await;
        match result {
            Some(values) if values.len() == keys.len() => values,
            _ => vec![None; keys.len()],
        }
    }

    async fn set_many(&self, entries: &[(String, Vec<u8>)]) {
        if entries.is_empty() {
            return;
        }
        let ttl = self.inner.ttl.as_secs().max(1);
        self.run(|mut connection| async move {
            let mut pipe = redis::pipe();
            for (key, value) in entries {
                pipe.set_ex(key, value, ttl).ignore();
            }
            pipe.query_async::<()>(&mut connection).await
        })
        .await;
    }

    /// Runs one Redis call unless the cache is off or backing off, bounded by
    /// the timeout; a failure starts the back-off.
    async fn run<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.inner.connection.clone()?;
        if self.backing_off() {
            return None;
        }
        match tokio::time::timeout(self.inner.timeout, call(connection)).await {
            Ok(Ok(value)) => {
                self.mark_up();
                Some(value)
            }
            Ok(Err(error)) => {
                self.mark_down(&error.to_string());
                None
            }
            Err(_) => {
                self.mark_down(&format!("no answer within {:?}", self.inner.timeout));
                None
            }
        }
    }

    fn backing_off(&self) -> bool {
        let Ok(mut until) = self.inner.bypass_until.lock() else {
            return false;
        };
        match *until {
            Some(deadline) if Instant::now() < deadline => true,
            Some(_) => {
                // The back-off is over: let this call try Redis again.
                *until = None;
                false
            }
            None => false,
        }
    }

    fn mark_down(&self, reason: &str) {
        if let Ok(mut until) = self.inner.bypass_until.lock() {
            *until = Some(Instant::now() + self.inner.backoff);
        }
        if !self.inner.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason,
                backoff = ?self.inner.backoff,
                "Redis unavailable: serving from Postgres and retrying Redis after the back-off"
            );
        }
    }

    fn mark_up(&self) {
        if self.inner.down.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis is answering again: cache re-enabled");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Counts WARN events.
    struct Warnings(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() == tracing::Level::WARN {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[tokio::test]
    async fn an_outage_is_logged_once_not_per_request() {
        let warnings = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Warnings(warnings.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        // Nothing listens on port 1; no back-off, so every call tries Redis.
        let cache = Cache::new(
            Some("redis://127.0.0.1:1"),
            "test",
            Duration::from_secs(60),
            Duration::from_millis(100),
            Duration::ZERO,
        )
        .unwrap();
        for _ in 0..5 {
            let found: HashMap<i64, String> = cache
                .read_through(Kind::Book, &[1, 2], |ids| async move {
                    Ok::<_, ()>(ids.into_iter().map(|id| (id, id.to_string())).collect())
                })
                .await
                .unwrap();
            assert_eq!(found.len(), 2, "values come from the loader");
        }
        assert_eq!(warnings.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_disabled_cache_always_loads() {
        let cache = Cache::disabled();
        let found: HashMap<i64, i64> = cache
            .read_through(Kind::Genre, &[7], |ids| async move {
                Ok::<_, ()>(ids.into_iter().map(|id| (id, id * 2)).collect())
            })
            .await
            .unwrap();
        assert_eq!(found.get(&7), Some(&14));
        assert_eq!(cache.status().await, CacheStatus::Disabled);
    }
}
