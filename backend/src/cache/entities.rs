//! Read-through and invalidation of cached entities (what the DataLoaders
//! read): one MGET, one `load` call for the misses, one pipelined SET.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use serde::{Serialize, de::DeserializeOwned};

use super::client::Cache;
use super::keys::{Entry, Kind};

impl Cache {
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
}
