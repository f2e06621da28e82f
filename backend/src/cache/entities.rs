//! Read-through of cached entities (what the DataLoaders read): one Redis
//! round trip for the entries, one `load` call for the misses, one for the
//! store. Safe under concurrency:
//!
//! - single-flight: within an instance, one call reads and loads a key
//!   while the others wait for it (`flights`); across instances, the one
//!   holding the Redis lease loads while the others poll for its store;
//! - no stale store: a load is stored only if no write invalidated the key
//!   since the read (stamps, see `scripts`) and the generation is unchanged;
//! - a key written recently is loaded from the primary, never the replica.
//!
//! Never decides what is stale (writes call `invalidate`).

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Serialize, de::DeserializeOwned};

use super::client::Cache;
use super::flights::{Follower, Leader, Role};
use super::keys::Kind;
use super::scripts::{Loaded, Snapshot, new_token};

/// Where a loader should read its misses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The read replica (the primary when none is configured).
    Replica,
    /// The primary: an entry was written too recently for the replica.
    Primary,
}

/// How often a call waiting for another instance's load looks again.
const POLL: Duration = Duration::from_millis(10);

/// A key this call leads (reads and, if missing, loads).
struct Lead<K> {
    id: K,
    leader: Leader,
    stamp: Option<String>,
    /// Load it now (this call holds the lease, or nobody can).
    load_now: bool,
}

impl Cache {
    /// Entities found in the cache and entities loaded, so far.
    pub fn entity_counts(&self) -> (u64, u64) {
        let counts = &self.inner.entity_counts;
        (
            counts.hits.load(Ordering::Relaxed),
            counts.misses.load(Ordering::Relaxed),
        )
    }

    /// [`Cache::read_through_from`] for loaders with a single source.
    pub async fn read_through<K, V, E, F, Fut>(
        &self,
        kind: Kind,
        ids: &[K],
        load: F,
    ) -> Result<HashMap<K, V>, E>
    where
        K: Display + Hash + Eq + Clone,
        V: Serialize + DeserializeOwned,
        F: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = Result<HashMap<K, V>, E>>,
    {
        self.read_through_from(kind, ids, |ids, _| load(ids)).await
    }

    /// Returns the values for `ids`: the ones Redis has, plus the misses,
    /// which `load` fetches from `Source` (one call, rarely a second for
    /// keys whose other loader failed) and which are then stored with the
    /// TTL. Undecodable entries count as misses.
    pub async fn read_through_from<K, V, E, F, Fut>(
        &self,
        kind: Kind,
        ids: &[K],
        load: F,
    ) -> Result<HashMap<K, V>, E>
    where
        K: Display + Hash + Eq + Clone,
        V: Serialize + DeserializeOwned,
        F: Fn(Vec<K>, Source) -> Fut,
        Fut: Future<Output = Result<HashMap<K, V>, E>>,
    {
        let mut found = HashMap::with_capacity(ids.len());
        let started = Instant::now();
        let lease_token = new_token();
        let mut seen = HashSet::with_capacity(ids.len());
        let mut leads = Vec::new();
        let mut followers: Vec<(K, Follower)> = Vec::new();
        for id in ids {
            if !seen.insert(id) {
                continue;
            }
            match self.inner.flights.lead_or_follow(&self.key(kind, id)) {
                Role::Leader(leader) => leads.push(Lead {
                    id: id.clone(),
                    leader,
                    stamp: None,
                    load_now: true,
                }),
                Role::Follower(follower) => followers.push((id.clone(), follower)),
            }
        }
        let mut snapshot = None;
        if !leads.is_empty() {
            let keys: Vec<String> = leads
                .iter()
                .map(|lead| lead.leader.key().to_owned())
                .collect();
            snapshot = self.read_entries(&keys, &lease_token).await;
            if let Some(read) = &snapshot {
                leads = take_hits(leads, read, &mut found);
            }
        }
        if snapshot.is_some() && leads.iter().any(|lead| !lead.load_now) {
            leads = self
                .wait_for_others(leads, &mut found, &lease_token, started)
                .await;
        }
        let misses = leads.len() as u64;
        let counts = &self.inner.entity_counts;
        counts.misses.fetch_add(misses, Ordering::Relaxed);
        (counts.hits).fetch_add(
            (seen.len() as u64).saturating_sub(misses),
            Ordering::Relaxed,
        );
        if !leads.is_empty() {
            let written_recently = leads.iter().any(|lead| lead.stamp.is_some());
            let source = match written_recently {
                true => Source::Primary,
                false => Source::Replica,
            };
            let misses = leads.iter().map(|lead| lead.id.clone()).collect();
            let loaded = load(misses, source).await?;
            let mut stored = Vec::with_capacity(leads.len());
            // Calls arriving while this one stores join its finished loads.
            let mut landed = Vec::with_capacity(leads.len());
            for lead in leads {
                let json: Option<Arc<[u8]>> = loaded
                    .get(&lead.id)
                    .and_then(|value| serde_json::to_vec(value).ok())
                    .map(Arc::from);
                stored.push((lead.leader.key().to_owned(), lead.stamp, json.clone()));
                landed.push(lead.leader.finish(json));
            }
            // A load slower than half the recent-write window could outlive
            // the stamps that would refuse it: not stored.
            if let Some(read) = &snapshot
                && started.elapsed() < self.inner.settings.recent_write / 2
            {
                let entries: Vec<Loaded<'_>> = stored
                    .iter()
                    .map(|(key, stamp, json)| Loaded {
                        key,
                        stamp: stamp.as_deref(),
                        json: json.as_deref(),
                    })
                    .collect();
                self.store_entries(&read.generation, &lease_token, &entries)
                    .await;
            }
            drop(landed);
            found.extend(loaded);
        }
        let mut failed = Vec::new();
        for (id, follower) in followers {
            match follower.wait().await {
                Some(Some(json)) => match serde_json::from_slice::<V>(&json) {
                    Ok(value) => {
                        found.insert(id, value);
                    }
                    Err(_) => failed.push(id),
                },
                // No such row.
                Some(None) => {}
                None => failed.push(id),
            }
        }
        if !failed.is_empty() {
            found.extend(load(failed, Source::Primary).await?);
        }
        Ok(found)
    }

    /// Polls for keys another instance holds the lease of, until they are
    /// stored, their lease is ours, or the lease time is up; returns what
    /// is left to load.
    async fn wait_for_others<K, V>(
        &self,
        mut leads: Vec<Lead<K>>,
        found: &mut HashMap<K, V>,
        lease_token: &str,
        started: Instant,
    ) -> Vec<Lead<K>>
    where
        K: Hash + Eq,
        V: DeserializeOwned,
    {
        let deadline = started + self.inner.settings.lease;
        while Instant::now() < deadline {
            let (waiting, ready): (Vec<_>, Vec<_>) =
                leads.into_iter().partition(|lead| !lead.load_now);
            leads = ready;
            if waiting.is_empty() {
                return leads;
            }
            tokio::time::sleep(POLL).await;
            let keys: Vec<String> = waiting
                .iter()
                .map(|lead| lead.leader.key().to_owned())
                .collect();
            let Some(read) = self.read_entries(&keys, lease_token).await else {
                leads.extend(waiting.into_iter().map(|lead| Lead {
                    load_now: true,
                    ..lead
                }));
                return leads;
            };
            leads.extend(take_hits(waiting, &read, found));
        }
        for lead in &mut leads {
            lead.load_now = true;
        }
        leads
    }
}

/// Hands the hits of `read` to `found` and to the followers; returns the
/// misses, noting their stamps and whether this call holds their lease.
fn take_hits<K, V>(leads: Vec<Lead<K>>, read: &Snapshot, found: &mut HashMap<K, V>) -> Vec<Lead<K>>
where
    K: Hash + Eq,
    V: DeserializeOwned,
{
    let mut misses = Vec::new();
    for (mut lead, entry) in leads.into_iter().zip(&read.entries) {
        let hit = entry.value.as_deref().and_then(|json| {
            serde_json::from_slice::<V>(json)
                .ok()
                .map(|value| (json, value))
        });
        match hit {
            Some((json, value)) => {
                drop(lead.leader.finish(Some(Arc::from(json))));
                found.insert(lead.id, value);
            }
            None => {
                lead.stamp = entry.stamp.clone();
                // An undecodable entry (no lease was taken) is replaced.
                lead.load_now = entry.leased || entry.value.is_some();
                misses.push(lead);
            }
        }
    }
    misses
}
