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
pub const CACHE_VERSION: u32 = 1;

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

    /// Deletes the cached entries of the given entities. Every write that
    /// changes a cached entity calls this after its transaction commits.
    pub async fn invalidate(&self, entries: &[(Kind, i64)]) {
        let keys: Vec<String> = entries
            .iter()
            .map(|(kind, id)| self.key(*kind, id))
            .collect();
        if keys.is_empty() {
            return;
        }
        self.run(|mut connection| async move {
            redis::cmd("DEL")
                .arg(&keys)
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
