//! The Lua scripts that make entity caching safe under concurrency, and
//! their typed calls. Each entry key `K` has two companions:
//!
//! - `K:stamp`, a random token written by every invalidation of `K`, kept
//!   for the recent-write window. A reader notes it before loading from
//!   Postgres; its store succeeds only if the stamp is unchanged, so a row
//!   read before a write is never stored after that write's invalidation.
//!   A stamp present at all means "written recently": load from the primary.
//! - `K:lease`, held by the one reader (across instances) that loads a
//!   missing `K`; the others wait for its store instead of loading too.
//!
//! Every value is stored as `{generation}|{json}`: a value whose generation
//! is not the current one is a miss, so replacing the generation (after an
//! outage that lost invalidations) retires every entry at once.

use std::sync::LazyLock;

use super::client::Cache;

/// Reads entries with their stamps and takes the lease of each miss.
/// KEYS: generation, entry keys. ARGV: a generation to start with if there
/// is none, the lease token, the lease in milliseconds.
static READ: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local generation = redis.call('GET', KEYS[1])
if not generation then
  redis.call('SET', KEYS[1], ARGV[1])
  generation = ARGV[1]
end
local prefix = generation .. '|'
local values, stamps, leases = {}, {}, {}
for i = 2, #KEYS do
  local key = KEYS[i]
  local value = redis.call('GET', key)
  stamps[i - 1] = redis.call('GET', key .. ':stamp') or ''
  if value and string.sub(value, 1, #prefix) == prefix then
    values[i - 1] = string.sub(value, #prefix + 1)
    leases[i - 1] = 0
  else
    values[i - 1] = ''
    local taken = redis.call('SET', key .. ':lease', ARGV[2], 'NX', 'PX', ARGV[3])
    leases[i - 1] = taken and 1 or 0
  end
end
return {generation, values, stamps, leases}
",
    )
});

/// Stores loaded entries, each only if the generation and its stamp are
/// what the reader saw, and releases the reader's leases.
/// KEYS: generation, entry keys. ARGV: expected generation, TTL seconds,
/// lease token, then per key its expected stamp and its JSON ('' = no row).
static STORE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local stored = 0
for i = 2, #KEYS do
  local key = KEYS[i]
  local stamp = redis.call('GET', key .. ':stamp') or ''
  local value = ARGV[3 + (i - 1) * 2]
  if value ~= '' and stamp == ARGV[2 + (i - 1) * 2] then
    redis.call('SET', key, ARGV[1] .. '|' .. value, 'EX', ARGV[2])
    stored = stored + 1
  end
  if redis.call('GET', key .. ':lease') == ARGV[3] then
    redis.call('DEL', key .. ':lease')
  end
end
return stored
",
    )
});

/// One entry as a read found it.
#[derive(Debug, Clone)]
pub(super) struct Found {
    /// The JSON, if cached in the current generation.
    pub value: Option<Vec<u8>>,
    /// The invalidation stamp (`None`: not written recently).
    pub stamp: Option<String>,
    /// This reader holds the lease (it should load the entry).
    pub leased: bool,
}

/// What one read returned: the generation and each entry.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    pub generation: String,
    pub entries: Vec<Found>,
}

/// One loaded entry to store: its key, the stamp its reader saw, its JSON.
pub(super) struct Loaded<'a> {
    pub key: &'a str,
    pub stamp: Option<&'a str>,
    pub json: Option<&'a [u8]>,
}

pub(super) fn new_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

impl Cache {
    pub(super) fn generation_key(&self) -> String {
        self.namespaced("generation")
    }

    /// Reads `keys` (and leases the misses to `lease_token`); `None` when
    /// Redis is off or unreachable.
    pub(super) async fn read_entries(
        &self,
        keys: &[String],
        lease_token: &str,
    ) -> Option<Snapshot> {
        let script = &*READ;
        let mut invocation = script.key(self.generation_key());
        for key in keys {
            invocation.key(key);
        }
        invocation
            .arg(new_token())
            .arg(lease_token)
            .arg(self.inner.settings.lease.as_millis().max(1) as u64);
        let (generation, values, stamps, leases): (String, Vec<Vec<u8>>, Vec<String>, Vec<i64>) =
            self.run(
                |mut connection| async move { invocation.invoke_async(&mut connection).await },
            )
            .await?;
        if values.len() != keys.len() || stamps.len() != keys.len() || leases.len() != keys.len() {
            return None;
        }
        let entries = values
            .into_iter()
            .zip(stamps)
            .zip(leases)
            .map(|((value, stamp), leased)| Found {
                value: (!value.is_empty()).then_some(value),
                stamp: (!stamp.is_empty()).then_some(stamp),
                leased: leased == 1,
            })
            .collect();
        Some(Snapshot {
            generation,
            entries,
        })
    }

    /// Stores what a reader loaded, entry by entry, where nothing changed
    /// since its read; releases its leases. Returns how many were stored.
    pub(super) async fn store_entries(
        &self,
        generation: &str,
        lease_token: &str,
        loaded: &[Loaded<'_>],
    ) -> Option<i64> {
        if loaded.is_empty() {
            return Some(0);
        }
        let script = &*STORE;
        let mut invocation = script.key(self.generation_key());
        invocation
            .arg(generation)
            .arg(self.inner.ttl.as_secs().max(1))
            .arg(lease_token);
        for entry in loaded {
            invocation.key(entry.key);
            invocation
                .arg(entry.stamp.unwrap_or_default())
                .arg(entry.json.unwrap_or_default());
        }
        self.run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }
}
