//! [`MemoryLevel::retime`]: new timing settings given to the entries held,
//! by a sweep of reads (see [the module's notes](super)); [`SWEEPING`],
//! which tells the expiry that the sweep's reads are not reads.

use std::cell::Cell;
use std::hash::Hash;

use super::level::MemoryLevel;
use super::live::Live;

thread_local! {
    /// The [`Live`] whose sweep this thread runs (its address), 0 for none:
    /// the sweep's reads must not count as reads for idleness.
    pub(super) static SWEEPING: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as running `live`'s sweep until dropped.
struct Sweeping;

impl Sweeping {
    fn enter(live: &Live) -> Sweeping {
        SWEEPING.with(|sweeping| sweeping.set(live.id()));
        Sweeping
    }
}

impl Drop for Sweeping {
    fn drop(&mut self) {
        SWEEPING.with(|sweeping| sweeping.set(0));
    }
}

impl<K, V> MemoryLevel<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Gives every entry its deadline under the timing settings now in
    /// [`Live`] (see [the module's notes](super)): one recorded read per
    /// entry, coldest first.
    pub(crate) fn retime(&self) {
        let caches = self.caches.load_full();
        let cache = &caches.current.cache;
        let _sweeping = Sweeping::enter(&self.live);
        cache.run_pending_tasks();
        let ranked = self.ranked(cache, false);
        for (done, ranked) in ranked.iter().rev().enumerate() {
            let _ = cache.get(&*ranked.key);
            if done % 256 == 255 {
                // Apply the reads (and their new deadlines) before moka's
                // read log fills and drops some.
                cache.run_pending_tasks();
            }
        }
        cache.run_pending_tasks();
    }
}
