//! Passwords, sessions and who is asking.
//!
//! - Passwords: argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed
//!   and verified on blocking threads; 8 to 128 characters. Never logged or
//!   returned.
//! - Sessions: 256-bit random opaque tokens; Postgres stores only their
//!   SHA-256 and is the source of truth; Redis caches lookups for
//!   [`SESSION_TTL`]. Idle and absolute expiry; revocation deletes the row and
//!   the cache entry at once.
//! - [`RequestAuth`]: the token a request carried (`Authorization: Bearer` or
//!   the session cookie), resolved to a [`Viewer`] on first use only.
//! - Sign-in throttling per account and per client address, in Redis.

use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::TryRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::cache::{Cache, Entry, SESSION_TTL};
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::Error;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Checks a new password's length (in characters), before any hashing.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!("use at least {MIN_PASSWORD_CHARS} characters"))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("use at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        Ok(())
    }
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
    })
    .await?
}

/// A hash of a password nobody knows, verified against when the email is
/// unknown so that both failures take the same time.
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

/// Verifies `password` against `hash`, or against a dummy hash (always
/// false, same cost) when there is no account.
pub async fn verify_password(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    let (hash, real) = match hash {
        Some(hash) => (hash, true),
        None => {
            let dummy = DUMMY_HASH
                .get_or_try_init(|| hash_password(new_token()))
                .await?;
            (dummy.clone(), false)
        }
    };
    let matches = tokio::task::spawn_blocking(move || {
        argon2()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await?;
    Ok(matches && real)
}

/// A new 256-bit random token, base64url (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // The operating system's generator; failing it is not recoverable.
    #[allow(clippy::expect_used)]
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub session_id: i64,
    pub user_id: i64,
    pub role: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
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
    cache: Cache,
    idle: Duration,
    max_age: Duration,
}

impl Sessions {
    pub fn new(db: Db, cache: Cache, config: &Config) -> Self {
        Self {
            db,
            cache,
            idle: config.session_idle,
            max_age: config.session_max_age,
        }
    }

    /// Starts a session; returns the token (shown once, never stored) and
    /// when it expires at the latest.
    pub async fn start(
        &self,
        user_id: i64,
        user_agent: Option<&str>,
    ) -> Result<(String, DateTime<Utc>), Error> {
        let token = new_token();
        let expires_at = Utc::now() + self.max_age;
        let session = db::sessions::NewSession {
            token_hash: token_hash(&token).to_vec(),
            user_id,
            expires_at,
            user_agent: user_agent.map(|agent| agent.chars().take(512).collect()),
        };
        let mut conn = self.db.primary().await?;
        db::sessions::insert(&mut conn, &session).await?;
        Ok((token, expires_at))
    }

    /// The viewer for a token, if its session is alive.
    pub async fn resolve(&self, token: &str) -> Result<Option<Viewer>, Error> {
        let hash = token_hash(token);
        let now = Utc::now();
        if let Some(viewer) = self.cache.session::<Viewer>(&hash).await
            && viewer.expires_at > now
            && viewer.last_seen_at + self.idle > now
        {
            return Ok(Some(viewer));
        }
        let mut conn = self.db.primary().await?;
        let Some(found) = db::sessions::find_active(&mut conn, &hash, now - self.idle).await?
        else {
            return Ok(None);
        };
        let mut viewer = Viewer {
            session_id: found.session_id,
            user_id: found.user_id,
            role: found.role,
            last_seen_at: found.last_seen_at,
            expires_at: found.expires_at,
        };
        if (now - viewer.last_seen_at).to_std().unwrap_or_default() > TOUCH_EVERY {
            db::sessions::touch(&mut conn, viewer.session_id).await?;
            viewer.last_seen_at = now;
        }
        let ttl = (viewer.expires_at - now)
            .to_std()
            .unwrap_or_default()
            .min(SESSION_TTL);
        self.cache.store_session(&hash, &viewer, ttl).await;
        Ok(Some(viewer))
    }

    /// Ends one session everywhere: the row and its cache entry.
    pub async fn end(&self, session_id: i64) -> Result<bool, Error> {
        let mut conn = self.db.primary().await?;
        let Some(hash) = db::sessions::delete(&mut conn, session_id).await? else {
            return Ok(false);
        };
        self.forget(&[hash]).await;
        Ok(true)
    }

    /// Ends every session of `user_id` but `keep`.
    pub async fn end_others(&self, user_id: i64, keep: Option<i64>) -> Result<usize, Error> {
        let mut conn = self.db.primary().await?;
        let hashes = db::sessions::delete_others(&mut conn, user_id, keep).await?;
        self.forget(&hashes).await;
        Ok(hashes.len())
    }

    async fn forget(&self, hashes: &[Vec<u8>]) {
        let entries: Vec<Entry> = hashes
            .iter()
            .filter_map(|hash| <[u8; 32]>::try_from(hash.as_slice()).ok())
            .map(Entry::Session)
            .collect();
        self.cache.invalidate(&entries).await;
    }
}

/// What a request carried, and its viewer once resolved.
pub struct RequestAuth {
    token: Option<String>,
    pub user_agent: Option<String>,
    pub client_address: String,
    viewer: OnceCell<Option<Viewer>>,
}

impl RequestAuth {
    pub fn new(token: Option<String>, user_agent: Option<String>, client_address: String) -> Self {
        Self {
            token,
            user_agent,
            client_address,
            viewer: OnceCell::new(),
        }
    }

    /// The signed-in viewer, looked up once per request (and only when a
    /// resolver asks).
    pub async fn viewer(&self, sessions: &Sessions) -> Result<Option<Viewer>, Error> {
        let viewer = self
            .viewer
            .get_or_try_init(|| async {
                match &self.token {
                    // A token longer than ours cannot be ours: do not hash it.
                    Some(token) if token.len() <= 64 => sessions.resolve(token).await,
                    _ => Ok(None),
                }
            })
            .await?;
        Ok(viewer.clone())
    }
}

/// The viewer, or `UNAUTHENTICATED`.
pub async fn require_user(ctx: &async_graphql::Context<'_>) -> Result<Viewer, Error> {
    let auth = ctx.data_unchecked::<RequestAuth>();
    auth.viewer(ctx.data_unchecked::<Sessions>())
        .await?
        .ok_or(Error::Unauthenticated)
}

/// A staff viewer, or `UNAUTHENTICATED` / `FORBIDDEN`.
pub async fn require_staff(ctx: &async_graphql::Context<'_>) -> Result<Viewer, Error> {
    let viewer = require_user(ctx).await?;
    if viewer.is_staff() {
        Ok(viewer)
    } else {
        Err(Error::Forbidden)
    }
}

/// Sign-in throttling: attempts per account and per client address.
#[derive(Clone)]
pub struct Throttle {
    cache: Cache,
    per_account: i64,
    per_client: i64,
    window: Duration,
}

impl Throttle {
    pub fn new(cache: Cache, config: &Config) -> Self {
        Self {
            cache,
            per_account: config.login_attempts_per_account,
            per_client: config.login_attempts_per_client,
            window: config.login_throttle_window,
        }
    }

    /// Counts one attempt; `Err(TooManyAttempts)` past either limit. Fails
    /// open (with the cache's one warning) when Redis is unavailable.
    pub async fn attempt(&self, email: &str, client_address: &str) -> Result<(), Error> {
        let account = format!("login:account:{}", email.trim().to_lowercase());
        let client = format!("login:client:{client_address}");
        let (account_count, client_count) = tokio::join!(
            self.cache.count_event(&account, self.window),
            self.cache.count_event(&client, self.window),
        );
        let over = account_count.is_some_and(|count| count > self.per_account)
            || client_count.is_some_and(|count| count > self.per_client);
        if over {
            return Err(Error::TooManyAttempts {
                retry_after_secs: self.window.as_secs(),
            });
        }
        Ok(())
    }

    /// A successful sign-in clears the account's count.
    pub async fn succeeded(&self, email: &str) {
        self.cache
            .reset_events(&format!("login:account:{}", email.trim().to_lowercase()))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_unique() {
        let tokens: std::collections::HashSet<String> = (0..1000).map(|_| new_token()).collect();
        assert_eq!(tokens.len(), 1000);
        for token in &tokens {
            assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 32);
        }
    }

    #[test]
    fn password_length_rules() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("eightchr").is_ok());
        assert!(check_new_password(&"é".repeat(128)).is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse".to_owned()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("correct horse".into(), None).await.unwrap());
    }
}
