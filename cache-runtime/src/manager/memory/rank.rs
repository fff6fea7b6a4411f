//! [`Ranked`]: a cache's entries hottest first (the sketch's estimate, ties
//! by recency), with their weights: what a rebuild keeps, and the order a
//! re-timing sweep reads in.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Instant;

use moka::sync::Cache;

use super::entry::Entry;
use super::level::MemoryLevel;

/// An entry of a cache being migrated, as ranked.
pub(super) struct Ranked<K> {
    pub(super) key: Arc<K>,
    hits: u32,
    stored_at: Instant,
    pub(super) weight: u64,
}

impl<K, V> MemoryLevel<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The weight `entry` counts for in a byte-limited cache.
    fn weight(&self, key: &K, entry: &Entry<V>) -> u64 {
        u64::from(
            self.policy
                .weigh(key, &entry.value)
                .unwrap_or_else(|| (self.weigh)(key, &entry.value)),
        )
    }

    /// `cache`'s keys, hottest first: by the sketch's estimate, ties by
    /// the most recently stored; with each entry's weight.
    pub(super) fn ranked(&self, cache: &Cache<K, Entry<V>>, weighed: bool) -> Vec<Ranked<K>> {
        let mut ranked: Vec<Ranked<K>> = cache
            .iter()
            .map(|(key, entry)| Ranked {
                hits: self.sketch.estimate(&self.hasher, &*key),
                stored_at: entry.stored_at(),
                weight: if weighed {
                    self.weight(&key, &entry)
                } else {
                    1
                },
                key,
            })
            .collect();
        ranked.sort_unstable_by(|a, b| {
            b.hits
                .cmp(&a.hits)
                .then_with(|| b.stored_at.cmp(&a.stored_at))
        });
        ranked
    }
}
