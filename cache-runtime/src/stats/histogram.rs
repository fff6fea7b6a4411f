//! Latency histograms with fixed log-scale buckets: four per power of two of
//! nanoseconds (so a reported percentile is within 12.5 % of the true one),
//! exact below 8 ns, up to 2^40 ns (18 min), the last bucket open-ended.
//! Recording is one relaxed add to a bucket, one to the sum, and a load
//! (rarely a `fetch_max`) for the maximum.
//!
//! Buckets are upper-inclusive, `(low, high]`, so the Prometheus `le`
//! boundaries (powers of four of nanoseconds) count exactly the values
//! `<= le`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 2;
const SUB: usize = 1 << SUB_BITS;
/// Values at or above `2^MAX_EXP` ns fall into the last bucket.
const MAX_EXP: u32 = 40;
/// The number of buckets.
pub(crate) const BUCKETS: usize = SUB + (MAX_EXP - SUB_BITS) as usize * SUB;

/// The bucket of `ns`.
#[inline]
pub(crate) const fn bucket(ns: u64) -> usize {
    // Shift by one so that buckets are upper-inclusive: (low, high].
    let x = ns.saturating_sub(1);
    if x < SUB as u64 {
        return x as usize;
    }
    let exp = 63 - x.leading_zeros();
    if exp >= MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = (x >> (exp - SUB_BITS)) as usize & (SUB - 1);
    SUB + (exp - SUB_BITS) as usize * SUB + sub
}

/// The values bucket `index` holds: `(low, high]` (bucket 0 also holds 0).
/// The last bucket's `high` is nominal: it holds everything above `low`.
pub(crate) const fn bounds(index: usize) -> (u64, u64) {
    if index < SUB {
        return (index as u64, index as u64 + 1);
    }
    let exp = ((index - SUB) / SUB) as u32 + SUB_BITS;
    let sub = ((index - SUB) % SUB) as u64;
    let width = 1u64 << (exp - SUB_BITS);
    let low = (1u64 << exp) + sub * width;
    (low, low + width)
}

/// The last bucket whose values are all `<= 2^power` ns: the cumulative
/// count up to it is the Prometheus bucket `le = 2^power ns`.
pub(crate) const fn last_bucket_at_most_pow2(power: u32) -> usize {
    bucket(1u64 << power)
}

/// A latency histogram shared by every thread of a region. Latencies are
/// recorded for a sample of gets (and every load), so adds to one bucket
/// from several cores are rare enough not to need striping.
#[repr(align(128))]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    #[inline]
    pub(crate) fn record(&self, ns: u64) {
        self.record_n(ns, 1);
    }

    /// Records `count` samples of `ns` each.
    pub(crate) fn record_n(&self, ns: u64, count: u64) {
        self.buckets[bucket(ns)].fetch_add(count, Ordering::Relaxed);
        self.sum
            .fetch_add(ns.saturating_mul(count), Ordering::Relaxed);
        if ns > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(ns, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> HistogramReading {
        HistogramReading {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum: self.sum.load(Ordering::Relaxed),
            max: self.max.load(Ordering::Relaxed),
        }
    }

    /// Adds a saved histogram (restore).
    pub(crate) fn add(&self, reading: &HistogramReading) {
        for (bucket, n) in self.buckets.iter().zip(&reading.buckets) {
            if *n != 0 {
                bucket.fetch_add(*n, Ordering::Relaxed);
            }
        }
        self.sum.fetch_add(reading.sum, Ordering::Relaxed);
        self.max.fetch_max(reading.max, Ordering::Relaxed);
    }
}

/// The values of a [`Histogram`] at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HistogramReading {
    pub(crate) buckets: [u64; BUCKETS],
    /// Sum of the recorded values, ns (wraps after 584 years of latency).
    pub(crate) sum: u64,
    /// The largest recorded value, ns.
    pub(crate) max: u64,
}

impl Default for HistogramReading {
    fn default() -> HistogramReading {
        HistogramReading {
            buckets: [0; BUCKETS],
            sum: 0,
            max: 0,
        }
    }
}

impl HistogramReading {
    /// The number of recorded values.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().fold(0u64, |a, b| a.wrapping_add(*b))
    }

    /// The `q` quantile (`0.0..=1.0`), ns: the midpoint of the bucket
    /// holding the value of rank `ceil(q * count)`, never above the maximum;
    /// 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        let count = self.count();
        if count == 0 {
            return 0;
        }
        // `as` saturates; the clamp keeps the rank in 1..=count.
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0u64;
        for (index, n) in self.buckets.iter().enumerate() {
            seen = seen.saturating_add(*n);
            if seen >= rank {
                if index == BUCKETS - 1 {
                    return self.max;
                }
                let (low, high) = bounds(index);
                return ((low + 1 + high) / 2).min(self.max);
            }
        }
        self.max
    }

    /// The values of `self` that are not in `part` (a histogram of a
    /// subset of the same values): bucket by bucket and the sum; the
    /// maximum stays `self`'s.
    pub(crate) fn minus(&self, part: &HistogramReading) -> HistogramReading {
        HistogramReading {
            buckets: std::array::from_fn(|i| self.buckets[i].saturating_sub(part.buckets[i])),
            sum: self.sum.saturating_sub(part.sum),
            max: self.max,
        }
    }

    /// The cumulative count of values `<= 2^power` ns.
    #[cfg(test)]
    pub(crate) fn count_at_most_pow2(&self, power: u32) -> u64 {
        let last = last_bucket_at_most_pow2(power);
        self.buckets[..=last]
            .iter()
            .fold(0u64, |a, b| a.wrapping_add(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_upper_inclusive() {
        assert_eq!(BUCKETS, 156);
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 0);
        let mut previous_high = 1;
        for index in 1..BUCKETS {
            let (low, high) = bounds(index);
            assert_eq!(
                low,
                previous_high,
                "bucket {index} starts where {} ends",
                index - 1
            );
            assert!(high > low);
            assert_eq!(bucket(low + 1), index, "lowest value of bucket {index}");
            if index < BUCKETS - 1 {
                assert_eq!(bucket(high), index, "highest value of bucket {index}");
            }
            previous_high = high;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket(1 << 40), BUCKETS - 1);
    }

    #[test]
    fn widths_are_a_quarter_of_the_power_of_two() {
        for index in 8..BUCKETS {
            let (low, high) = bounds(index);
            assert!((high - low) * 4 <= low, "bucket {index}: ({low}, {high}]");
        }
    }

    #[test]
    fn small_values_are_exact() {
        for ns in 1..=8 {
            let (low, high) = bounds(bucket(ns));
            assert_eq!((low, high), (ns - 1, ns));
        }
    }

    #[test]
    fn powers_of_two_end_buckets() {
        for power in 2..40 {
            let index = last_bucket_at_most_pow2(power);
            assert_eq!(bounds(index).1, 1 << power);
            assert_eq!(bucket((1 << power) + 1), index + 1);
        }
    }

    #[test]
    fn quantiles_are_within_an_eighth() {
        let histogram = Histogram::default();
        for ns in 1..=100_000u64 {
            histogram.record(ns);
        }
        let reading = histogram.read();
        assert_eq!(reading.count(), 100_000);
        assert_eq!(reading.sum, 100_000 * 100_001 / 2);
        assert_eq!(reading.max, 100_000);
        for (q, exact) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let got = reading.quantile(q) as f64;
            assert!((got - exact).abs() <= exact / 8.0, "q{q}: {got} vs {exact}");
        }
        assert_eq!(reading.quantile(1.0), 100_000);
        assert_eq!(reading.quantile(0.0), 1);
    }

    #[test]
    fn empty_and_overflow() {
        let histogram = Histogram::default();
        assert_eq!(histogram.read().quantile(0.5), 0);
        histogram.record(u64::MAX / 4);
        assert_eq!(histogram.read().quantile(0.5), u64::MAX / 4);
        assert_eq!(histogram.read().count_at_most_pow2(36), 0);
    }

    #[test]
    fn add_merges() {
        let a = Histogram::default();
        a.record(10);
        a.record(1_000);
        let b = Histogram::default();
        b.record(5);
        b.add(&a.read());
        let reading = b.read();
        assert_eq!(reading.count(), 3);
        assert_eq!(reading.sum, 1_015);
        assert_eq!(reading.max, 1_000);
        assert_eq!(reading.count_at_most_pow2(8), 2);
        assert_eq!(reading.count_at_most_pow2(10), 3);
    }
}
