//! Sliding windows: a ring of 3600 per-second buckets of counter deltas.
//!
//! The recording path never touches the ring. A *tick* (once a second from
//! the [`StatsWorker`](super::StatsWorker), and before every snapshot) reads
//! the exact cumulative counters, puts the difference from the previous
//! tick into the bucket of the current second and clears the buckets of the
//! seconds skipped since. Consecutive ticks therefore partition the counts:
//! none is lost or counted twice when a second boundary passes, whatever
//! the recording threads do meanwhile, and the last hour's window equals
//! the cumulative counts of the last hour. Operations are dated by the tick
//! that first sees them (within one tick interval).
//!
//! Ticks and snapshots take the region's window lock; they are the only
//! users of it. The ring (about 160 KB) is allocated on the first tick that
//! sees any activity, so idle regions cost nothing. Each window's sums are
//! kept up to date as seconds enter and leave it, so a snapshot reads them
//! in constant time; a tick costs one pass over the seconds it skips.

use super::shard::{
    CLEARED, COALESCED, Counts, ERRORS, EVICTIONS, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES,
    REMOVALS, UPDATES,
};

/// Seconds in the ring: the longest window.
pub(crate) const RING_SECS: u64 = 3600;

/// The window lengths, seconds: 1 min, 5 min, 1 h.
pub(crate) const WINDOW_SECS: [u64; 3] = [60, 300, RING_SECS];

/// Windowed quantities, in bucket order.
pub(crate) const W_HITS: usize = 0;
pub(crate) const W_MISSES: usize = 1;
pub(crate) const W_INSERTS: usize = 2;
pub(crate) const W_UPDATES: usize = 3;
pub(crate) const W_REMOVALS: usize = 4;
pub(crate) const W_EVICTIONS: usize = 5;
pub(crate) const W_LOADS_OK: usize = 6;
pub(crate) const W_LOADS_ERR: usize = 7;
pub(crate) const W_ERRORS: usize = 8;
pub(crate) const W_COALESCED: usize = 9;
pub(crate) const W_CLEARED: usize = 10;
/// The number of windowed quantities.
pub(crate) const WINDOWED: usize = 11;

/// One second's deltas. `u32` keeps the ring at ~160 KB; a second would need
/// over four billion operations of one kind on one region to saturate.
type Bucket = [u32; WINDOWED];

/// The windowed quantities of a cumulative reading.
fn project(counts: &Counts) -> [u64; WINDOWED] {
    let sum = |from: usize, len: usize| {
        counts[from..from + len]
            .iter()
            .fold(0u64, |a, b| a.wrapping_add(*b))
    };
    [
        counts[HITS],
        counts[MISSES],
        counts[INSERTS],
        counts[UPDATES],
        counts[REMOVALS],
        sum(EVICTIONS, 3),
        counts[LOADS_OK],
        counts[LOADS_ERR],
        sum(ERRORS, 3),
        counts[COALESCED],
        counts[CLEARED],
    ]
}

/// The per-second ring of one region and what the last tick saw.
pub(crate) struct Windows {
    /// The second of the last tick (Unix seconds): the ring's newest bucket.
    last_sec: u64,
    /// The cumulative counters the last tick read.
    last: Counts,
    /// Bucket `s % RING_SECS` holds second `s`, for `s` in
    /// `last_sec - RING_SECS + 1 ..= last_sec`; `None` until there is activity.
    ring: Option<Box<[Bucket]>>,
    /// When a tick last saw a get, insert, update or removal (Unix ms).
    last_access_ms: Option<u64>,
    /// For each of [`WINDOW_SECS`], the sum of its buckets up to `last_sec`.
    sums: [[u64; WINDOWED]; 3],
}

impl Windows {
    /// Windows starting at `now_ms`, with counters at zero.
    pub(crate) fn new(now_ms: u64) -> Windows {
        Windows {
            last_sec: now_ms / 1000,
            last: [0; super::shard::COUNTERS],
            ring: None,
            last_access_ms: None,
            sums: [[0; WINDOWED]; 3],
        }
    }

    /// Folds the counts since the last tick into the bucket of `now_ms`'s
    /// second (or of the last tick's second, if the clock moved back).
    pub(crate) fn tick(&mut self, now_ms: u64, counts: &Counts) {
        let now_sec = (now_ms / 1000).max(self.last_sec);
        if now_sec > self.last_sec
            && let Some(ring) = &mut self.ring
        {
            let advance = now_sec - self.last_sec;
            // Seconds leaving each window, before their buckets are reused.
            for (sums, len) in self.sums.iter_mut().zip(WINDOW_SECS) {
                if advance >= len {
                    *sums = [0; WINDOWED];
                    continue;
                }
                // Old window: last_sec - len + 1 ..= last_sec; new one:
                // now_sec - len + 1 ..= now_sec (seconds before 0 never held
                // anything).
                let Some(last_leaving) = now_sec.checked_sub(len) else {
                    continue;
                };
                for second in (self.last_sec + 1).saturating_sub(len)..=last_leaving {
                    let bucket = &ring[(second % RING_SECS) as usize];
                    for (sum, n) in sums.iter_mut().zip(bucket) {
                        *sum -= u64::from(*n);
                    }
                }
            }
            let skipped = advance.min(RING_SECS);
            for second in now_sec + 1 - skipped..=now_sec {
                ring[(second % RING_SECS) as usize] = [0; WINDOWED];
            }
        }
        self.last_sec = now_sec;

        let before = project(&self.last);
        let after = project(counts);
        let mut delta = [0u64; WINDOWED];
        for (d, (a, b)) in delta.iter_mut().zip(after.iter().zip(&before)) {
            *d = a.wrapping_sub(*b);
        }
        self.last = *counts;
        if delta.iter().all(|d| *d == 0) {
            return;
        }
        let accessed = delta[W_HITS]
            | delta[W_MISSES]
            | delta[W_INSERTS]
            | delta[W_UPDATES]
            | delta[W_REMOVALS]
            | delta[W_COALESCED]
            | delta[W_CLEARED]
            != 0;
        if accessed {
            self.last_access_ms = Some(self.last_access_ms.map_or(now_ms, |t| t.max(now_ms)));
        }
        let ring = self
            .ring
            .get_or_insert_with(|| vec![[0; WINDOWED]; RING_SECS as usize].into_boxed_slice());
        let bucket = &mut ring[(now_sec % RING_SECS) as usize];
        for (i, (slot, d)) in bucket.iter_mut().zip(delta).enumerate() {
            let before = *slot;
            *slot = slot.saturating_add(u32::try_from(d).unwrap_or(u32::MAX));
            let added = u64::from(*slot - before);
            for sums in &mut self.sums {
                sums[i] += added;
            }
        }
    }

    /// The sums of the windows [`WINDOW_SECS`], each over its last seconds
    /// up to the last tick's, that one included.
    pub(crate) fn windows(&self) -> &[[u64; WINDOWED]; 3] {
        &self.sums
    }

    /// The sums of the last `secs` seconds up to the last tick's, that one
    /// included, added up from the ring: the reference for the running sums.
    #[cfg(test)]
    pub(crate) fn window(&self, secs: u64) -> [u64; WINDOWED] {
        let mut sums = [0u64; WINDOWED];
        let Some(ring) = &self.ring else {
            return sums;
        };
        let secs = secs.min(RING_SECS).min(self.last_sec + 1);
        for second in self.last_sec + 1 - secs..=self.last_sec {
            for (sum, n) in sums.iter_mut().zip(&ring[(second % RING_SECS) as usize]) {
                *sum += u64::from(*n);
            }
        }
        sums
    }

    /// Adds restored counts to what the last tick saw, so that the next tick
    /// does not date them now. Call with the counters already increased and
    /// the lock held throughout.
    pub(crate) fn absorb(&mut self, restored: &Counts, last_access_ms: Option<u64>) {
        for (last, n) in self.last.iter_mut().zip(restored) {
            *last = last.wrapping_add(*n);
        }
        if let Some(at) = last_access_ms {
            self.last_access_ms = Some(self.last_access_ms.map_or(at, |t| t.max(at)));
        }
    }

    pub(crate) fn last_access_ms(&self) -> Option<u64> {
        self.last_access_ms
    }
}

#[cfg(test)]
mod tests {
    use super::super::shard::COUNTERS;
    use super::*;

    fn counts(hits: u64, misses: u64) -> Counts {
        let mut counts = [0; COUNTERS];
        counts[HITS] = hits;
        counts[MISSES] = misses;
        counts
    }

    const T0: u64 = 1_767_225_600_000;

    #[test]
    fn dates_activity_by_tick_second() {
        let mut windows = Windows::new(T0);
        windows.tick(T0 + 500, &counts(5, 1));
        windows.tick(T0 + 1_200, &counts(7, 1));
        assert_eq!(windows.window(1)[W_HITS], 2);
        assert_eq!(windows.window(2)[W_HITS], 7);
        assert_eq!(windows.window(2)[W_MISSES], 1);
        assert_eq!(windows.last_access_ms(), Some(T0 + 1_200));
    }

    #[test]
    fn old_seconds_fall_out() {
        let mut windows = Windows::new(T0);
        windows.tick(T0, &counts(10, 0));
        windows.tick(T0 + 61_000, &counts(11, 0));
        assert_eq!(windows.window(60)[W_HITS], 1);
        assert_eq!(windows.window(300)[W_HITS], 11);
        // An hour later the first bucket is reused for a new second.
        windows.tick(T0 + 3_600_000, &counts(11, 0));
        assert_eq!(windows.window(3600)[W_HITS], 1);
        windows.tick(T0 + 3_661_000, &counts(11, 0));
        assert_eq!(windows.window(3600)[W_HITS], 0);
        assert_eq!(windows.last_access_ms(), Some(T0 + 61_000));
    }

    #[test]
    fn a_long_gap_clears_everything() {
        let mut windows = Windows::new(T0);
        windows.tick(T0, &counts(3, 0));
        windows.tick(T0 + 10 * 3_600_000, &counts(4, 0));
        assert_eq!(windows.window(3600)[W_HITS], 1);
    }

    #[test]
    fn clock_moving_back_dates_at_the_last_tick() {
        let mut windows = Windows::new(T0);
        windows.tick(T0 + 5_000, &counts(1, 0));
        windows.tick(T0 + 1_000, &counts(2, 0));
        assert_eq!(windows.window(1)[W_HITS], 2);
    }

    #[test]
    fn idle_regions_allocate_nothing() {
        let mut windows = Windows::new(T0);
        windows.tick(T0 + 9_000, &counts(0, 0));
        assert!(windows.ring.is_none());
        assert_eq!(windows.window(60), [0; WINDOWED]);
        assert_eq!(windows.last_access_ms(), None);
    }

    #[test]
    fn absorbed_counts_are_not_dated() {
        let mut windows = Windows::new(T0);
        windows.absorb(&counts(100, 50), Some(T0 - 5_000));
        windows.tick(T0 + 1_000, &counts(101, 50));
        assert_eq!(windows.window(3600)[W_HITS], 1);
        assert_eq!(windows.window(3600)[W_MISSES], 0);
        assert_eq!(windows.last_access_ms(), Some(T0 + 1_000));
    }

    #[test]
    fn running_sums_match_the_ring() {
        // A pseudo-random walk of ticks: small and large steps, the clock
        // sometimes moving back, bursts and idle stretches.
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        for start in [T0, 500] {
            let mut windows = Windows::new(start);
            let mut now = start;
            let mut c = [0u64; COUNTERS];
            for step in 0..5_000 {
                now = match next(100) {
                    0 => now.saturating_sub(next(5_000)),
                    1 => now + next(4_000_000),
                    2..=20 => now + next(400_000),
                    _ => now + next(3_000),
                };
                if next(3) != 0 {
                    c[HITS] += next(50);
                    c[MISSES] += next(5);
                    c[EVICTIONS + 2] += next(2);
                }
                windows.tick(now, &c);
                // Errors persist in running sums: checking every few steps
                // finds them, at a fraction of the (debug build) cost.
                if step % 7 != 0 {
                    continue;
                }
                for (i, len) in WINDOW_SECS.into_iter().enumerate() {
                    assert_eq!(
                        windows.windows()[i],
                        windows.window(len),
                        "{len} s at {now}"
                    );
                }
            }
        }
    }

    #[test]
    fn evictions_and_errors_are_summed_and_not_accesses() {
        let mut windows = Windows::new(T0);
        let mut c = [0; COUNTERS];
        c[EVICTIONS] = 2;
        c[EVICTIONS + 2] = 3;
        c[ERRORS + 1] = 4;
        windows.tick(T0, &c);
        assert_eq!(windows.window(60)[W_EVICTIONS], 5);
        assert_eq!(windows.window(60)[W_ERRORS], 4);
        assert_eq!(windows.last_access_ms(), None);
    }
}
