//! Event counters in fixed windows (what sign-in throttling counts with).

use std::time::Duration;

use super::client::Cache;

impl Cache {
    /// Counts one more event under `name` in a window that starts at the
    /// first event and lasts `window`; returns the count so far. `None` when
    /// Redis is unavailable (callers decide whether to fail open).
    pub async fn count_event(&self, name: &str, window: Duration) -> Option<i64> {
        let key = self.namespaced(format_args!("events:{name}"));
        let window = window.as_secs().max(1);
        let (count,): (i64,) = self
            .run(|mut connection| async move {
                redis::pipe()
                    .incr(&key, 1)
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(window)
                    .arg("NX")
                    .ignore()
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Some(count)
    }

    /// Forgets the events counted under `name`.
    pub async fn reset_events(&self, name: &str) {
        let key = self.namespaced(format_args!("events:{name}"));
        self.run(|mut connection| async move {
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }

    /// Takes back one event counted under `name` (a success that must not
    /// count). A key already gone may reappear at -1, expiring with the
    /// window: at worst one extra attempt.
    pub async fn uncount_event(&self, name: &str, window: Duration) {
        let key = self.namespaced(format_args!("events:{name}"));
        let window = window.as_secs().max(1);
        self.run(|mut connection| async move {
            redis::pipe()
                .cmd("DECR")
                .arg(&key)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(window)
                .arg("NX")
                .ignore()
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }
}
