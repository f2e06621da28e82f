//! The Redis connection and its discipline: every call bounded by the
//! timeout (connecting included), a failure opening the breaker (back-off,
//! then one probe) — an error at once, timeouts only several in a row (see
//! `breaker`) — and no call served before the instance has caught up after
//! an outage or a lost invalidation (see `recovery`). Must never return a
//! Redis error to a caller: a failed, timed-out or skipped call is `None`.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;

use super::breaker::{Breaker, Timeout};
use super::fanout::Fanout;
use super::flights::Flights;
use super::keys::{CACHE_VERSION, Kind};
use super::recovery::Recovery;
use super::responses::ResponseCache;
use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStatus {
    Ok,
    Unavailable,
    Disabled,
}

/// How the cache behaves (see `config::CacheConfig` for the meaning).
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub namespace: String,
    pub ttl: Duration,
    pub timeout: Duration,
    pub backoff: Duration,
    /// Timeouts in a row that open the breaker (an error opens it at once).
    pub timeouts_to_backoff: u32,
    pub recent_write: Duration,
    pub lease: Duration,
    /// Catalog reads go to a replica that may lag the primary.
    pub replica_reads: bool,
    /// Memory for whole answers to public queries (0: none).
    pub response_cache_bytes: u64,
}

impl CacheSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            namespace: config.cache_namespace.clone(),
            ttl: config.cache_ttl,
            timeout: config.redis_timeout,
            backoff: config.redis_backoff,
            timeouts_to_backoff: config.breaker.timeouts_to_backoff,
            recent_write: config.cache.recent_write,
            lease: config.cache.lease,
            replica_reads: config.database_read_url.is_some(),
            response_cache_bytes: config.responses.response_cache_mb.saturating_mul(1 << 20),
        }
    }
}

/// Entities asked for so far: found (in Redis, or loaded by a call this
/// one waited for) and loaded from Postgres, for `/metrics`.
#[derive(Debug, Default)]
pub(super) struct EntityCounts {
    pub(super) hits: AtomicU64,
    pub(super) misses: AtomicU64,
}

#[derive(Clone)]
pub struct Cache {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) connection: Option<ConnectionManager>,
    pub(super) settings: CacheSettings,
    pub(super) ttl: Duration,
    pub(super) breaker: Breaker,
    pub(super) recovery: Recovery,
    pub(super) flights: Arc<Flights>,
    /// For the invalidation subscriber's own connection.
    pub(super) client: Option<redis::Client>,
    pub(super) responses: ResponseCache,
    pub(super) entity_counts: EntityCounts,
    /// What the subscriber heard, for local listeners (`fanout`).
    pub(super) fanout: Fanout,
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
        Self::with_settings(
            url,
            CacheSettings {
                namespace: namespace.to_owned(),
                ttl,
                timeout,
                backoff,
                timeouts_to_backoff: crate::config::BreakerConfig::DEFAULT_TIMEOUTS_TO_BACKOFF,
                recent_write: Duration::from_secs(30),
                lease: Duration::from_secs(1),
                replica_reads: false,
                response_cache_bytes: 0,
            },
        )
    }

    /// The cache `config` describes.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Self::with_settings(
            config.redis_url.as_deref(),
            CacheSettings::from_config(config),
        )
    }

    pub fn with_settings(url: Option<&str>, settings: CacheSettings) -> anyhow::Result<Self> {
        let mut subscriber = None;
        let connection = match url {
            Some(url) => {
                let info = redis::IntoConnectionInfo::into_connection_info(url)
                    .map_err(|error| {
                        anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {error}")
                    })?
                    // Requests share one multiplexed connection: without
                    // TCP_NODELAY, Nagle's algorithm holds a command behind
                    // the previous one's ACK (redis-rs leaves it off).
                    .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
                let client = redis::Client::open(info)?;
                subscriber = Some(client.clone());
                // Bounded everywhere: connecting, each response, and no
                // retry loop inside the manager (the breaker decides).
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(settings.timeout))
                    .set_response_timeout(Some(settings.timeout))
                    .set_number_of_retries(0)
                    .set_max_delay(settings.timeout);
                Some(ConnectionManager::new_lazy_with_config(client, config)?)
            }
            None => None,
        };
        Ok(Self::assemble(connection, subscriber, settings))
    }

    /// A cache that never stores anything.
    pub fn disabled() -> Self {
        Self::assemble(
            None,
            None,
            CacheSettings {
                namespace: String::new(),
                ttl: Duration::ZERO,
                timeout: Duration::ZERO,
                backoff: Duration::ZERO,
                timeouts_to_backoff: 1,
                recent_write: Duration::ZERO,
                lease: Duration::ZERO,
                replica_reads: false,
                response_cache_bytes: 0,
            },
        )
    }

    fn assemble(
        connection: Option<ConnectionManager>,
        client: Option<redis::Client>,
        settings: CacheSettings,
    ) -> Self {
        let responses = match client {
            Some(_) => ResponseCache::new(
                settings.response_cache_bytes,
                settings.ttl,
                settings.replica_reads,
                settings.recent_write,
            ),
            None => ResponseCache::off(),
        };
        Self {
            inner: Arc::new(Inner {
                connection,
                client,
                responses,
                ttl: settings.ttl,
                breaker: Breaker::new(settings.backoff, settings.timeouts_to_backoff),
                recovery: Recovery::default(),
                flights: Arc::default(),
                entity_counts: EntityCounts::default(),
                fanout: Fanout::default(),
                settings,
            }),
        }
    }

    /// The Redis key of one entity: `{namespace}:v{CACHE_VERSION}:{kind}:{id}`.
    pub fn key(&self, kind: Kind, id: impl Display) -> String {
        self.namespaced(format_args!("{}:{id}", kind.as_str()))
    }

    pub(super) fn enabled(&self) -> bool {
        self.inner.connection.is_some()
    }

    /// Whether Redis answers, for the readiness report (while backing off:
    /// unavailable, without asking).
    pub async fn status(&self) -> CacheStatus {
        if !self.enabled() {
            return CacheStatus::Disabled;
        }
        let ping = self
            .run(|mut connection| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
            })
            .await;
        match ping {
            Some(_) => CacheStatus::Ok,
            None => CacheStatus::Unavailable,
        }
    }

    /// Runs one Redis call unless the cache is off or backing off, after
    /// the instance caught up with what it missed, bounded by the timeout;
    /// a failure opens the breaker.
    pub(super) async fn run<T, F, Fut>(&self, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.inner.connection.clone()?;
        if !self.inner.breaker.is_closed() {
            return None;
        }
        if self.inner.recovery.needed() && !self.catch_up(connection.clone(), false).await {
            return None;
        }
        self.bounded(call(connection)).await
    }

    /// `call` within the timeout. An error opens the breaker; a timeout
    /// opens it only several in a row (the call itself still gives up).
    pub(super) async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        let sent = Instant::now();
        match tokio::time::timeout(self.inner.settings.timeout, call).await {
            Ok(Ok(value)) => {
                self.inner.breaker.answered();
                Some(value)
            }
            // The connection's own response timeout (the same length).
            Ok(Err(error)) if error.is_timeout() => {
                self.timed_out(sent);
                None
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.timed_out(sent);
                None
            }
        }
    }

    /// A call sent at `sent` got no answer in time. Nothing else is owed
    /// for it: a timed-out invalidation queues itself (`invalidate`), and a
    /// store or read that lands late is refused or harmless (stamps).
    fn timed_out(&self, sent: Instant) {
        match self.inner.breaker.timed_out(sent) {
            Timeout::Open => self.failed(&format!(
                "no answer within {:?}, {} times in a row",
                self.inner.settings.timeout, self.inner.settings.timeouts_to_backoff
            )),
            Timeout::Counted(count) => tracing::debug!(
                count,
                timeout = ?self.inner.settings.timeout,
                "a Redis call timed out; the cache stays on"
            ),
            Timeout::SameStall => {}
        }
    }

    fn failed(&self, reason: &str) {
        // Whatever this instance does not see from now on, it must check
        // before it trusts Redis again.
        self.inner.recovery.require();
        if self.inner.breaker.failed(reason) {
            self.start_prober();
        }
    }

    /// Something is owed to Redis (an invalidation that could not be
    /// delivered): the prober delivers it after a back-off even if no
    /// request comes meanwhile (a request's call catches up first anyway).
    pub(super) fn owe_catch_up(&self) {
        if self.inner.breaker.claim_prober() {
            self.start_prober();
        }
    }

    /// Tries Redis once per back-off until it answers and this instance
    /// has caught up, then closes the breaker. Requests meanwhile skip Redis.
    fn start_prober(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to wait in: let the next call try Redis itself.
            self.inner.breaker.prober_stopped();
            self.inner.breaker.recovered();
            return;
        };
        let cache = self.clone();
        runtime.spawn(async move {
            let breaker = &cache.inner.breaker;
            loop {
                tokio::time::sleep(breaker.backoff()).await;
                if !cache.probe().await {
                    continue;
                }
                breaker.prober_stopped();
                // A failure (or an invalidation queued) between the probe
                // and now found the prober still running: carry on for it.
                let owed = !breaker.is_closed() || cache.inner.recovery.needed();
                if !owed || !breaker.claim_prober() {
                    break;
                }
            }
        });
    }

    async fn probe(&self) -> bool {
        let Some(mut connection) = self.inner.connection.clone() else {
            return true;
        };
        if self.inner.recovery.needed() && !self.catch_up(connection.clone(), true).await {
            return false;
        }
        let ping = self
            .bounded(redis::cmd("PING").query_async::<String>(&mut connection))
            .await;
        if ping.is_none() || self.inner.recovery.needed() {
            return false;
        }
        self.inner.breaker.recovered();
        true
    }

    /// A key in this cache's namespace: `{namespace}:v{CACHE_VERSION}:{name}`.
    pub(super) fn namespaced(&self, name: impl Display) -> String {
        format!("{}:v{CACHE_VERSION}:{name}", self.inner.settings.namespace)
    }
}

#[cfg(test)]
mod tests;
