//! [`Hybrid`]: a memory level in front of any second level — the disk
//! tier's folder, Redis, a named backend — and what that pairing adds, in
//! one place:
//!
//! - **promotion**: a value found in the second level is copied into memory
//!   for the time it has left (capped by the memory TTL);
//! - **fail-safe**: when the second level fails, a read serves the stale
//!   value fail-safe kept in memory (counted), and a write keeps the value
//!   in memory (counted as a skipped write) instead of failing;
//! - **coherence**: over a second level shared between processes, other
//!   instances' writes, removals and clears arrive as invalidations (the
//!   Redis backplane) and drop the same keys from this memory level.

use std::hash::Hash;
use std::sync::Arc;

use cache_spec::glob::Glob;

use super::memory::{Entry, MemoryLevel, clamp};
use super::second::{RemoteHit, Second, SecondError, SecondWrite};
use crate::kit::RegionCodecs;
use crate::stats::{RegionStats, TierEvent};

/// What other instances changed, to drop from the memory level.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Invalidated<'a> {
    /// One key, by its text.
    Key(&'a str),
    /// Keys, by their texts.
    Keys(&'a [String]),
    /// Keys whose text matches a pattern.
    Matching(&'a str),
    /// Every key of the region.
    Region,
}

/// A `hybrid` region's levels.
pub(crate) struct Hybrid<K, V> {
    memory: MemoryLevel<K, V>,
    second: Second<K, V>,
    codecs: RegionCodecs<K, V>,
    stats: Arc<RegionStats>,
}

impl<K, V> Hybrid<K, V> {
    /// The memory level.
    #[inline]
    pub(crate) fn memory(&self) -> &MemoryLevel<K, V> {
        &self.memory
    }

    /// The second level.
    #[inline]
    pub(crate) fn second(&self) -> &Second<K, V> {
        &self.second
    }
}

impl<K, V> Hybrid<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(
        memory: MemoryLevel<K, V>,
        second: Second<K, V>,
        codecs: RegionCodecs<K, V>,
        stats: Arc<RegionStats>,
    ) -> Hybrid<K, V> {
        Hybrid {
            memory,
            second,
            codecs,
            stats,
        }
    }

    /// Copies a second-level hit into memory for the time it has left.
    pub(crate) fn promote(&self, key: &K, hit: &RemoteHit<V>) {
        self.memory.insert(
            key.clone(),
            Entry::new(hit.value.clone(), clamp(hit.remaining)),
        );
    }

    /// A read the memory level could not answer: the second level's value,
    /// promoted; when the second level fails, `stale` (what fail-safe kept
    /// in memory, counted as served stale) rather than the error.
    pub(crate) async fn read_through(
        &self,
        key: &K,
        stale: Option<V>,
    ) -> Result<Option<V>, SecondError> {
        match self.second.read(key).await {
            Ok(Some(hit)) => {
                self.promote(key, &hit);
                Ok(Some(hit.value))
            }
            Ok(None) => Ok(None),
            Err(error) => match stale {
                Some(value) => {
                    self.stats.tiers().count(TierEvent::StaleServed);
                    Ok(Some(value))
                }
                None => Err(error),
            },
        }
    }

    /// Stores `value` in memory and seals it for the second level; a value
    /// the second level cannot take (serde or the envelope refused it,
    /// counted) stays in memory only.
    pub(crate) fn store(
        &self,
        key: K,
        value: V,
        ttl: Option<std::time::Duration>,
    ) -> Option<SecondWrite> {
        let write = self.second.prepare(&key, &value, ttl).ok();
        self.memory.insert(key, Entry::new(value, ttl));
        write
    }

    /// Sends a stored value to the second level. A failure is counted (a
    /// skipped write) and swallowed: the value is in memory.
    pub(crate) async fn finish(&self, write: SecondWrite) {
        let _ = self.second.write(write).await;
    }

    /// Sends stored values to the second level in one call; failures as
    /// [`Hybrid::finish`].
    pub(crate) async fn finish_many(&self, writes: Vec<SecondWrite>) {
        let _ = self.second.write_many(writes).await;
    }

    /// Drops what another instance changed from the memory level (a
    /// `received` invalidation is counted).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn invalidate(&self, what: Invalidated<'_>, received: bool) {
        if received {
            self.stats.tiers().count(TierEvent::BackplaneReceived);
        }
        match what {
            Invalidated::Key(text) => self.invalidate_key(text),
            Invalidated::Keys(texts) => {
                for text in texts {
                    self.invalidate_key(text);
                }
            }
            Invalidated::Matching(pattern) => {
                self.remove_matching(&Glob::key(pattern));
            }
            Invalidated::Region => {
                self.memory.clear();
            }
        }
    }

    /// Drops the key whose text is `text`.
    fn invalidate_key(&self, text: &str) {
        let key = self
            .codecs
            .key_serde
            .and_then(|serde| super::store::key_from_text(serde.from_json, text));
        match key {
            Some(key) => {
                self.memory.remove(&key);
            }
            // A text this region cannot read back: drop by text.
            None => {
                self.remove_matching(&Glob::key(&Glob::escape(text)));
            }
        }
    }

    /// Removes the memory entries whose key text matches `glob`; how many.
    fn remove_matching(&self, glob: &Glob) -> u64 {
        match self.codecs.key_text {
            Some(key_text) => self.memory.remove_matching(glob, key_text),
            None => 0,
        }
    }
}
