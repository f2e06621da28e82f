//! Sessions: 256-bit random opaque tokens; Postgres stores only their
//! SHA-256 and answers every lookup (on the primary). Idle and absolute
//! expiry; revocation deletes the row, so a session ended on one instance is
//! refused by every instance from the next request on, whatever Redis did
//! (down, hung, flushed or restored from an old snapshot). Never caches a
//! lookup anywhere: a cached session could outlive its revocation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tokens::{new_token, token_hash};
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::Error;

/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub session_id: i64,
    pub user_id: i64,
    pub role: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The user's profile, read with the session (in the same statement),
    /// so `viewer` costs nothing more; `None` for a session started by
    /// this request (the sign-in has the user at hand).
    pub profile: Option<Profile>,
    /// The version of everything `viewer` shows this user, as of the start
    /// of the request (`db::sessions::ActiveSession::data_version`); `None`
    /// for a session started by this request.
    #[serde(default)]
    pub data_version: Option<i64>,
    /// The primary's WAL position after this session's last write (only
    /// recorded where reads go to a replica): catalog reads go to the
    /// primary until the replica has replayed it.
    #[serde(default)]
    pub write_lsn: Option<u64>,
}

/// What the user sees of themself, as of the start of the request: never
/// the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl Viewer {
    pub fn is_staff(&self) -> bool {
        self.role == db::users::ROLE_STAFF
    }
}

/// Session rules and storage, shared by all requests.
#[derive(Clone)]
pub struct Sessions {
    db: Db,
    idle: Duration,
    max_age: Duration,
}

impl Sessions {
    pub fn new(db: Db, config: &Config) -> Self {
        Self {
            db,
            idle: config.session_idle,
            max_age: config.session_max_age,
        }
    }

    /// Starts a session for a user of `role`; returns the token (shown once,
    /// never stored) and the session's viewer.
    pub async fn start(
        &self,
        user_id: i64,
        role: &str,
        user_agent: Option<&str>,
    ) -> Result<(String, Viewer), Error> {
        let token = new_token();
        let now = Utc::now();
        let expires_at = now + self.max_age;
        let session = db::sessions::NewSession {
            token_hash: token_hash(&token).to_vec(),
            user_id,
            expires_at,
            user_agent: user_agent.map(|agent| agent.chars().take(512).collect()),
        };
        let mut conn = self.db.primary().await?;
        let session_id = db::sessions::insert(&mut conn, &session).await?;
        let viewer = Viewer {
            session_id,
            user_id,
            role: role.to_owned(),
            last_seen_at: now,
            expires_at,
            profile: None,
            data_version: None,
            write_lsn: None,
        };
        Ok((token, viewer))
    }

    /// The viewer for a token, if its session is alive: one statement,
    /// which also records the session's use (at most once per
    /// [`TOUCH_EVERY`]) and reads the user's profile.
    pub async fn resolve(&self, token: &str) -> Result<Option<Viewer>, Error> {
        let hash = token_hash(token);
        let now = Utc::now();
        let mut conn = self.db.primary().await?;
        let found = db::sessions::find_active_and_touch(
            &mut conn,
            &hash,
            now,
            now - self.idle,
            now - TOUCH_EVERY,
        )
        .await?;
        Ok(found.map(|found| Viewer {
            session_id: found.session_id,
            user_id: found.user_id,
            role: found.role,
            last_seen_at: found.last_seen_at,
            expires_at: found.expires_at,
            profile: Some(Profile {
                email: found.email,
                name: found.name,
                created_at: found.created_at,
                email_verified_at: found.email_verified_at,
            }),
            data_version: Some(found.data_version),
            write_lsn: found.write_lsn.as_deref().and_then(db::replica::parse_lsn),
        }))
    }

    /// Ends one session everywhere (its row goes).
    pub async fn end(&self, session_id: i64) -> Result<bool, Error> {
        let mut conn = self.db.primary().await?;
        Ok(db::sessions::delete(&mut conn, session_id).await?.is_some())
    }

    /// Ends every session of `user_id` but `keep`.
    pub async fn end_others(&self, user_id: i64, keep: Option<i64>) -> Result<usize, Error> {
        let mut conn = self.db.primary().await?;
        let hashes = db::sessions::delete_others(&mut conn, user_id, keep).await?;
        Ok(hashes.len())
    }
}
