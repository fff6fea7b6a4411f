//! [`MemoryLevel`]: a region's memory level, its published moka cache(s)
//! and the operations on them (reads, writes, removals, clears, counts),
//! a migration included.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use cache_spec::RegionSettings;
use cache_spec::glob::Glob;
use moka::sync::Cache;

use super::entry::Entry;
use super::listener::{ListenerBase, quietly};
use super::live::Live;
use super::rebuild::Rebuilt;
use super::shape::{Level, Shape, build};
use super::sketch::{Sketch, SketchHasher};
use super::writers::Writers;
use crate::manager::policy_slot::PolicySlot;

/// The caches readers use: the current one and, during a migration, the
/// previous one.
pub(super) struct Caches<K, V> {
    pub(super) current: Level<K, V>,
    pub(super) previous: Option<Level<K, V>>,
}

/// Per-key locks taken while a migration runs (writers, promotions, the
/// migration's copies).
const KEY_LOCKS: usize = 64;

/// A region's memory level: the published moka cache(s), how to build
/// them, and the hotness sketch.
pub(crate) struct MemoryLevel<K, V> {
    /// The cache the level opened with, used directly (one relaxed load of
    /// `swapped`, no arc-swap) until the first rebuild. It stays allocated,
    /// empty, after that.
    first: Cache<K, Entry<V>>,
    /// Set for good by the first rebuild: from then on `caches` is used.
    pub(super) swapped: AtomicBool,
    /// The writers using `first` directly.
    pub(super) writers: Writers,
    /// The published cache(s): `first` alone until the first rebuild.
    pub(super) caches: ArcSwap<Caches<K, V>>,
    pub(super) locks: Box<[Mutex<()>]>,
    pub(super) hasher: SketchHasher,
    pub(super) sketch: Sketch,
    pub(super) live: Arc<Live>,
    pub(super) weigh: fn(&K, &V) -> u32,
    pub(super) policy: Arc<PolicySlot<K, V>>,
    pub(super) base: ListenerBase<K>,
    /// Old entries promoted by reads during the migration in progress.
    pub(super) promoted: AtomicU64,
    /// Whether entries move from the old cache to the new one (see
    /// [`MemoryLevel::rebuild`]): not until no one uses the old one alone.
    pub(super) moving: AtomicBool,
    /// Set for good once an entry with a TTL of its own is stored: from
    /// then on every cache of the level has moka's expiry.
    own_ttls: AtomicBool,
    /// Held while the shape is decided and a rebuild runs: one at a time.
    reshaping: Mutex<()>,
}

impl<K, V> MemoryLevel<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(
        settings: &RegionSettings,
        weigh: fn(&K, &V) -> u32,
        policy: Arc<PolicySlot<K, V>>,
        base: ListenerBase<K>,
        live: Arc<Live>,
    ) -> MemoryLevel<K, V> {
        let shape = Shape::of(settings, live.times_entries(settings));
        let current = build(shape, &live, weigh, &policy, &base);
        MemoryLevel {
            first: current.cache.clone(),
            swapped: AtomicBool::new(false),
            writers: Writers::new(),
            caches: ArcSwap::from_pointee(Caches {
                current,
                previous: None,
            }),
            locks: (0..KEY_LOCKS).map(|_| Mutex::new(())).collect(),
            hasher: SketchHasher::new(),
            sketch: Sketch::new(shape.max_entries.unwrap_or(4_096)),
            live,
            weigh,
            policy,
            base,
            promoted: AtomicU64::new(0),
            moving: AtomicBool::new(false),
            own_ttls: AtomicBool::new(false),
            reshaping: Mutex::new(()),
        }
    }

    /// The shape `settings` need: moka's expiry when they time entries or
    /// an entry with its own TTL was ever stored.
    pub(crate) fn shape_for(&self, settings: &RegionSettings) -> Shape {
        let expiry = self.live.times_entries(settings) || self.own_ttls.load(Ordering::Acquire);
        Shape::of(settings, expiry)
    }

    /// Rebuilds the cache when `settings` need another shape (limits,
    /// eviction policy, expiry or none); what the rebuild did.
    pub(crate) fn reshape(&self, settings: &RegionSettings) -> Option<Rebuilt> {
        let _one_at_a_time = self
            .reshaping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let shape = self.shape_for(settings);
        (shape != self.shape()).then(|| self.rebuild(shape))
    }

    /// Before the first entry with a TTL of its own is stored: a cache
    /// without moka's expiry is rebuilt with it (once per level), so that
    /// the entry expires.
    #[cold]
    fn time_entries(&self) {
        let _one_at_a_time = self
            .reshaping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.own_ttls.load(Ordering::Acquire) {
            return;
        }
        let shape = self.shape();
        if !shape.expiry {
            self.rebuild(Shape {
                expiry: true,
                ..shape
            });
        }
        self.own_ttls.store(true, Ordering::Release);
    }

    /// `key`'s entry (the hit path): one moka get, after one load of
    /// `swapped` (and, once rebuilt, of the published caches).
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<Entry<V>> {
        if !self.swapped.load(Ordering::Acquire) {
            if let Some(entry) = self.first.get(key) {
                return Some(entry);
            }
            // A miss may be an entry the first rebuild has just moved (it
            // sets the flag before it moves anything).
            if !self.swapped.load(Ordering::Acquire) {
                return None;
            }
        }
        self.get_published(key)
    }

    /// [`MemoryLevel::get`] once the level has been rebuilt.
    fn get_published(&self, key: &K) -> Option<Entry<V>> {
        let caches = self.caches.load();
        match caches.current.cache.get(key) {
            Some(entry) => Some(entry),
            None => match &caches.previous {
                None => None,
                Some(previous) => self.get_previous(&caches, previous, key),
            },
        }
    }

    /// A read missing the new cache during a migration: the previous one,
    /// whose hit is promoted once entries move; else the new one again (an
    /// entry may have moved between the two reads: a move writes the new
    /// cache before it removes from the old).
    #[cold]
    fn get_previous(
        &self,
        caches: &Caches<K, V>,
        previous: &Level<K, V>,
        key: &K,
    ) -> Option<Entry<V>> {
        match previous.cache.get(key) {
            Some(entry) if !self.moving.load(Ordering::Acquire) => Some(entry),
            Some(entry) => {
                let _key = self.lock(key);
                if let Some(entry) = previous.cache.get(key) {
                    if !caches.current.cache.contains_key(key) {
                        caches.current.cache.insert(key.clone(), entry);
                        self.promoted.fetch_add(1, Ordering::Relaxed);
                    }
                    quietly(|| previous.cache.invalidate(key));
                }
                Some(entry)
            }
            None => caches.current.cache.get(key),
        }
    }

    /// Counts a read of `key` in the hotness sketch (timed hits only).
    #[inline]
    pub(crate) fn record(&self, key: &K) {
        self.sketch.record(&self.hasher, key);
    }

    pub(super) fn lock(&self, key: &K) -> MutexGuard<'_, ()> {
        let index = self.hasher.hash_one(key) as usize % self.locks.len();
        self.locks[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `entry` for `key`. Without a migration, straight into the
    /// cache; during one, under the key's lock, into the new cache, and the
    /// old cache's entry goes (so the migration never copies an older value
    /// over it, and nothing older resurfaces from the old cache).
    pub(crate) fn insert(&self, key: K, entry: Entry<V>) {
        if entry.has_own_ttl() && !self.own_ttls.load(Ordering::Acquire) {
            self.time_entries();
        }
        if !self.swapped.load(Ordering::Acquire) {
            let _writing = self.writers.enter();
            if !self.swapped.load(Ordering::SeqCst) {
                // The first rebuild waits for this before it ranks entries.
                self.first.insert(key, entry);
                return;
            }
        }
        let caches = self.caches.load();
        if caches.previous.is_none() {
            // A rebuild waits for this guard before it moves anything.
            caches.current.cache.insert(key, entry);
            return;
        }
        let _key = self.lock(&key);
        caches.current.cache.insert(key.clone(), entry);
        if let Some(previous) = &caches.previous
            && self.moving.load(Ordering::Acquire)
        {
            quietly(|| previous.cache.invalidate(&key));
        }
    }

    /// Removes `key`; whether it was held (the store counts the removal).
    pub(crate) fn remove(&self, key: &K) -> bool {
        if !self.swapped.load(Ordering::Acquire) {
            let _writing = self.writers.enter();
            if !self.swapped.load(Ordering::SeqCst) {
                return self.first.remove(key).is_some();
            }
        }
        let caches = self.caches.load();
        if caches.previous.is_none() {
            return caches.current.cache.remove(key).is_some();
        }
        let _key = self.lock(key);
        let in_current = caches.current.cache.remove(key).is_some();
        let in_previous = caches
            .previous
            .as_ref()
            .is_some_and(|previous| quietly(|| previous.cache.remove(key)).is_some());
        in_current || in_previous
    }

    /// Removes the entries whose key text (by `key_text`) matches `glob`;
    /// how many.
    pub(crate) fn remove_matching(&self, glob: &Glob, key_text: fn(&K) -> String) -> u64 {
        let mut doomed: Vec<K> = Vec::new();
        self.for_each(|key, _| {
            if glob.matches(&key_text(key)) {
                doomed.push(K::clone(key));
            }
        });
        let mut removed = 0;
        for key in doomed {
            if self.remove(&key) {
                removed += 1;
            }
        }
        self.run_pending_tasks();
        removed
    }

    /// Empties the level; how many entries it held (the store counts them
    /// as cleared).
    pub(crate) fn clear(&self) -> u64 {
        // Through the published caches: a rebuild waits for this guard.
        let caches = self.caches.load();
        if caches.previous.is_none() {
            let cache = &caches.current.cache;
            cache.run_pending_tasks();
            let removed = cache.entry_count();
            cache.invalidate_all();
            cache.run_pending_tasks();
            return removed;
        }
        // Every key lock: no copy or promotion is half done.
        let _all: Vec<MutexGuard<'_, ()>> = self
            .locks
            .iter()
            .map(|lock| lock.lock().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let mut removed = 0;
        if let Some(previous) = &caches.previous {
            // Key by key, so the count is exact now.
            for (key, _) in previous.cache.iter() {
                if quietly(|| previous.cache.remove(&*key)).is_some() {
                    removed += 1;
                }
            }
        }
        let cache = &caches.current.cache;
        cache.run_pending_tasks();
        removed += cache.entry_count();
        cache.invalidate_all();
        cache.run_pending_tasks();
        removed
    }

    /// Calls `each` on every entry held (both caches during a migration,
    /// each key once).
    pub(crate) fn for_each(&self, mut each: impl FnMut(&K, Entry<V>)) {
        self.for_each_while(|key, entry| {
            each(key, entry);
            true
        });
    }

    /// [`MemoryLevel::for_each`] until `each` returns `false`.
    pub(crate) fn for_each_while(&self, mut each: impl FnMut(&K, Entry<V>) -> bool) {
        let caches = self.caches.load();
        for (key, entry) in caches.current.cache.iter() {
            if !each(&key, entry) {
                return;
            }
        }
        if let Some(previous) = &caches.previous {
            for (key, entry) in previous.cache.iter() {
                if !caches.current.cache.contains_key(&*key) && !each(&key, entry) {
                    return;
                }
            }
        }
    }

    /// Whether the level is limited by weight (`max_bytes`).
    pub(crate) fn by_weight(&self) -> bool {
        self.caches.load().current.shape.max_bytes.is_some()
    }

    pub(crate) fn entry_count(&self) -> u64 {
        let caches = self.caches.load();
        caches.current.cache.entry_count()
            + caches
                .previous
                .as_ref()
                .map_or(0, |previous| previous.cache.entry_count())
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        let caches = self.caches.load();
        caches.current.cache.weighted_size()
            + caches
                .previous
                .as_ref()
                .map_or(0, |previous| previous.cache.weighted_size())
    }

    /// Applies moka's pending maintenance (evictions, listener calls).
    pub(crate) fn run_pending_tasks(&self) {
        let caches = self.caches.load();
        caches.current.cache.run_pending_tasks();
        if let Some(previous) = &caches.previous {
            previous.cache.run_pending_tasks();
        }
    }

    /// The current cache's shape.
    pub(crate) fn shape(&self) -> Shape {
        self.caches.load().current.shape
    }
}
