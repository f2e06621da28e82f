//! Single-flight within one instance: while one call loads an entry from
//! Postgres, every other call that needs it waits for that load instead of
//! running its own. Whatever Redis does, a hot miss costs one load per
//! instance. Holds no values after a load ends; never talks to Redis or
//! Postgres.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// What a load produced for one entry: its JSON (`None`: no such row).
pub(super) type Loaded = Option<Arc<[u8]>>;

#[derive(Clone)]
enum Outcome {
    Pending,
    Done(Loaded),
    /// The load failed or was abandoned: followers load themselves.
    Failed,
}

#[derive(Default)]
pub(super) struct Flights {
    running: Mutex<HashMap<String, (u64, watch::Receiver<Outcome>)>>,
}

/// The caller loads the entry and must report it ([`Leader::finish`]);
/// dropping it unreported tells the followers to load themselves.
pub(super) struct Leader {
    flights: Arc<Flights>,
    key: String,
    flight: u64,
    sender: watch::Sender<Outcome>,
}

/// A finished flight, still joinable until dropped.
pub(super) struct Landed {
    _leader: Leader,
}

/// The caller waits for another call's load.
pub(super) struct Follower(watch::Receiver<Outcome>);

pub(super) enum Role {
    Leader(Leader),
    Follower(Follower),
}

impl Flights {
    /// Joins the load of `key` in flight, or starts one.
    pub(super) fn lead_or_follow(self: &Arc<Self>, key: &str) -> Role {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let (sender, receiver) = watch::channel(Outcome::Pending);
        let flight = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut running) = self.running.lock() {
            if let Some((_, existing)) = running.get(key) {
                return Role::Follower(Follower(existing.clone()));
            }
            running.insert(key.to_owned(), (flight, receiver));
        }
        Role::Leader(Leader {
            flights: self.clone(),
            key: key.to_owned(),
            flight,
            sender,
        })
    }

    /// A write changed `key`: calls from now on do not join a load that
    /// may have read the old row (that load still ends for its followers).
    pub(super) fn forget(&self, key: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(key);
        }
    }

    fn end(&self, key: &str, flight: u64) {
        if let Ok(mut running) = self.running.lock()
            && running.get(key).is_some_and(|(id, _)| *id == flight)
        {
            running.remove(key);
        }
    }
}

impl Leader {
    pub(super) fn key(&self) -> &str {
        &self.key
    }

    /// Hands the load to the followers. Calls that arrive until the
    /// returned guard drops (the leader is storing it) get it too.
    #[must_use = "the flight ends when the guard drops"]
    pub(super) fn finish(self, loaded: Loaded) -> Landed {
        self.sender.send_replace(Outcome::Done(loaded));
        Landed { _leader: self }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.sender.send_if_modified(|outcome| {
            let unfinished = matches!(outcome, Outcome::Pending);
            if unfinished {
                *outcome = Outcome::Failed;
            }
            unfinished
        });
        self.flights.end(&self.key, self.flight);
    }
}

impl Follower {
    /// The leader's result; `None` if it failed (load it yourself).
    pub(super) async fn wait(mut self) -> Option<Loaded> {
        let outcome = self
            .0
            .wait_for(|outcome| !matches!(outcome, Outcome::Pending))
            .await
            .ok()?
            .clone();
        match outcome {
            Outcome::Done(loaded) => Some(loaded),
            Outcome::Pending | Outcome::Failed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Flights {
        fn follow(self: &Arc<Self>, key: &str) -> Option<Follower> {
            match self.lead_or_follow(key) {
                Role::Follower(follower) => Some(follower),
                Role::Leader(_) => None,
            }
        }
    }

    #[tokio::test]
    async fn followers_get_the_leaders_load_and_a_dropped_leader_frees_them() {
        let flights = Arc::new(Flights::default());
        let Role::Leader(leader) = flights.lead_or_follow("k") else {
            panic!("the first call leads");
        };
        let Role::Follower(follower) = flights.lead_or_follow("k") else {
            panic!("the second call follows");
        };
        let late = flights.follow("k").expect("in flight");
        let landed = leader.finish(Some(Arc::from(&b"1"[..])));
        assert_eq!(follower.wait().await, Some(Some(Arc::from(&b"1"[..]))));
        assert_eq!(late.wait().await, Some(Some(Arc::from(&b"1"[..]))));
        let stored_meanwhile = flights.follow("k").expect("joinable while storing");
        assert_eq!(
            stored_meanwhile.wait().await,
            Some(Some(Arc::from(&b"1"[..])))
        );
        drop(landed);
        assert!(flights.follow("k").is_none(), "the flight ended");

        let Role::Leader(leader) = flights.lead_or_follow("k") else {
            panic!("a new flight");
        };
        let follower = flights.follow("k").expect("in flight");
        drop(leader);
        assert_eq!(follower.wait().await, None);
    }

    #[tokio::test]
    async fn a_forgotten_flight_is_not_joined_but_still_ends_for_its_followers() {
        let flights = Arc::new(Flights::default());
        let Role::Leader(old) = flights.lead_or_follow("k") else {
            panic!("leads");
        };
        let follower = flights.follow("k").expect("in flight");
        flights.forget("k");
        let Role::Leader(new) = flights.lead_or_follow("k") else {
            panic!("a write started a new flight");
        };
        drop(old.finish(None));
        assert_eq!(follower.wait().await, Some(None));
        assert!(flights.follow("k").is_some(), "the new flight still runs");
        drop(new);
    }
}
