//! Where automatic persisted queries live: query texts by their SHA-256, in
//! a bounded in-process store (least used evicted) in front of Redis (with
//! a TTL, shared by every instance).
//!
//! A text is only ever filed under its own hash: [`PersistedQueries::register`]
//! takes the text alone and hashes it, and a text read back from Redis is
//! hashed again before use, so no client (and no stray Redis entry) can put
//! a text under another text's hash. Redis is an optimisation here too: a
//! failed, slow or skipped call (the cache client's bounded calls) only
//! means "not found here", never an error or a wait past the timeout. Never
//! parses, validates or runs a query.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::client::Cache;

/// A query's SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryHash([u8; 32]);

impl QueryHash {
    /// The hash of `text` (its UTF-8 bytes).
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// From 64 hexadecimal digits (either case); `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut hash = [0u8; 32];
        for (byte, pair) in hash.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |d: u8| (d as char).to_digit(16);
            *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(Self(hash))
    }
}

/// Lowercase hexadecimal, as clients send it.
impl fmt::Display for QueryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for QueryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryHash({self})")
    }
}

/// Registered query texts: this instance's, then every instance's (Redis).
#[derive(Clone)]
pub struct PersistedQueries {
    local: moka::sync::Cache<QueryHash, Arc<str>>,
    cache: Cache,
    ttl: Duration,
}

impl PersistedQueries {
    /// Per-entry bookkeeping counted with its text against `local_bytes`.
    const ENTRY_OVERHEAD: usize = 96;

    pub fn new(cache: Cache, ttl: Duration, local_bytes: u64) -> Self {
        let local = moka::sync::Cache::builder()
            .max_capacity(local_bytes)
            .weigher(|_: &QueryHash, text: &Arc<str>| {
                u32::try_from(text.len() + Self::ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .build();
        Self { local, cache, ttl }
    }

    /// The text registered under `hash`, here or (bounded) in Redis.
    pub async fn find(&self, hash: QueryHash) -> Option<Arc<str>> {
        if let Some(text) = self.local.get(&hash) {
            return Some(text);
        }
        let key = self.key(hash);
        let text = self
            .cache
            .run(|mut connection| async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<String>>(&mut connection)
                    .await
            })
            .await
            .flatten()?;
        // Only a text that is what its key says (never trust the key alone).
        if QueryHash::of(&text) != hash {
            return None;
        }
        let text: Arc<str> = Arc::from(text);
        self.local.insert(hash, text.clone());
        Some(text)
    }

    /// Files `text` under its own hash, here and (bounded) in Redis, and
    /// returns that hash. A text this instance holds already is not sent to
    /// Redis again.
    pub async fn register(&self, text: &str) -> QueryHash {
        let hash = QueryHash::of(text);
        if self.local.contains_key(&hash) {
            return hash;
        }
        self.local.insert(hash, Arc::from(text));
        let key = self.key(hash);
        let ttl = self.ttl.as_secs().max(1);
        let text = text.to_owned();
        self.cache
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(text)
                    .arg("EX")
                    .arg(ttl)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
        hash
    }

    /// `{namespace}:v{CACHE_VERSION}:apq:{hash}`: not under the entities'
    /// generation (a text never goes stale; only its TTL ends it).
    fn key(&self, hash: QueryHash) -> String {
        self.cache.namespaced(format_args!("apq:{hash}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_and_print_as_64_hex_digits() {
        let hash = QueryHash::of("{ genres { name } }");
        let hex = hash.to_string();
        assert_eq!(hex.len(), 64);
        assert_eq!(QueryHash::from_hex(&hex), Some(hash));
        assert_eq!(QueryHash::from_hex(&hex.to_uppercase()), Some(hash));
        // The SHA-256 of the empty string, as `sha256sum` prints it.
        assert_eq!(
            QueryHash::of("").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for bad in [
            "",
            "abc",
            &hex[..63],
            &format!("{hex}0"),
            &hex.replace('e', "g"),
        ] {
            assert_eq!(QueryHash::from_hex(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn without_redis_a_registered_text_is_found_here_only() {
        let queries = PersistedQueries::new(Cache::disabled(), Duration::from_secs(60), 1 << 20);
        let hash = queries.register("{ genres { name } }").await;
        assert_eq!(hash, QueryHash::of("{ genres { name } }"));
        assert_eq!(
            queries.find(hash).await.as_deref(),
            Some("{ genres { name } }")
        );
        let elsewhere = PersistedQueries::new(Cache::disabled(), Duration::from_secs(60), 1 << 20);
        assert_eq!(elsewhere.find(hash).await, None);
    }
}
