//! [`Shape`]: what a memory cache is built with; [`Level`], one moka cache
//! and its shape; [`build`], a new one.

use std::hash::Hash;
use std::sync::Arc;

use cache_spec::{Eviction, RegionSettings};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::entry::Entry;
use super::expiry::EntryExpiry;
use super::listener::{Listener, ListenerBase};
use super::live::Live;
use crate::manager::policy_slot::PolicySlot;

/// What a memory cache is built with: what a change can only apply by a
/// rebuild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) eviction: Eviction,
    pub(crate) max_entries: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
    /// Whether the cache has moka's per-entry expiry ([`EntryExpiry`]).
    /// Without one a hit skips moka's expiry bookkeeping (about 150
    /// instructions); a cache needs it once any entry can expire: a memory
    /// TTL or a TTI in the settings, or an entry with a TTL of its own.
    pub(crate) expiry: bool,
}

impl Shape {
    /// The shape `settings` ask for; `expiry` as decided by the level
    /// (see [`MemoryLevel::shape_for`](super::MemoryLevel::shape_for)).
    pub(crate) fn of(settings: &RegionSettings, expiry: bool) -> Shape {
        Shape {
            eviction: settings.eviction,
            max_entries: settings.max_entries,
            max_bytes: settings.max_bytes,
            expiry,
        }
    }
}

/// One moka cache and what it was built with.
pub(super) struct Level<K, V> {
    pub(super) cache: Cache<K, Entry<V>>,
    pub(super) shape: Shape,
}

/// A new cache of `shape`: count or weight limit, TinyLFU or LRU, the live
/// expiry (when the shape has one) and a listener of its own.
pub(super) fn build<K, V>(
    shape: Shape,
    live: &Arc<Live>,
    weigh: fn(&K, &V) -> u32,
    policy: &Arc<PolicySlot<K, V>>,
    base: &ListenerBase<K>,
) -> Level<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let listener = Listener {
        base: base.clone(),
        live: Arc::clone(live),
    };
    let mut builder = Cache::builder().eviction_policy(match shape.eviction {
        Eviction::TinyLfu => EvictionPolicy::tiny_lfu(),
        Eviction::Lru => EvictionPolicy::lru(),
    });
    if shape.expiry {
        builder = builder.expire_after(EntryExpiry {
            live: Arc::clone(live),
        });
    }
    if let Some(max_bytes) = shape.max_bytes {
        let policy = Arc::clone(policy);
        builder = builder
            .max_capacity(max_bytes)
            .weigher(move |key: &K, entry: &Entry<V>| {
                policy
                    .weigh(key, &entry.value)
                    .unwrap_or_else(|| weigh(key, &entry.value))
            });
    } else if let Some(max_entries) = shape.max_entries {
        builder = builder.max_capacity(max_entries);
    }
    let cache = builder
        .eviction_listener(move |key: Arc<K>, entry: Entry<V>, cause| {
            listener.on_removal(&key, &entry, cause);
        })
        .build();
    Level { cache, shape }
}
