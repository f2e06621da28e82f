//! The Redis connection and its discipline: every call bounded by the
//! timeout, a failure starting the back-off, outages and recoveries logged
//! once. Must never return a Redis error to a caller: a failed call is `None`.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;

use super::keys::{CACHE_VERSION, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Ok,
    Unavailable,
    Disabled,
}

#[derive(Clone)]
pub struct Cache {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) connection: Option<ConnectionManager>,
    pub(super) namespace: String,
    pub(super) ttl: Duration,
    pub(super) timeout: Duration,
    pub(super) backoff: Duration,
    /// While set and in the future, Redis is skipped.
    pub(super) bypass_until: std::sync::Mutex<Option<Instant>>,
    /// Whether the outage has been logged (so it is logged once).
    pub(super) down: AtomicBool,
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
        self.namespaced(format_args!("{}:{id}", kind.as_str()))
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

    pub(super) async fn get_many(&self, keys: &[String]) -> Vec<Option<Vec<u8>>> {
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

    pub(super) async fn set_many(&self, entries: &[(String, Vec<u8>)]) {
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
    pub(super) async fn run<T, F, Fut>(&self, call: F) -> Option<T>
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

    /// A key in this cache's namespace: `{namespace}:v{CACHE_VERSION}:{name}`.
    pub(super) fn namespaced(&self, name: impl Display) -> String {
        format!("{}:v{CACHE_VERSION}:{name}", self.inner.namespace)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing_subscriber::layer::SubscriberExt;

    use std::collections::HashMap;

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
