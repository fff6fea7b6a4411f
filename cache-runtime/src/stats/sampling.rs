//! How many gets a region times for its latency histograms: a fixed one in
//! `n`, or a rate per second that each tick turns into a probability from
//! how many gets the region saw since the previous tick.
//!
//! Timing a get reads the clock twice (~60 ns), a third of a moka hit, so a
//! busy region times a small share of its gets and a quiet one times them
//! all: about the same number of samples either way.

use super::shard::sample_threshold;

/// The default of [`StatsRegistryBuilder::latency_samples_per_second`].
///
/// [`StatsRegistryBuilder::latency_samples_per_second`]: super::StatsRegistryBuilder::latency_samples_per_second
pub(crate) const DEFAULT_PER_SECOND: u32 = 1_000;

/// The share of gets timed before a region's first tick measured its rate.
const FIRST_EVERY: u32 = 16;

/// The share of gets timed once a region spent its budget before a tick.
pub(crate) const BUSY_EVERY: u32 = 1_024;

/// A tick this soon after the previous measuring one leaves the rate as
/// it is: too few gets to measure it by.
const MIN_SPAN_MS: u64 = 250;

/// How a region picks the gets it times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sampling {
    /// One get in `n`, at random (`0` none, `1` all).
    Every(u32),
    /// About `n` gets a second: all of them while the region sees fewer.
    PerSecond(u32),
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling::PerSecond(DEFAULT_PER_SECOND)
    }
}

/// The threshold of [`BUSY_EVERY`].
pub(crate) fn busy_threshold() -> u64 {
    sample_threshold(BUSY_EVERY)
}

impl Sampling {
    /// How many gets may be timed between two ticks: twice the target
    /// under [`Sampling::PerSecond`] (ticks come about every second), no
    /// limit under [`Sampling::Every`].
    pub(crate) fn budget(self) -> u64 {
        match self {
            Sampling::Every(_) => u64::MAX,
            Sampling::PerSecond(per_second) => u64::from(per_second) * 2,
        }
    }

    /// The threshold (see [`sample_threshold`]) a region starts with.
    pub(crate) fn first_threshold(self) -> u64 {
        match self {
            Sampling::Every(every) => sample_threshold(every),
            Sampling::PerSecond(0) => 0,
            Sampling::PerSecond(_) => sample_threshold(FIRST_EVERY),
        }
    }
}

/// Where a region's rate of gets was last measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateMark {
    at_ms: u64,
    gets: u64,
}

impl RateMark {
    pub(crate) fn new(at_ms: u64) -> RateMark {
        RateMark { at_ms, gets: 0 }
    }

    /// The threshold for the gets to come, from the `gets` counted so far
    /// at `now_ms`; `None` to keep the current one (a fixed share, or too
    /// short a span since the last measure).
    pub(crate) fn rethreshold(
        &mut self,
        sampling: Sampling,
        now_ms: u64,
        gets: u64,
    ) -> Option<u64> {
        let Sampling::PerSecond(target) = sampling else {
            return None;
        };
        let span_ms = now_ms.checked_sub(self.at_ms)?;
        if span_ms < MIN_SPAN_MS {
            return None;
        }
        let seen = gets.wrapping_sub(self.gets);
        *self = RateMark {
            at_ms: now_ms,
            gets,
        };
        Some(per_second_threshold(target, seen, span_ms))
    }
}

/// The threshold that times `target` gets a second in expectation when
/// `seen` gets came in `span_ms`: every get when they are fewer.
fn per_second_threshold(target: u32, seen: u64, span_ms: u64) -> u64 {
    if target == 0 {
        return 0;
    }
    let per_second = u128::from(seen) * 1_000 / u128::from(span_ms.max(1));
    if per_second <= u128::from(target) {
        return u64::MAX;
    }
    // u64::MAX * target / per_second, below u64::MAX since the ratio is < 1.
    let threshold = u128::from(u64::MAX) * u128::from(target) / per_second;
    u64::try_from(threshold).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_region_times_every_get_and_a_busy_one_its_share() {
        // 500 gets a second under a target of 1,000: all.
        assert_eq!(per_second_threshold(1_000, 500, 1_000), u64::MAX);
        assert_eq!(per_second_threshold(1_000, 1_000, 1_000), u64::MAX);
        // 1,000,000 a second: one in 1,000.
        let threshold = per_second_threshold(1_000, 2_000_000, 2_000);
        assert_eq!(threshold, u64::MAX / 1_000);
        assert_eq!(per_second_threshold(0, 10, 1_000), 0);
    }

    #[test]
    fn a_rate_is_measured_over_a_long_enough_span() {
        let mut mark = RateMark::new(10_000);
        let sampling = Sampling::PerSecond(100);
        assert_eq!(mark.rethreshold(sampling, 10_100, 50_000), None);
        assert_eq!(
            mark.rethreshold(sampling, 11_000, 100_000),
            Some(u64::MAX / 1_000)
        );
        // 50 gets in the next second: all timed again.
        assert_eq!(mark.rethreshold(sampling, 12_000, 100_050), Some(u64::MAX));
        // A clock that went back leaves the threshold alone.
        assert_eq!(mark.rethreshold(sampling, 11_000, 100_060), None);
        assert_eq!(mark.rethreshold(Sampling::Every(4), 20_000, 0), None);
    }

    #[test]
    fn first_thresholds() {
        assert_eq!(Sampling::Every(1).first_threshold(), u64::MAX);
        assert_eq!(Sampling::Every(0).first_threshold(), 0);
        assert_eq!(Sampling::PerSecond(0).first_threshold(), 0);
        assert_eq!(
            Sampling::default().first_threshold(),
            sample_threshold(FIRST_EVERY)
        );
    }
}
