//! The memory tier: a `moka::sync::Cache` shaped by a region's settings.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_spec::{Eviction, RegionSettings};
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::event::{EventKind, Events};
use super::policy_slot::PolicySlot;
use crate::stats::{EvictionCause, RegionStats};

/// What the memory tier stores per key: the value and what expiry needs.
#[derive(Clone)]
pub(crate) struct Entry<V> {
    pub(crate) value: V,
    /// How long this entry lives in memory: the region's (memory level's)
    /// TTL, or the entry's own (`insert_with_ttl`, a policy's
    /// `expire_after`, the time left on a promoted persisted entry). The
    /// expiry reads it, so a policy can lengthen the region's TTL too.
    pub(crate) ttl: Option<Duration>,
    /// When it was stored, to tell an expiry by age from one by idleness.
    pub(crate) stored_at: Instant,
}

impl<V> Entry<V> {
    pub(crate) fn new(value: V, ttl: Option<Duration>) -> Entry<V> {
        Entry {
            value,
            ttl,
            stored_at: Instant::now(),
        }
    }

    /// Whether its TTL has not run out yet. Without fail-safe, moka drops
    /// an entry when it does; with it, the entry stays for the grace period,
    /// stale.
    #[inline]
    pub(crate) fn is_fresh(&self) -> bool {
        self.ttl.is_none_or(|ttl| self.stored_at.elapsed() < ttl)
    }
}

/// Expiry by age: each entry's TTL, decided when it is stored (moka applies
/// the region's TTI itself), plus the fail-safe grace during which an
/// expired entry is kept to be served when its source fails.
struct EntryExpiry {
    grace: Duration,
}

impl EntryExpiry {
    #[inline]
    fn lifetime(&self, ttl: Option<Duration>) -> Option<Duration> {
        ttl.map(|ttl| ttl.saturating_add(self.grace))
    }
}

impl<K, V> moka::Expiry<K, Entry<V>> for EntryExpiry {
    fn expire_after_create(&self, _: &K, entry: &Entry<V>, _: Instant) -> Option<Duration> {
        self.lifetime(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &K,
        entry: &Entry<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.lifetime(entry.ttl)
    }
}

/// What the eviction listener needs to count and announce removals.
pub(crate) struct Listener<K> {
    pub(crate) region: Arc<str>,
    pub(crate) stats: Arc<RegionStats>,
    pub(crate) events: Events,
    /// The key's text for events; `None` for sensitive regions or keys
    /// without a text form.
    pub(crate) key_text: Option<fn(&K) -> String>,
    pub(crate) tti: Option<Duration>,
}

impl<K> Listener<K> {
    fn on_removal<V>(&self, key: &K, entry: &Entry<V>, cause: RemovalCause) {
        let kind = match cause {
            // Counted under their cause too, so the causes add up to every
            // value that left; announced by the operation that made them
            // (one event for a whole clear), not here.
            RemovalCause::Replaced => {
                self.stats.update();
                self.stats.evict(EvictionCause::Replaced);
                return;
            }
            RemovalCause::Explicit => {
                self.stats.remove();
                self.stats.evict(EvictionCause::Explicit);
                return;
            }
            RemovalCause::Size => EvictionCause::Size,
            RemovalCause::Expired => self.expiry_cause(entry),
        };
        self.stats.evict(kind);
        if self.events.wanted() {
            let key = self.key_text.map(|text| text(key));
            self.events
                .send(&self.region, EventKind::Evict { cause: kind }, key);
        }
    }

    /// moka says `Expired` for both age and idleness: an entry that expired
    /// before its TTL was idle.
    fn expiry_cause<V>(&self, entry: &Entry<V>) -> EvictionCause {
        if self.tti.is_none() {
            return EvictionCause::Expired;
        }
        match entry.ttl {
            Some(ttl) if entry.stored_at.elapsed() >= ttl => EvictionCause::Expired,
            _ => EvictionCause::Idle,
        }
    }
}

/// The moka cache of a region: size limit by count or by weight, TinyLFU or
/// LRU, TTI from `settings`, an expiry reading each entry's TTL, and a
/// listener feeding statistics and events.
pub(crate) fn build<K, V>(
    settings: &RegionSettings,
    weigh: fn(&K, &V) -> u32,
    policy: Arc<PolicySlot<K, V>>,
    listener: Listener<K>,
    fail_safe: Option<Duration>,
) -> Cache<K, Entry<V>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let mut builder = Cache::builder()
        .eviction_policy(match settings.eviction {
            Eviction::TinyLfu => EvictionPolicy::tiny_lfu(),
            Eviction::Lru => EvictionPolicy::lru(),
        })
        .expire_after(EntryExpiry {
            grace: fail_safe.unwrap_or(Duration::ZERO),
        });
    if let Some(max_bytes) = settings.max_bytes {
        builder = builder
            .max_capacity(max_bytes)
            .weigher(move |key: &K, entry: &Entry<V>| {
                policy
                    .weigh(key, &entry.value)
                    .unwrap_or_else(|| weigh(key, &entry.value))
            });
    } else if let Some(max_entries) = settings.max_entries {
        builder = builder.max_capacity(max_entries);
    }
    if let Some(tti) = settings.tti {
        builder = builder.time_to_idle(tti);
    }
    builder
        .eviction_listener(move |key: Arc<K>, entry: Entry<V>, cause| {
            listener.on_removal(&key, &entry, cause);
        })
        .build()
}
