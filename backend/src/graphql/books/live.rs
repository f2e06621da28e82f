//! The books someone is watching (`bookUpdated`), loaded once per change per
//! instance: one task per instance listens to the live signals
//! (`cache::Signal`), loads the watched books among those a committed write
//! named (one `= ANY` query from the primary, which has the write) and
//! hands the rows to every watcher, who keeps the ones it asked for. After a
//! `Resync` (events may have been missed) every watched book is loaded
//! again. A thousand subscriptions on one book cost one query per change.
//!
//! Never decides what a change is (the writers name the books they change
//! on the invalidation channel) and never blocks one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::{self, error::RecvError};

use crate::cache::{Cache, Kind, Signal, Tag};
use crate::db::{self, Db, books::Book};

/// Loaded rows a slow watcher may fall behind by before it reloads its own.
const BUFFERED_UPDATES: usize = 1024;

/// What watchers hear.
#[derive(Debug, Clone)]
pub enum BookUpdate {
    /// The current rows of changed (or, after a resync, all) watched books.
    Rows(Arc<[Book]>),
    /// This watcher fell behind and lost updates: it loads its books
    /// itself.
    Reload,
}

#[derive(Clone)]
pub struct LiveBooks {
    inner: Arc<Inner>,
}

struct Inner {
    /// Watchers per book id.
    watched: Mutex<HashMap<i64, usize>>,
    updates: broadcast::Sender<BookUpdate>,
}

/// A watcher's interest in some books; forgotten when dropped.
pub struct Watch {
    inner: Arc<Inner>,
    ids: Vec<i64>,
    pub updates: broadcast::Receiver<BookUpdate>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(mut watched) = self.inner.watched.lock() {
            for id in &self.ids {
                if let Some(count) = watched.get_mut(id) {
                    *count -= 1;
                    if *count == 0 {
                        watched.remove(id);
                    }
                }
            }
        }
    }
}

impl LiveBooks {
    /// Starts the instance's loader task (inside a tokio runtime; without
    /// one, watchers simply hear nothing). It ends with the cache.
    pub fn start(db: Db, cache: &Cache) -> Self {
        let inner = Arc::new(Inner {
            watched: Mutex::default(),
            updates: broadcast::channel(BUFFERED_UPDATES).0,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let signals = cache.signals();
            runtime.spawn(load_changes(db, signals, Arc::downgrade(&inner)));
        }
        Self { inner }
    }

    /// Watches `ids` from now on.
    pub fn watch(&self, ids: Vec<i64>) -> Watch {
        let updates = self.inner.updates.subscribe();
        if let Ok(mut watched) = self.inner.watched.lock() {
            for id in &ids {
                *watched.entry(*id).or_default() += 1;
            }
        }
        Watch {
            inner: self.inner.clone(),
            ids,
            updates,
        }
    }
}

impl Watch {
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// The next rows among this watcher's books (`None`: the instance is
    /// shutting down).
    pub async fn next(&mut self, db: &Db) -> Option<Vec<Book>> {
        loop {
            let update = match self.updates.recv().await {
                Ok(update) => update,
                Err(RecvError::Lagged(_)) => BookUpdate::Reload,
                Err(RecvError::Closed) => return None,
            };
            let rows = match update {
                BookUpdate::Rows(rows) => rows
                    .iter()
                    .filter(|book| self.ids.contains(&book.id))
                    .cloned()
                    .collect(),
                BookUpdate::Reload => match load(db, &self.ids).await {
                    Some(rows) => rows,
                    None => continue,
                },
            };
            if !rows.is_empty() {
                return Some(rows);
            }
        }
    }
}

/// The loader task: one query per signal that names a watched book.
async fn load_changes(
    db: Db,
    mut signals: broadcast::Receiver<Signal>,
    inner: std::sync::Weak<Inner>,
) {
    loop {
        let signal = match signals.recv().await {
            Ok(signal) => signal,
            Err(RecvError::Lagged(_)) => Signal::Resync,
            Err(RecvError::Closed) => return,
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let ids: Vec<i64> = {
            let Ok(watched) = inner.watched.lock() else {
                return;
            };
            match &signal {
                Signal::Changed(tags) => tags
                    .iter()
                    .filter_map(|tag| match tag {
                        Tag::Entity(Kind::Book | Kind::BookRelations, id) => Some(*id),
                        _ => None,
                    })
                    .filter(|id| watched.contains_key(id))
                    .collect(),
                Signal::Resync => watched.keys().copied().collect(),
                Signal::Event(_) => Vec::new(),
            }
        };
        if ids.is_empty() {
            continue;
        }
        // Postgres failing: this change is not re-sent (the next one is).
        if let Some(rows) = load(&db, &ids).await {
            let _ = inner.updates.send(BookUpdate::Rows(rows.into()));
        }
    }
}

/// The books' current rows from the primary; `None` (logged) when Postgres
/// fails.
pub async fn load(db: &Db, ids: &[i64]) -> Option<Vec<Book>> {
    let loaded = async {
        let mut conn = db.primary().await.map_err(|error| error.to_string())?;
        db::books::find_by_ids(&mut conn, ids)
            .await
            .map_err(|error| error.to_string())
    }
    .await;
    match loaded {
        Ok(rows) => Some(rows),
        Err(error) => {
            tracing::warn!(%error, "bookUpdated: could not load the changed books");
            None
        }
    }
}
