//! The invalidation channel: every write's tags reach every instance's
//! response cache through Redis pub/sub (one subscriber connection per
//! instance), published in the same pipeline as the write's Redis
//! invalidation, so a message arrives only after the entries it names
//! are gone from Redis. The same connection listens to the events channel;
//! both are handed on to the instance's live listeners (`fanout`), who are
//! told to resynchronise whenever the subscription starts again.
//!
//! The response cache serves only while this instance is subscribed and
//! hears from Redis: a heartbeat (`PING` on the subscriber connection)
//! every [`HEARTBEAT`]; a pong slower than the Redis timeout bypasses the
//! cache until it comes (messages on one connection arrive in order, so
//! nothing published before is lost), a connection that fails or stays
//! silent is dropped and, once subscribed again, everything stored before
//! is forgotten. Never blocks a request; never logs more than once per
//! outage.

use std::pin::pin;
use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};

use super::client::{Cache, Inner};
use super::fanout::Signal;
use super::responses::{ResponseCache, Tag};
use tokio::sync::broadcast;

/// How often the subscriber checks that Redis still hears it.
const HEARTBEAT: Duration = Duration::from_millis(250);
/// A pong later than this means the connection is lost.
const DEAD_AFTER: Duration = Duration::from_secs(5);
/// The message that drops every stored answer everywhere (an instance that
/// missed invalidations while away from Redis sends it when it catches up).
pub(super) const FLUSH: &str = "*";

impl Cache {
    /// The channel invalidation messages travel on.
    pub(super) fn invalidation_channel(&self) -> String {
        self.namespaced("invalidations")
    }

    /// The message naming `tags`.
    pub(super) fn invalidation_message(tags: &[Tag]) -> String {
        tags.iter()
            .map(|tag| tag.encode())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The in-process response cache (off without Redis).
    pub fn responses(&self) -> &ResponseCache {
        &self.inner.responses
    }

    /// Starts this instance's subscriber (with Redis): until it is
    /// subscribed, the response cache is bypassed. Ends when the last
    /// handle to this cache is dropped.
    pub fn start_listening(&self) {
        let Some(client) = self.inner.client.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = std::sync::Arc::downgrade(&self.inner);
        let channels = [self.invalidation_channel(), self.events_channel()];
        let timeout = self.inner.settings.timeout;
        let backoff = self.inner.settings.backoff.clamp(HEARTBEAT, DEAD_AFTER);
        runtime.spawn(async move {
            let mut failing = false;
            loop {
                let outcome = subscribe(&client, &channels, timeout, &weak, &mut failing).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                inner.responses.unsubscribed();
                drop(inner);
                if let Err(reason) = outcome
                    && !failing
                {
                    tracing::warn!(%reason, "response cache bypassed: not subscribed to invalidations");
                    failing = true;
                }
                tokio::time::sleep(backoff).await;
            }
        });
    }
}

impl Cache {
    /// The channel domain events travel on.
    pub(super) fn events_channel(&self) -> String {
        self.namespaced("events")
    }

    /// Listens to every signal from now on (nothing without Redis).
    pub fn signals(&self) -> broadcast::Receiver<Signal> {
        self.inner.fanout.subscribe()
    }

    /// Publishes a domain event to every instance's listeners. Call it only
    /// after the change committed; dropped (never queued) when Redis is
    /// unavailable: listeners resynchronise once the subscriber is back.
    /// Without Redis configured, this instance's listeners hear it at once.
    pub async fn publish_event(&self, message: &str) {
        if !self.enabled() {
            // Without Redis this instance is the only one.
            self.broadcast(Signal::Event(message.into()));
            return;
        }
        let channel = self.events_channel();
        self.run(|mut connection| async move {
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(message)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }

    /// Hands `signal` to the local listeners (none listening is fine).
    pub(super) fn broadcast(&self, signal: Signal) {
        self.inner.fanout.send(signal);
    }
}

/// One subscription, until it fails (or the cache is dropped: `Ok`).
async fn subscribe(
    client: &redis::Client,
    channels: &[String; 2],
    timeout: Duration,
    cache: &Weak<Inner>,
    failing: &mut bool,
) -> Result<(), String> {
    let pubsub = tokio::time::timeout(timeout.max(Duration::from_secs(1)), async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channels).await?;
        Ok::<_, redis::RedisError>(pubsub)
    })
    .await
    .map_err(|_| "no answer".to_owned())?
    .map_err(|error| error.to_string())?;
    let (sink, stream) = pubsub.split();
    match cache.upgrade() {
        Some(inner) => {
            inner.responses.subscribed();
            // Whatever was published while not subscribed is lost.
            Cache { inner }.broadcast(Signal::Resync);
        }
        None => return Ok(()),
    }
    if std::mem::take(failing) {
        tracing::info!("subscribed to invalidations again: response cache on");
    }
    let mut reading = pin!(read(stream, &channels[1], cache.clone()));
    let mut beating = pin!(heartbeat(sink, timeout, cache.clone()));
    tokio::select! {
        outcome = &mut reading => outcome,
        outcome = &mut beating => outcome,
    }
}

/// Applies every message to this instance's response cache and hands it
/// to the live listeners.
async fn read(
    mut stream: PubSubStream,
    events_channel: &str,
    cache: Weak<Inner>,
) -> Result<(), String> {
    while let Some(message) = stream.next().await {
        let Some(inner) = cache.upgrade() else {
            return Ok(());
        };
        let Ok(text) = message.get_payload::<String>() else {
            continue;
        };
        if message.get_channel_name() == events_channel {
            Cache { inner }.broadcast(Signal::Event(text.into()));
            continue;
        }
        if text == FLUSH {
            inner.responses.flush();
            Cache { inner }.broadcast(Signal::Resync);
            continue;
        }
        let tags: Vec<Tag> = text.split_whitespace().filter_map(Tag::decode).collect();
        // As the writing instance does: a request from now on must not join
        // a load of this instance's that began before the write (it could
        // return the old row, and its answer would be stored as new).
        let cache = Cache { inner };
        for tag in &tags {
            if let Tag::Entity(kind, id) = tag {
                cache.inner.flights.forget(&cache.key(*kind, id));
            }
        }
        cache.inner.responses.invalidate(&tags);
        cache.broadcast(Signal::Changed(tags.into()));
    }
    Err("the subscriber connection closed".to_owned())
}

/// Pings on the subscriber connection: a slow pong bypasses the cache until
/// it arrives, a missing one ends the subscription.
async fn heartbeat(
    mut sink: PubSubSink,
    timeout: Duration,
    cache: Weak<Inner>,
) -> Result<(), String> {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let Some(inner) = cache.upgrade() else {
            return Ok(());
        };
        let mut ping = pin!(sink.ping::<redis::Value>());
        match tokio::time::timeout(timeout, &mut ping).await {
            Ok(result) => {
                result.map_err(|error| error.to_string())?;
            }
            Err(_) => {
                inner.responses.unsubscribed();
                tokio::time::timeout(DEAD_AFTER, &mut ping)
                    .await
                    .map_err(|_| format!("no pong within {DEAD_AFTER:?}"))?
                    .map_err(|error| error.to_string())?;
                // Everything published before the ping has arrived.
                inner.responses.resumed();
            }
        }
    }
}
