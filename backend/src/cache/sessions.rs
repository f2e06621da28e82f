//! Cached session lookups (Postgres stays the source of truth).

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use super::client::Cache;

/// How long a session lookup is trusted from Redis before Postgres (the
/// source of truth) is asked again.
pub const SESSION_TTL: Duration = Duration::from_secs(60);

impl Cache {
    pub(super) fn session_key(&self, token_hash: &[u8; 32]) -> String {
        let hex: String = token_hash
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.namespaced(format_args!("session:{hex}"))
    }

    /// A cached session lookup (see [`SESSION_TTL`]).
    pub async fn session<T: DeserializeOwned>(&self, token_hash: &[u8; 32]) -> Option<T> {
        let key = self.session_key(token_hash);
        let bytes: Option<Vec<u8>> = self
            .run(|mut connection| async move {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
            })
            .await
            .flatten();
        serde_json::from_slice(&bytes?).ok()
    }

    pub async fn store_session<T: Serialize>(
        &self,
        token_hash: &[u8; 32],
        session: &T,
        ttl: Duration,
    ) {
        let Ok(bytes) = serde_json::to_vec(session) else {
            return;
        };
        let key = self.session_key(token_hash);
        let ttl = ttl.as_secs().max(1);
        self.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }
}
