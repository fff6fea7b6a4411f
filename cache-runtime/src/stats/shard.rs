//! Striped counters: one cache-line-padded block of counters per shard, the
//! shard picked by a thread-local index, so threads on different cores add to
//! different cache lines. Sums are read on the rare paths (snapshots, ticks).
//!
//! Also the thread-local generator that decides which gets are timed.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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
    #[inline]
    pub(crate) fn add(&self, counter: usize, n: u64) {
        self.counts[counter].fetch_add(n, Ordering::Relaxed);
    }
}

/// A set of shards, as many as [`shard_count`].
pub(crate) struct Shards {
    shards: Box<[Shard]>,
}

impl Shards {
    pub(crate) fn new() -> Shards {
        Shards {
            shards: (0..shard_count()).map(|_| Shard::default()).collect(),
        }
    }

    /// The calling thread's shard.
    #[inline]
    pub(crate) fn local(&self) -> &Shard {
        let index = thread_index() & (self.shards.len() - 1);
        &self.shards[index]
    }

    /// The shard that restored baselines are added to.
    pub(crate) fn first(&self) -> &Shard {
        &self.shards[0]
    }

    /// Every counter summed over the shards. Each counter is exact; the set
    /// is not one instant's (a counter read later may include operations a
    /// counter read earlier does not).
    pub(crate) fn sum(&self) -> Counts {
        let mut counts = [0u64; COUNTERS];
        for shard in self.shards.iter() {
            for (total, counter) in counts.iter_mut().zip(&shard.counts) {
                *total = total.wrapping_add(counter.load(Ordering::Relaxed));
            }
        }
        counts
    }
}

/// Shards per region: twice the cores rounded up to a power of two, between
/// 2 and 64, so that threads rarely share one.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        cores.saturating_mul(2).next_power_of_two().clamp(2, 64)
    })
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard index (before masking); `usize::MAX` until first
    /// use, then assigned round robin.
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    /// This thread's xorshift64 state for sampling; 0 until first use.
    static SAMPLER: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn thread_index() -> usize {
    THREAD_INDEX
        .try_with(|cell| {
            let index = cell.get();
            if index != usize::MAX {
                return index;
            }
            let index = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            cell.set(index);
            index
        })
        // During thread teardown: any shard will do.
        .unwrap_or(0)
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
/// `threshold / u64::MAX`, from a thread-local xorshift64 generator (never
/// 0, so a threshold of 0 never samples).
#[inline]
pub(crate) fn sampled(threshold: u64) -> bool {
    SAMPLER
        .try_with(|cell| {
            let mut x = cell.get();
            if x == 0 {
                x = seed();
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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
    }

    #[test]
    fn sums_every_shard() {
        let shards = Shards::new();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        shards.local().add(HITS, 1);
                    }
                    shards.local().add(MISSES, 3);
                });
            }
        });
        let counts = shards.sum();
        assert_eq!(counts[HITS], 4000);
        assert_eq!(counts[MISSES], 12);
        assert_eq!(counts.iter().sum::<u64>(), 4012);
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
}
