//! Live events for GraphQL subscriptions: what the instance's one Redis
//! subscriber (`subscriber`) hears is handed to every local listener through
//! a tokio broadcast channel. Two channels feed it: the invalidations (the
//! entities a committed write changed: every book write already names its
//! book there) and `{ns}:v4:events`, where domain events that no cache entry
//! carries (an order's new status) are published after their change
//! committed ([`Cache::publish_event`]).
//!
//! Best effort by design: an event published while Redis is away is lost,
//! and a listener learns it may have missed something through
//! [`Signal::Resync`] (sent when the subscriber is subscribed again, when
//! an instance that missed invalidations flushes everyone, and when a slow
//! listener fell behind the broadcast buffer). Never blocks a write. The
//! `Cache` methods around it (publishing, listening) are in `subscriber`.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::responses::Tag;

/// Signals the broadcast buffer holds for a slow listener before it is told
/// to resynchronise instead.
const BUFFERED_SIGNALS: usize = 4096;

/// What a local listener hears.
#[derive(Debug, Clone)]
pub enum Signal {
    /// A committed write changed these entities (on any instance).
    Changed(Arc<[Tag]>),
    /// A domain event as published (`crate::events` reads it).
    Event(Arc<str>),
    /// Signals may have been lost: load the current state again.
    Resync,
}

/// The instance's local hand-out of signals.
pub(super) struct Fanout(broadcast::Sender<Signal>);

impl Default for Fanout {
    fn default() -> Self {
        Self(broadcast::channel(BUFFERED_SIGNALS).0)
    }
}

impl Fanout {
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.0.subscribe()
    }

    /// Hands `signal` to the local listeners (none listening is fine).
    pub(super) fn send(&self, signal: Signal) {
        let _ = self.0.send(signal);
    }
}
