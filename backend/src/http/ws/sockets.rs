//! This instance's WebSockets: how many each client address holds (one
//! more than `WS_MAX_CONNECTIONS_PER_CLIENT` is refused), how many are
//! open, and the switch that closes them all on graceful shutdown. A leaf
//! of `http`: the `Endpoint` holds it, the connections read it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::Sessions;
use crate::config::SubscriptionsConfig;

/// This instance's WebSockets: how many each client holds, and the switch
/// that closes them all.
pub struct Sockets {
    pub(super) settings: SubscriptionsConfig,
    pub(super) sessions: Sessions,
    per_client: Mutex<HashMap<String, usize>>,
    open: AtomicUsize,
    pub(super) closing: watch::Sender<bool>,
}

impl Sockets {
    pub fn new(settings: SubscriptionsConfig, sessions: Sessions) -> Self {
        Self {
            settings,
            sessions,
            per_client: Mutex::default(),
            open: AtomicUsize::new(0),
            closing: watch::channel(false).0,
        }
    }

    pub(super) fn settings(&self) -> &SubscriptionsConfig {
        &self.settings
    }

    /// Whether every connection is being closed (graceful shutdown).
    pub(super) fn closing(&self) -> bool {
        *self.closing.borrow()
    }

    /// WebSockets open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Starts closing every WebSocket with 1001; new ones are refused.
    pub fn begin_closing(&self) {
        self.closing.send_replace(true);
    }

    /// Closes every WebSocket with 1001 (and refuses new ones), then waits
    /// up to `grace` for them to finish closing.
    pub async fn close_all(&self, grace: Duration) {
        self.begin_closing();
        let deadline = tokio::time::Instant::now() + grace;
        while self.open() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A place for one more connection from `client`, if it has room.
    pub(super) fn admit(self: &Arc<Self>, client: &str) -> Option<Admitted> {
        let mut per_client = self.per_client.lock().ok()?;
        let count = per_client.entry(client.to_owned()).or_default();
        if *count >= self.settings.max_connections_per_client {
            return None;
        }
        *count += 1;
        self.open.fetch_add(1, Ordering::AcqRel);
        Some(Admitted {
            sockets: self.clone(),
            client: client.to_owned(),
        })
    }
}

/// One admitted connection; gives its place back when dropped.
pub(super) struct Admitted {
    sockets: Arc<Sockets>,
    client: String,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut per_client) = self.sockets.per_client.lock()
            && let Some(count) = per_client.get_mut(&self.client)
        {
            *count -= 1;
            if *count == 0 {
                per_client.remove(&self.client);
            }
        }
        self.sockets.open.fetch_sub(1, Ordering::AcqRel);
    }
}
