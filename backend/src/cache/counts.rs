//! The catalog's cached listing counts (`totalCount` per filter), kept under
//! a generation that one INCR retires (see `Entry::BookCounts`).

use std::sync::LazyLock;

use super::client::Cache;

/// A cached listing count and the catalog generation it was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountLookup {
    pub generation: i64,
    pub count: Option<i64>,
}

/// Reads the counts' generation, then that generation's count, in Redis.
static COUNT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local generation = redis.call('GET', KEYS[1]) or '0' \
         return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}",
    )
});

impl Cache {
    pub(super) fn generation_key(&self) -> String {
        self.namespaced("book-counts-generation")
    }

    fn count_key(&self, generation: i64, filter: &str) -> String {
        self.namespaced(format_args!("book-count:{generation}:{filter}"))
    }

    /// The cached number of live books matching `filter` (a canonical text
    /// of the filter), read with the current generation in one round trip.
    /// `None` when the cache is off or unreachable.
    pub async fn book_count(&self, filter: &str) -> Option<CountLookup> {
        let script = &*COUNT_SCRIPT;
        let prefix = self.namespaced("book-count:");
        let generation_key = self.generation_key();
        let (generation, count): (i64, Option<i64>) = self
            .run(|mut connection| async move {
                script
                    .key(generation_key)
                    .arg(prefix)
                    .arg(filter)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Some(CountLookup { generation, count })
    }

    /// Caches a count under the generation it was looked up in: if a write
    /// moved the generation meanwhile, this (possibly stale) count is never read.
    pub async fn store_book_count(&self, generation: i64, filter: &str, count: i64) {
        let key = self.count_key(generation, filter);
        let ttl = self.inner.ttl.as_secs().max(1);
        self.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(count)
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    }
}
