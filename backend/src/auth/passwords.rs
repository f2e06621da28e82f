//! Passwords: argon2id with OWASP's parameters (19 MiB, t=2, p=1), hashed
//! and verified on blocking threads; 8 to 128 characters. A password is
//! never logged, stored or returned: only its hash is.
//!
//! Hashing is bounded ([`Hasher`]): at most one hash per core runs at once
//! (each holds 19 MiB), and at most a fixed number wait for a core; past
//! that, the caller gets [`Error::Busy`] at once instead of queueing, so a
//! flood of `register` or `login` calls cannot pile up work or memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::{OnceCell, Semaphore};

use super::tokens::new_token;
use crate::error::Error;

/// Hashes allowed to wait for a core, per core.
const WAITING_PER_CORE: usize = 32;

/// Runs blocking password work, a bounded number at once with a bounded
/// queue; counts what ran at once (for tests and metrics).
pub struct Hasher {
    permits: Arc<Semaphore>,
    max_waiting: usize,
    waiting: AtomicUsize,
    running: Arc<AtomicUsize>,
    high_water: Arc<AtomicUsize>,
}

/// Takes a waiter off the queue however its wait ends (even cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hasher {
    pub fn new(concurrency: usize, max_waiting: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            max_waiting,
            waiting: AtomicUsize::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            high_water: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `work` on a blocking thread once a core is free, or refuses
    /// with [`Error::Busy`] when the queue is full. The permit travels with
    /// the work: a cancelled caller cannot free a core still hashing.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Error::Busy);
                }
                let _waiting = Waiting(&self.waiting);
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|error| Error::Internal(error.into()))?
            }
        };
        let (running, high_water) = (self.running.clone(), self.high_water.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            high_water.fetch_max(now, Ordering::SeqCst);
            let result = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            result
        })
        .await
        .map_err(|error| Error::Internal(error.into()))
    }

    /// The most hashes that ever ran at once.
    pub fn high_water(&self) -> usize {
        self.high_water.load(Ordering::SeqCst)
    }
}

/// The process's hasher: one hash per core.
static HASHER: LazyLock<Hasher> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Hasher::new(cores, cores * WAITING_PER_CORE)
});

/// How many hashes ever ran at once in this process, and the bound.
pub fn hashing_high_water() -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (HASHER.high_water(), cores)
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

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

/// Hashes a new password (bounded: [`Error::Busy`] when too many wait).
pub async fn hash_password(password: String) -> Result<String, Error> {
    HASHER
        .run(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| Error::Internal(anyhow::anyhow!("hashing a password: {error}")))
        })
        .await?
}

/// A hash of a password nobody knows, verified against when the email is
/// unknown so that both failures take the same time.
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

/// Verifies `password` against `hash`, or against a dummy hash (always
/// false, same cost) when there is no account.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, Error> {
    let (hash, real) = match hash {
        Some(hash) => (hash, true),
        None => {
            let dummy = DUMMY_HASH
                .get_or_try_init(|| hash_password(new_token()))
                .await?;
            (dummy.clone(), false)
        }
    };
    let matches = HASHER
        .run(move || {
            argon2()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await?;
    Ok(matches && real)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hashing_never_runs_more_than_the_bound_and_a_full_queue_refuses() {
        let hasher = Arc::new(Hasher::new(2, 3));
        let calls = (0..20).map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(|| std::thread::sleep(Duration::from_millis(50)))
                    .await
            })
        });
        let results = futures_util::future::join_all(calls).await;
        let busy = results
            .iter()
            .filter(|result| matches!(result, Ok(Err(Error::Busy))))
            .count();
        let done = results
            .iter()
            .filter(|result| matches!(result, Ok(Ok(()))))
            .count();
        assert_eq!(hasher.high_water(), 2, "at most 2 at once, and 2 did run");
        // 2 running + 3 waiting are served; the other 15 are refused.
        assert_eq!((done, busy), (5, 15));
        // Once the queue drains, work is accepted again.
        assert!(hasher.run(|| ()).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_does_not_free_a_core_still_hashing() {
        let hasher = Arc::new(Hasher::new(1, 10));
        let slow = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .run(|| std::thread::sleep(Duration::from_millis(200)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        slow.abort();
        let second = hasher.run(|| std::thread::sleep(Duration::from_millis(10)));
        assert!(second.await.is_ok());
        assert_eq!(hasher.high_water(), 1);
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
