//! [`MemoryLevel::rebuild`]: a new cache for new limits or a new eviction
//! policy, the old entries migrated into it hottest first while the region
//! runs; [`Rebuilt`], what it did.

use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::level::{Caches, MemoryLevel};
use super::listener::quietly;
use super::rank::Ranked;
use super::shape::{Level, Shape, build};
use crate::stats::EvictionCause;

/// What a rebuild did.
pub(crate) struct Rebuilt {
    /// Old entries now in the new cache (copied, or promoted by a read).
    pub(crate) kept: u64,
    /// Old entries dropped because the new limit is smaller.
    pub(crate) dropped: u64,
}

impl<K, V> MemoryLevel<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Replaces the cache with one of `shape`, keeping the old entries
    /// that fit, hottest first, while readers and writers go on.
    ///
    /// 1. The new cache is published with the old one as `previous`: reads
    ///    try the new one, then the old one, then the new one again; writes
    ///    go to the new one, under the key's lock; removals and clears
    ///    apply to both.
    /// 2. Some may still use the old cache alone (they loaded it before):
    ///    until they are done (arc-swap counts them once it is replaced;
    ///    the first rebuild also waits for the writers of the first cache,
    ///    and its readers check the published caches after a miss),
    ///    nothing moves out of it.
    /// 3. Then entries move: a write removes the old value, a hit in the old
    ///    cache is promoted, and the old entries are ranked (the sketch's
    ///    estimate, ties by recency). Those that do not fit the new limit
    ///    are dropped and counted as size evictions; the others are copied,
    ///    coldest of them first so the hottest are the most recent, unless
    ///    their key was written since. Each move takes the key's lock,
    ///    writes the new cache before it removes from the old one, and is
    ///    not counted by the old cache's listener.
    /// 4. The new cache is published alone.
    ///
    /// Callers hold `reshaping` ([`MemoryLevel::reshape`]).
    pub(super) fn rebuild(&self, shape: Shape) -> Rebuilt {
        let fresh = build(shape, &self.live, self.weigh, &self.policy, &self.base);
        let old = self.caches.load_full();
        let migrating = Arc::new(Caches {
            current: Level {
                cache: fresh.cache.clone(),
                shape,
            },
            previous: Some(Level {
                cache: old.current.cache.clone(),
                shape: old.current.shape,
            }),
        });
        self.promoted.store(0, Ordering::Relaxed);
        self.caches.store(migrating);
        if !self.swapped.load(Ordering::Relaxed) {
            // The first rebuild: readers and writers of `first` switch to
            // the published caches. A reader missing `first` from now on
            // checks them; the writers still on `first` are waited for.
            self.swapped.store(true, Ordering::SeqCst);
            self.writers.drain();
        }
        // Replacing the caches turned every guard still on the old ones
        // into a counted reference: once only ours is left, every reader
        // and writer uses both caches (and nothing moved before could be
        // missed, nor written to the old cache alone after).
        while Arc::strong_count(&old) > 1 {
            std::thread::yield_now();
        }
        // Until now, someone may have read the old cache alone: nothing
        // moved out of it (no promotion, no removal for a write) so that
        // such a read found what it would have before.
        self.moving.store(true, Ordering::SeqCst);
        // Writers that had not seen that yet are done once each key lock
        // has been free once.
        for lock in self.locks.iter() {
            drop(lock.lock().unwrap_or_else(PoisonError::into_inner));
        }
        let new = fresh.cache.clone();
        let previous = &old.current.cache;
        // Values written to the new cache meanwhile replace the old ones.
        for (key, _) in new.iter() {
            let _key = self.lock(&key);
            quietly(|| previous.invalidate(&*key));
        }

        previous.run_pending_tasks();
        let weighed = shape.max_bytes.is_some();
        let ranked = self.ranked(previous, weighed);
        // What reads promoted and writers stored since the publication
        // takes room already (measured after the ranking: a key promoted
        // in between counts twice, never not at all).
        new.run_pending_tasks();
        let taken = if weighed {
            new.weighted_size()
        } else {
            new.entry_count()
        };
        let limit = shape
            .max_bytes
            .or(shape.max_entries)
            .unwrap_or(u64::MAX)
            .saturating_sub(taken);
        // Hottest first while they fit (a heavy entry that does not fit
        // leaves room for lighter, colder ones).
        let mut used = 0u64;
        let (keep, drop): (Vec<Ranked<K>>, Vec<Ranked<K>>) =
            ranked
                .into_iter()
                .partition(|ranked| match used.checked_add(ranked.weight) {
                    Some(total) if total <= limit => {
                        used = total;
                        true
                    }
                    _ => false,
                });
        let mut rebuilt = Rebuilt {
            kept: 0,
            dropped: 0,
        };
        for ranked in &drop {
            let key = &*ranked.key;
            let _key = self.lock(key);
            // Gone already when promoted, rewritten, removed or expired.
            if quietly(|| previous.remove(key)).is_some() {
                self.base.evicted(key, EvictionCause::Size);
                rebuilt.dropped += 1;
            }
        }
        // Coldest of the kept first, so that the hottest are the most
        // recent in the new cache's LRU order.
        for ranked in keep.iter().rev() {
            let key = &*ranked.key;
            let _key = self.lock(key);
            if let Some(entry) = previous.get(key) {
                // A key written since is newer in the new cache already.
                if !new.contains_key(key) {
                    new.insert(key.clone(), entry);
                    rebuilt.kept += 1;
                }
                // After the insert: a reader missing both caches reads the
                // new one again.
                quietly(|| previous.invalidate(key));
            }
        }
        self.caches.store(Arc::new(Caches {
            current: fresh,
            previous: None,
        }));
        self.moving.store(false, Ordering::SeqCst);
        rebuilt.kept += self.promoted.swap(0, Ordering::Relaxed);
        new.run_pending_tasks();
        rebuilt
    }
}
