//! Striped counters: one cache-line-padded block of counters per shard, so
//! threads on different cores add to different cache lines. The first
//! threads to record (as many as [`shard_count`]) each own a shard in every
//! region, which only they write: a plain load and store, no locked
//! instruction. Later threads share a few more shards through atomic adds.
//! A thread's owned index goes back to a free list when it exits, for the
//! next thread to take. Sums are read on the rare paths (snapshots, ticks).
//!
//! Also the thread-local generator that decides which gets are timed.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Counter positions in a [`Shard`] and in the summed readings.
pub(crate) const HITS: usize = 0;
pub(crate) const MISSES: usize = 1;
pub(crate) const COALESCED: usize = 2;
pub(crate) const INSERTS: usize = 3;
pub(crate) const UPDATES: usize = 4;
pub(crate) const REMOVALS: usize = 5;
pub(crate) const CLEARED: usize = 6;
pub(crate) const LOADS_OK: usize = 7;
pub(crate) const LOADS_ERR: usize = 8;
/// The first of the three eviction counters, in [`EvictionCause`] order.
///
/// [`EvictionCause`]: super::EvictionCause
pub(crate) const EVICTIONS: usize = 9;
/// The first of the three error counters, in [`ErrorCause`] order.
///
/// [`ErrorCause`]: super::ErrorCause
pub(crate) const ERRORS: usize = 12;
/// The number of counters.
pub(crate) const COUNTERS: usize = 15;

/// The summed counters of every shard.
pub(crate) type Counts = [u64; COUNTERS];

/// One shard's counters: 120 bytes, alone on a 128-byte block (two cache
/// lines: x86 prefetches lines in pairs) so no other shard shares them.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Shard {
    counts: [AtomicU64; COUNTERS],
}

impl Shard {
    /// Adds `n` from any thread.
    #[inline]
    fn add(&self, counter: usize, n: u64) {
        self.counts[counter].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` from the one thread that writes this shard: readers see
    /// either the old or the new count, and no add is lost, since nobody
    /// else stores to it.
    #[inline]
    fn add_as_owner(&self, counter: usize, n: u64) {
        let count = &self.counts[counter];
        count.store(
            count.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }
}

/// A region's shards: one per owned thread index, and the shared ones.
pub(crate) struct Shards {
    owned: Box<[Shard]>,
    /// A power of two of them.
    shared: Box<[Shard]>,
}

impl Shards {
    pub(crate) fn new() -> Shards {
        let owned = shard_count();
        Shards {
            owned: (0..owned).map(|_| Shard::default()).collect(),
            shared: (0..shared_count(owned)).map(|_| Shard::default()).collect(),
        }
    }

    /// Adds `n` to `counter` in the calling thread's shard.
    #[inline]
    pub(crate) fn add(&self, counter: usize, n: u64) {
        // The benchmark's ablation build counts nothing (see the workspace
        // manifest's `unexpected_cfgs`).
        if cfg!(cache_bench_statistics_off) {
            return;
        }
        // An unassigned index (`usize::MAX`) is past the owned shards too:
        // one bounds check serves both.
        let index = THREAD_INDEX.with(Cell::get);
        match self.owned.get(index) {
            Some(shard) => shard.add_as_owner(counter, n),
            None => self.add_beyond_owned(index, counter, n),
        }
    }

    /// [`Shards::add`] from a thread without an owned index: its first
    /// count (which assigns one), or a thread beyond the owned shards.
    #[inline(never)]
    fn add_beyond_owned(&self, index: usize, counter: usize, n: u64) {
        let index = if index == UNASSIGNED { assign() } else { index };
        match self.owned.get(index) {
            Some(shard) => shard.add_as_owner(counter, n),
            None => self.shared[index & (self.shared.len() - 1)].add(counter, n),
        }
    }

    /// Adds `n` to `counter` from a path no thread owns (restored
    /// baselines).
    pub(crate) fn add_unowned(&self, counter: usize, n: u64) {
        self.shared[0].add(counter, n);
    }

    /// Every counter summed over the shards. Each counter is exact; the set
    /// is not one instant's (a counter read later may include operations a
    /// counter read earlier does not).
    pub(crate) fn sum(&self) -> Counts {
        let mut counts = [0u64; COUNTERS];
        for shard in self.owned.iter().chain(self.shared.iter()) {
            for (total, counter) in counts.iter_mut().zip(&shard.counts) {
                *total = total.wrapping_add(counter.load(Ordering::Relaxed));
            }
        }
        counts
    }
}

/// Owned shards per region: twice the cores rounded up to a power of two,
/// between 2 and 64.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        cores.saturating_mul(2).next_power_of_two().clamp(2, 64)
    })
}

/// Shared shards next to `owned` owned ones: a quarter as many, at least
/// one (a power of two, as `owned` is).
fn shared_count(owned: usize) -> usize {
    (owned / 4).max(1)
}

/// A thread index not yet assigned.
const UNASSIGNED: usize = usize::MAX;

/// Owned indexes given back by exited threads.
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// The next owned index never given out.
static NEXT_OWNED: AtomicUsize = AtomicUsize::new(0);
/// Spreads the threads without an owned index over the shared shards.
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's index: below [`shard_count`] an owned one, above it a
    /// shared one; [`UNASSIGNED`] until first use.
    static THREAD_INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
    /// Gives the owned index back when the thread exits.
    static OWNER: Owner = const { Owner };
    /// This thread's generator state for sampling: 0 until the thread's
    /// index is assigned, then seeded.
    static SAMPLER: Cell<u64> = const { Cell::new(0) };
}

#[cold]
fn assign() -> usize {
    let index = claim();
    THREAD_INDEX.with(|cell| cell.set(index));
    // Threads' sampling sequences part here (see `sampled`).
    let _ = SAMPLER.try_with(|cell| cell.set(seed()));
    index
}

/// An owned index (a freed one first), or a shared one when every owned
/// index is taken or the thread is exiting (it could not give one back).
fn claim() -> usize {
    // The first access registers the owner's destructor.
    if OWNER.try_with(|_| ()).is_ok() {
        let freed = FREE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        if let Some(index) = freed {
            return index;
        }
        let fresh = NEXT_OWNED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            (next < shard_count()).then_some(next + 1)
        });
        if let Ok(index) = fresh {
            return index;
        }
    }
    shared_index()
}

/// An index of the shared shards (any value at or above [`shard_count`]).
fn shared_index() -> usize {
    shard_count() + (NEXT_SHARED.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

/// Frees its thread's owned index on exit. The free list's lock orders the
/// exiting thread's last stores before the next owner's first loads.
struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        // THREAD_INDEX has no destructor: still usable here. What the
        // thread records from now on goes to a shared shard.
        let index = THREAD_INDEX.with(|cell| cell.replace(shared_index()));
        if index < shard_count() {
            FREE.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(index);
        }
    }
}

/// The threshold [`sampled`] compares against for "one in `every`": `every`
/// 0 never samples, 1 always does.
pub(crate) fn sample_threshold(every: u32) -> u64 {
    match every {
        0 => 0,
        1 => u64::MAX,
        n => u64::MAX / u64::from(n),
    }
}

/// Whether to time this operation: true with probability
/// `threshold / u64::MAX`, from a thread-local linear congruential
/// generator (a threshold of 0 samples only when the state is 0, once in
/// its period of 2^64 steps). Every thread's generator starts at 0 and is
/// seeded apart from the others' when the thread first counts something
/// ([`assign`]), which keeps a seeding check off every get.
#[inline]
pub(crate) fn sampled(threshold: u64) -> bool {
    if cfg!(cache_bench_statistics_off) {
        return false;
    }
    SAMPLER
        .try_with(|cell| {
            let mut x = cell.get();
            // A 64-bit linear congruential step (Knuth's MMIX constants):
            // a multiply and an add where xorshift takes six operations.
            // Its low bits are weak, but the comparison below is decided
            // by the high ones.
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            cell.set(x);
            x <= threshold
        })
        .unwrap_or(false)
}

#[cold]
fn seed() -> u64 {
    static NEXT_SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let seed = NEXT_SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    // splitmix64 finaliser, never 0.
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_is_padded_and_counts_fit() {
        assert_eq!(std::mem::align_of::<Shard>(), 128);
        assert_eq!(std::mem::size_of::<Shard>(), 128);
        assert!(shard_count().is_power_of_two());
        assert!(shared_count(shard_count()).is_power_of_two());
    }

    #[test]
    fn sums_every_shard() {
        let shards = Shards::new();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        shards.add(HITS, 1);
                    }
                    shards.add(MISSES, 3);
                });
            }
        });
        shards.add_unowned(MISSES, 5);
        let counts = shards.sum();
        assert_eq!(counts[HITS], 4000);
        assert_eq!(counts[MISSES], 17);
        assert_eq!(counts.iter().sum::<u64>(), 4017);
    }

    #[test]
    fn no_add_is_lost_when_threads_outnumber_the_owned_shards_and_come_and_go() {
        let shards = Shards::new();
        let threads = shard_count() * 3;
        // Waves of threads, each wave more than the owned indexes, each
        // thread exiting (freeing its index for the next wave) while others
        // still add; readers sum meanwhile.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..200 {
                    let counts = shards.sum();
                    assert!(counts[HITS] <= 10 * threads as u64 * 2_000);
                    std::thread::yield_now();
                }
            });
            for _ in 0..10 {
                std::thread::scope(|wave| {
                    for t in 0..threads {
                        let shards = &shards;
                        wave.spawn(move || {
                            for i in 0..2_000 {
                                shards.add(HITS, 1);
                                if (i + t) % 500 == 0 {
                                    std::thread::yield_now();
                                }
                            }
                        });
                    }
                });
            }
        });
        assert_eq!(shards.sum()[HITS], 10 * threads as u64 * 2_000);
    }

    #[test]
    fn sampling_rates() {
        let never = sample_threshold(0);
        let always = sample_threshold(1);
        let one_in_8 = sample_threshold(8);
        let mut taken = 0;
        for _ in 0..80_000 {
            assert!(!sampled(never));
            assert!(sampled(always));
            taken += u32::from(sampled(one_in_8));
        }
        // 10,000 expected; the bound is many standard deviations (~95) wide.
        assert!((9_000..11_000).contains(&taken), "{taken}");
    }

    #[test]
    fn successive_samples_are_independent() {
        // At one in 16, two sampled gets in a row come once in 256 pairs,
        // and a sampled get is as likely after a sampled one as after any.
        let one_in_16 = sample_threshold(16);
        let (mut after_sampled, mut both, mut previous) = (0u32, 0u32, false);
        for _ in 0..256_000 {
            let now = sampled(one_in_16);
            if previous {
                after_sampled += 1;
                both += u32::from(now);
            }
            previous = now;
        }
        // ~16,000 sampled, ~1,000 of them followed by another (sd ~31).
        assert!((15_000..17_000).contains(&after_sampled), "{after_sampled}");
        assert!((850..1_150).contains(&both), "{both}");
    }
}
