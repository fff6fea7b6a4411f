//! [`Sketch`]: how often each key of a region is read, roughly, so that a
//! memory level rebuilt smaller keeps its hottest entries (moka does not
//! expose its own frequencies).
//!
//! A count-min sketch: four rows of relaxed atomic counters, a key's
//! estimate the smallest of its four counters. Only hits whose get is timed
//! for latency (about 1,000 a second by default, all of them in a quiet
//! region, see [`RegionStats::time_get`](crate::stats::RegionStats::time_get))
//! are recorded, so an untimed hit pays nothing and a timed one a hash and four
//! relaxed adds next to its two clock reads. Counters are halved once the
//! sketch has taken ten records per column, so old popularity fades. The
//! counters are allocated on the first record: a region that is never read
//! costs a few words.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// A fast, seeded, non-cryptographic hash (FxHash's multiply-rotate) for
/// the sketch and the memory level's key locks: a few instructions for a
/// small key where SipHash takes ~80, on a path timed gets already pay
/// for. Colliding keys only blur a ranking or share a lock.
#[derive(Clone, Copy)]
pub(crate) struct SketchHasher {
    seed: u64,
}

impl SketchHasher {
    pub(crate) fn new() -> SketchHasher {
        SketchHasher {
            seed: RandomState::new().hash_one(0u8),
        }
    }
}

impl BuildHasher for SketchHasher {
    type Hasher = FxHasher;

    fn build_hasher(&self) -> FxHasher {
        FxHasher { hash: self.seed }
    }
}

/// The hasher of [`SketchHasher`].
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(FxHasher::K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Spread the last multiply's high bits to the low ones the
        // positions use.
        self.hash ^ (self.hash >> 29)
    }
}

/// Rows of counters (independent hash positions per key).
const DEPTH: usize = 4;
/// Records per column between two halvings.
const AGE_EVERY: u64 = 10;

/// A frequency sketch of a region's keys.
pub(crate) struct Sketch {
    /// `DEPTH` rows of `width` counters, allocated on first use.
    counters: OnceLock<Box<[AtomicU32]>>,
    width: usize,
    /// Records since the last halving.
    records: AtomicU64,
}

impl Sketch {
    /// A sketch sized for about `entries` keys (a power of two between 256
    /// and 8,192 columns: at most 128 KiB once used).
    pub(crate) fn new(entries: u64) -> Sketch {
        let width = usize::try_from(entries)
            .unwrap_or(usize::MAX)
            .clamp(256, 8_192)
            .next_power_of_two();
        Sketch {
            counters: OnceLock::new(),
            width,
            records: AtomicU64::new(0),
        }
    }

    /// The positions of the key hashed to `hash`, one per row (double
    /// hashing from the hash's two halves).
    #[inline]
    fn positions(&self, hash: u64) -> [usize; DEPTH] {
        let (low, high) = (hash as u32, (hash >> 32) as u32 | 1);
        let mask = self.width - 1;
        std::array::from_fn(|row| {
            let column = low.wrapping_add(high.wrapping_mul(row as u32)) as usize & mask;
            row * self.width + column
        })
    }

    /// Counts one read of `key`.
    pub(crate) fn record<K: Hash + ?Sized>(&self, hasher: &impl BuildHasher, key: &K) {
        let counters = self
            .counters
            .get_or_init(|| (0..DEPTH * self.width).map(|_| AtomicU32::new(0)).collect());
        for position in self.positions(hasher.hash_one(key)) {
            counters[position].fetch_add(1, Relaxed);
        }
        if self.records.fetch_add(1, Relaxed) + 1 >= AGE_EVERY * self.width as u64 {
            self.age(counters);
        }
    }

    /// Halves every counter. Two threads may both halve, and an add racing
    /// a halving may be lost: an estimate only needs to rank.
    #[cold]
    fn age(&self, counters: &[AtomicU32]) {
        self.records.store(0, Relaxed);
        for counter in counters {
            counter.store(counter.load(Relaxed) / 2, Relaxed);
        }
    }

    /// About how many times `key` was recorded (recently); never fewer.
    pub(crate) fn estimate<K: Hash + ?Sized>(&self, hasher: &impl BuildHasher, key: &K) -> u32 {
        let Some(counters) = self.counters.get() else {
            return 0;
        };
        self.positions(hasher.hash_one(key))
            .into_iter()
            .map(|position| counters[position].load(Relaxed))
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_hot_keys_above_cold_ones() {
        let hasher = SketchHasher::new();
        let sketch = Sketch::new(1_000);
        assert_eq!(sketch.estimate(&hasher, &1u64), 0);
        for key in 0..1_000u64 {
            sketch.record(&hasher, &key);
        }
        for _ in 0..20 {
            for key in 0..50u64 {
                sketch.record(&hasher, &key);
            }
        }
        let hot = (0..50u64)
            .map(|key| sketch.estimate(&hasher, &key))
            .min()
            .expect("50 keys");
        let cold = (500..1_000u64)
            .map(|key| u64::from(sketch.estimate(&hasher, &key)))
            .sum::<u64>()
            / 500;
        assert!(hot >= 10, "hot keys estimated {hot}");
        assert!(cold <= 3, "cold keys average {cold}");
    }

    #[test]
    fn ages_old_counts() {
        let hasher = SketchHasher::new();
        let sketch = Sketch::new(256);
        for _ in 0..1_000 {
            sketch.record(&hasher, &"old");
        }
        let before = sketch.estimate(&hasher, &"old");
        // Enough records of other keys to halve the counters a few times.
        for key in 0..(4 * AGE_EVERY * 1_024) {
            sketch.record(&hasher, &key);
        }
        assert!(sketch.estimate(&hasher, &"old") < before / 4);
    }
}
