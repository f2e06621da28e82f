//! Read-your-writes with a read replica, on every instance: after a
//! session's mutation, the primary's WAL position is stored on the session
//! row (`sessions.write_lsn`, one statement, only where a replica is
//! configured); a later request of that session, on any instance, reads
//! the catalog from the primary until the replica has replayed that far
//! (as of the replica probe, see `db::replica`), then from the replica
//! again. The session lookup is the one the request makes anyway (kept for
//! its resolvers); requests without a session token pay nothing.
//!
//! Never marks a request as having asked who the viewer is: the catalog it
//! reads is everyone's, only fresher.

use crate::auth::{RequestAuth, Sessions, token_hash};
use crate::config::Config;
use crate::db::{self, Db};

#[derive(Clone)]
pub struct SessionWrites {
    db: Db,
    sessions: Sessions,
}

impl SessionWrites {
    pub fn new(db: Db, config: &Config) -> Self {
        Self {
            sessions: Sessions::new(db.clone(), config),
            db,
        }
    }

    /// The pools a request should read with: the primary alone while the
    /// replica lags behind the session's last write.
    pub async fn db_for(&self, auth: &RequestAuth) -> Db {
        if !self.db.replica_usable() || auth.token().is_none() {
            return self.db.clone();
        }
        match auth.write_lsn(&self.sessions).await {
            Ok(Some(lsn)) if !self.db.replica_has_replayed(lsn) => self.db.reading_from_primary(),
            // A failed lookup is retried (and answered) by the resolvers.
            _ => self.db.clone(),
        }
    }

    /// Whether a mutation by this request's session must be recorded, and
    /// the token to record it by.
    pub fn writer(&self, auth: &RequestAuth, mutation: bool) -> Option<String> {
        (mutation && self.db.has_replica())
            .then(|| auth.token().map(str::to_owned))
            .flatten()
    }

    /// Records where the session of `token` wrote (after the mutation's
    /// commit). A failure costs only freshness: logged, never the answer.
    pub async fn record(&self, token: &str) {
        let hash = token_hash(token);
        let recorded = match self.db.primary().await {
            Ok(mut conn) => db::sessions::record_write(&mut conn, &hash)
                .await
                .map(drop)
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = recorded {
            tracing::warn!(%error, "could not record the session's write position");
        }
    }
}
