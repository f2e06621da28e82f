//! The catalog's cached listing counts (`totalCount` per filter), kept under
//! a counts generation that one write replaces (see `Entry::BookCounts`).
//! A count is stored only under the generation it was looked up in, and,
//! when reads go to a replica, not right after a write (the replica may not
//! have it yet).

use std::sync::LazyLock;

use super::client::Cache;

/// A cached listing count and the catalog generation it was looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountLookup {
    pub generation: i64,
    pub count: Option<i64>,
}

/// Reads the counts' generation (starting one if there is none), then that
/// generation's count, in one round trip.
/// KEYS: the generation. ARGV: key prefix, filter, a generation to start with.
static COUNT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local generation = redis.call('GET', KEYS[1])
if not generation then
  redis.call('SET', KEYS[1], ARGV[3])
  generation = ARGV[3]
end
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
",
    )
});

/// Stores a count if its generation is still current (and, with a replica,
/// no write happened within the recent-write window).
/// KEYS: generation, recent-write marker, count key. ARGV: expected
/// generation, count, TTL seconds, '1' to respect the marker.
static STORE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
return 1
",
    )
});

impl Cache {
    fn counts_generation_key(&self) -> String {
        self.namespaced("book-counts-generation")
    }

    fn counts_written_key(&self) -> String {
        self.namespaced("book-counts-written")
    }

    fn count_key(&self, generation: i64, filter: &str) -> String {
        self.namespaced(format_args!("book-count:{generation}:{filter}"))
    }

    /// Adds to `pipe` what retires every cached count.
    pub(super) fn retire_counts(&self, pipe: &mut redis::Pipeline) {
        let window = self.inner.settings.recent_write.as_millis().max(1) as u64;
        pipe.set(self.counts_generation_key(), rand::random::<i64>())
            .ignore();
        pipe.cmd("SET")
            .arg(self.counts_written_key())
            .arg(1)
            .arg("PX")
            .arg(window)
            .ignore();
    }

    /// The cached number of live books matching `filter` (a canonical text
    /// of the filter), read with the current generation in one round trip.
    /// `None` when the cache is off or unreachable.
    pub async fn book_count(&self, filter: &str) -> Option<CountLookup> {
        let script = &*COUNT_SCRIPT;
        let prefix = self.namespaced("book-count:");
        let generation_key = self.counts_generation_key();
        let (generation, count): (i64, Option<i64>) = self
            .run(|mut connection| async move {
                script
                    .key(generation_key)
                    .arg(prefix)
                    .arg(filter)
                    .arg(rand::random::<i64>())
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Some(CountLookup { generation, count })
    }

    /// Caches a count under the generation it was looked up in: if a write
    /// moved the generation meanwhile, this (possibly stale) count is not
    /// stored.
    pub async fn store_book_count(&self, generation: i64, filter: &str, count: i64) {
        let script = &*STORE_SCRIPT;
        let keys = [
            self.counts_generation_key(),
            self.counts_written_key(),
            self.count_key(generation, filter),
        ];
        let ttl = self.inner.ttl.as_secs().max(1);
        let respect_writes = if self.inner.settings.replica_reads {
            "1"
        } else {
            "0"
        };
        self.run(|mut connection| async move {
            script
                .key(&keys[..])
                .arg(generation)
                .arg(count)
                .arg(ttl)
                .arg(respect_writes)
                .invoke_async::<i64>(&mut connection)
                .await
        })
        .await;
    }
}
