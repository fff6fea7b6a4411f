//! Metric history: per region, one point every 10 s for the last hour and
//! one a minute for the last day.
//!
//! Like the windows, the history is derived off the recording path. Each
//! tick hands it the cumulative counters; when a tick sees that the step it
//! was filling (a 10 s or 1 min slot of wall-clock time) is over, it closes
//! that step's point with what it reads: the counters' difference since the
//! step opened, the entry and byte gauges, and the median and 99th
//! percentile of the gets timed meanwhile (the latency histogram's
//! difference, read only when a step closes). Activity is therefore dated
//! within one tick interval (a second with the worker running) after its
//! step.
//!
//! A point exists for each step during which the region was ticked; steps
//! with no tick at all (the process was down, or nothing asked for the
//! statistics and no worker ran) have none, and readers see a gap rather
//! than zeros. A region that never had any activity or gauge allocates
//! nothing.
//!
//! Each point takes 72 bytes; the two rings of an active region hold
//! `360 + 1440` of them, about 130 KB with the open steps' latency
//! baselines ([`HISTORY_BYTES_PER_REGION`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::histogram::HistogramReading;
use super::shard::{
    COALESCED, Counts, ERRORS, EVICTIONS, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES,
};
use super::snapshot::EvictionCounts;

/// Which series of a region's history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HistoryRange {
    /// The last hour, one point every 10 seconds (360 points).
    Hour,
    /// The last 24 hours, one point a minute (1440 points).
    Day,
}

impl HistoryRange {
    /// Both ranges, shortest first.
    pub const ALL: [HistoryRange; 2] = [HistoryRange::Hour, HistoryRange::Day];

    /// The time one point covers.
    pub const fn step(self) -> Duration {
        Duration::from_secs(self.step_secs())
    }

    /// The time the whole series covers.
    pub const fn span(self) -> Duration {
        Duration::from_secs(self.step_secs() * self.points() as u64)
    }

    /// How many points the series holds at most.
    pub const fn points(self) -> usize {
        match self {
            HistoryRange::Hour => 360,
            HistoryRange::Day => 1440,
        }
    }

    /// The range's name in URLs and files: `1h` or `24h`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HistoryRange::Hour => "1h",
            HistoryRange::Day => "24h",
        }
    }

    /// Reads `1h` or `24h`.
    pub fn parse(text: &str) -> Option<HistoryRange> {
        HistoryRange::ALL
            .into_iter()
            .find(|range| range.as_str() == text)
    }

    const fn step_secs(self) -> u64 {
        match self {
            HistoryRange::Hour => 10,
            HistoryRange::Day => 60,
        }
    }

    const fn index(self) -> usize {
        match self {
            HistoryRange::Hour => 0,
            HistoryRange::Day => 1,
        }
    }
}

/// What one region did during one step of its history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryPoint {
    /// When the step began (Unix ms, a multiple of the step).
    pub at_ms: u64,
    /// The step's length in seconds (10 or 60).
    pub seconds: u64,
    /// Gets that found a value.
    pub hits: u64,
    /// Gets that found nothing and were not coalesced.
    pub misses: u64,
    /// Gets that waited for another caller's load of the same key.
    pub coalesced: u64,
    /// Loads that produced a value.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Values stored.
    pub inserts: u64,
    /// Errors the manager recovered from, every cause.
    pub errors: u64,
    /// Entries the cache dropped itself, by cause.
    pub evictions: EvictionCounts,
    /// Entries at the end of the step, where known.
    pub entries: Option<u64>,
    /// Bytes at the end of the step, where known.
    pub bytes: Option<u64>,
    /// The median latency of the gets timed in the step, ns (`None` when
    /// none was timed).
    pub p50_ns: Option<u64>,
    /// The 99th percentile latency of the gets timed in the step, ns.
    pub p99_ns: Option<u64>,
}

impl HistoryPoint {
    /// Gets in the step: hits, misses and coalesced.
    pub fn gets(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }
}

/// The counters a point keeps, in stored order.
const KEPT: [usize; 10] = [
    HITS,
    MISSES,
    COALESCED,
    LOADS_OK,
    LOADS_ERR,
    INSERTS,
    ERRORS,
    EVICTIONS,
    EVICTIONS + 1,
    EVICTIONS + 2,
];
/// The three error counters are kept as one.
const ERROR_COUNTERS: usize = 3;

/// A gauge or step number that is not known.
const UNKNOWN: u64 = u64::MAX;

/// One stored point.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stored {
    /// `at / step`: tells a point of this pass round the ring from an old one.
    step: u64,
    entries: u64,
    bytes: u64,
    counts: [u32; KEPT.len()],
    /// NaN when no get was timed.
    p50_ns: f32,
    p99_ns: f32,
}

/// The size of one stored point, bytes.
const STORED_BYTES: usize = std::mem::size_of::<Stored>();

/// The memory an active region's history takes: both rings of points plus
/// the latency histograms the open steps started from. A region that never
/// had activity takes none of it.
pub const HISTORY_BYTES_PER_REGION: usize = STORED_BYTES
    * (HistoryRange::Hour.points() + HistoryRange::Day.points())
    + 2 * std::mem::size_of::<HistogramReading>();

const EMPTY: Stored = Stored {
    step: UNKNOWN,
    entries: UNKNOWN,
    bytes: UNKNOWN,
    counts: [0; KEPT.len()],
    p50_ns: f32::NAN,
    p99_ns: f32::NAN,
};

impl Stored {
    fn point(&self, range: HistoryRange) -> HistoryPoint {
        let n = |i: usize| u64::from(self.counts[i]);
        let known = |value: u64| Some(value).filter(|v| *v != UNKNOWN);
        // f32 holds any latency the histogram reports to within 1e-7.
        let latency = |ns: f32| (!ns.is_nan()).then_some(ns as u64);
        HistoryPoint {
            at_ms: self.step * range.step_secs() * 1000,
            seconds: range.step_secs(),
            hits: n(0),
            misses: n(1),
            coalesced: n(2),
            loads_succeeded: n(3),
            loads_failed: n(4),
            inserts: n(5),
            errors: n(6),
            evictions: EvictionCounts {
                expired: n(7),
                idle: n(8),
                size: n(9),
            },
            entries: known(self.entries),
            bytes: known(self.bytes),
            p50_ns: latency(self.p50_ns),
            p99_ns: latency(self.p99_ns),
        }
    }

    fn from_point(point: &HistoryPoint, range: HistoryRange) -> Stored {
        let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let gauge = |v: Option<u64>| v.map_or(UNKNOWN, |v| v.min(UNKNOWN - 1));
        let latency = |v: Option<u64>| v.map_or(f32::NAN, |v| v as f32);
        Stored {
            step: point.at_ms / 1000 / range.step_secs(),
            entries: gauge(point.entries),
            bytes: gauge(point.bytes),
            counts: [
                n(point.hits),
                n(point.misses),
                n(point.coalesced),
                n(point.loads_succeeded),
                n(point.loads_failed),
                n(point.inserts),
                n(point.errors),
                n(point.evictions.expired),
                n(point.evictions.idle),
                n(point.evictions.size),
            ],
            p50_ns: latency(point.p50_ns),
            p99_ns: latency(point.p99_ns),
        }
    }
}

/// One series: the step being filled and a ring of closed points.
struct Series {
    range: HistoryRange,
    /// The step being filled (`unix seconds / step`).
    open: u64,
    /// The counters when it opened.
    base: Counts,
    /// The get latency histogram when it opened (`None`: empty then).
    base_latency: Option<Box<HistogramReading>>,
    /// Point of step `s` at `s % points`; allocated with the first point
    /// worth keeping.
    ring: Option<Box<[Stored]>>,
}

impl Series {
    fn new(range: HistoryRange, now_sec: u64) -> Series {
        Series {
            range,
            open: now_sec / range.step_secs(),
            base: [0; super::shard::COUNTERS],
            base_latency: None,
            ring: None,
        }
    }

    fn store(&mut self, stored: Stored) {
        let len = self.range.points();
        let ring = self
            .ring
            .get_or_insert_with(|| vec![EMPTY; len].into_boxed_slice());
        ring[(stored.step % len as u64) as usize] = stored;
    }

    /// The closed points, oldest first.
    fn points(&self) -> Vec<HistoryPoint> {
        let Some(ring) = &self.ring else {
            return Vec::new();
        };
        let len = self.range.points() as u64;
        let first = self.open.saturating_sub(len);
        (first..self.open)
            .filter_map(|step| {
                let stored = &ring[(step % len) as usize];
                (stored.step == step).then(|| stored.point(self.range))
            })
            .collect()
    }
}

/// The history of one region: both series.
pub(crate) struct History {
    series: [Series; 2],
}

impl History {
    pub(crate) fn new(now_ms: u64) -> History {
        let now_sec = now_ms / 1000;
        History {
            series: HistoryRange::ALL.map(|range| Series::new(range, now_sec)),
        }
    }

    /// Closes the steps that ended before `now_ms` with what this tick
    /// reads. `latency` reads the get latency histogram; it is called at
    /// most once, and only when a step closes.
    pub(crate) fn tick(
        &mut self,
        now_ms: u64,
        counts: &Counts,
        latency: impl FnOnce() -> HistogramReading,
        entries: Option<u64>,
        bytes: Option<u64>,
    ) {
        let now_sec = now_ms / 1000;
        let entries = entries.map_or(UNKNOWN, |n| n.min(UNKNOWN - 1));
        let bytes = bytes.map_or(UNKNOWN, |n| n.min(UNKNOWN - 1));
        let mut latency = Some(latency);
        let mut reading: Option<Box<HistogramReading>> = None;
        for series in &mut self.series {
            // A clock that moved back keeps filling the open step.
            if now_sec / series.range.step_secs() <= series.open {
                continue;
            }
            let now_latency = match (&reading, latency.take()) {
                (Some(reading), _) => reading.clone(),
                (None, Some(read)) => {
                    let fresh = Box::new(read());
                    reading = Some(fresh.clone());
                    fresh
                }
                (None, None) => Box::default(),
            };
            let mut delta = [0u64; KEPT.len()];
            for (i, counter) in KEPT.iter().enumerate() {
                delta[i] = counts[*counter].wrapping_sub(series.base[*counter]);
            }
            // The error causes are summed into one kept counter.
            delta[6] = (ERRORS..ERRORS + ERROR_COUNTERS)
                .map(|c| counts[c].wrapping_sub(series.base[c]))
                .fold(0u64, u64::wrapping_add);
            let timed = match &series.base_latency {
                Some(base) => now_latency.minus(base),
                None => (*now_latency).clone(),
            };
            let worth_keeping = delta.iter().any(|d| *d != 0)
                || entries != UNKNOWN
                || bytes != UNKNOWN
                || series.ring.is_some();
            if worth_keeping {
                let quantile = |q: f64| {
                    if timed.count() == 0 {
                        f32::NAN
                    } else {
                        timed.quantile(q) as f32
                    }
                };
                series.store(Stored {
                    step: series.open,
                    entries,
                    bytes,
                    counts: delta.map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
                    p50_ns: quantile(0.5),
                    p99_ns: quantile(0.99),
                });
            }
            series.open = now_sec / series.range.step_secs();
            series.base = *counts;
            series.base_latency = (now_latency.count() != 0).then_some(now_latency);
        }
    }

    /// Adds restored counts and latencies to what every open step started
    /// from, so that no step counts them as recent activity. Call
    /// with the counters and histogram already increased, the lock held.
    pub(crate) fn absorb(&mut self, restored: &Counts, latency: &HistogramReading) {
        for series in &mut self.series {
            for (base, n) in series.base.iter_mut().zip(restored) {
                *base = base.wrapping_add(*n);
            }
            let mut base = series.base_latency.take().unwrap_or_default();
            for (b, n) in base.buckets.iter_mut().zip(latency.buckets) {
                *b = b.saturating_add(n);
            }
            base.sum = base.sum.saturating_add(latency.sum);
            base.max = base.max.max(latency.max);
            series.base_latency = Some(base);
        }
    }

    /// The closed points of `range`, oldest first.
    pub(crate) fn points(&self, range: HistoryRange) -> Vec<HistoryPoint> {
        self.series[range.index()].points()
    }

    /// Puts saved points back, those of steps that are closed and still in
    /// their range; a point the history already has for a step wins.
    /// Returns how many were put back.
    pub(crate) fn restore(&mut self, range: HistoryRange, points: &[HistoryPoint]) -> usize {
        let series = &mut self.series[range.index()];
        let len = range.points() as u64;
        let first = series.open.saturating_sub(len);
        let mut restored = 0;
        for point in points {
            let stored = Stored::from_point(point, range);
            if stored.step < first || stored.step >= series.open {
                continue;
            }
            let taken = series
                .ring
                .as_ref()
                .is_some_and(|ring| ring[(stored.step % len) as usize].step == stored.step);
            if !taken {
                series.store(stored);
                restored += 1;
            }
        }
        restored
    }
}

#[cfg(test)]
mod tests {
    use super::super::histogram::Histogram;
    use super::super::shard::COUNTERS;
    use super::*;

    const T0: u64 = 1_767_225_600_000;

    fn counts(hits: u64, misses: u64) -> Counts {
        let mut counts = [0; COUNTERS];
        counts[HITS] = hits;
        counts[MISSES] = misses;
        counts
    }

    fn no_latency() -> HistogramReading {
        HistogramReading::default()
    }

    #[test]
    fn a_point_per_closed_step() {
        let mut history = History::new(T0);
        history.tick(T0 + 1_000, &counts(3, 1), no_latency, Some(4), None);
        history.tick(T0 + 9_000, &counts(5, 1), no_latency, Some(5), None);
        // Still in the first step: nothing closed.
        assert!(history.points(HistoryRange::Hour).is_empty());
        history.tick(T0 + 10_500, &counts(9, 2), no_latency, Some(6), None);
        let points = history.points(HistoryRange::Hour);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].at_ms, T0);
        assert_eq!((points[0].hits, points[0].misses), (9, 2));
        assert_eq!(points[0].entries, Some(6));
        assert_eq!(points[0].p99_ns, None);
        history.tick(T0 + 20_000, &counts(13, 2), no_latency, Some(6), None);
        let points = history.points(HistoryRange::Hour);
        assert_eq!(points.len(), 2);
        assert_eq!((points[1].at_ms, points[1].hits), (T0 + 10_000, 4));
        // The minute series closes its first point a minute in.
        assert!(history.points(HistoryRange::Day).is_empty());
        history.tick(T0 + 60_000, &counts(10, 2), no_latency, Some(6), None);
        let day = history.points(HistoryRange::Day);
        assert_eq!((day.len(), day[0].hits, day[0].misses), (1, 10, 2));
    }

    #[test]
    fn steps_without_a_tick_are_gaps() {
        let mut history = History::new(T0);
        history.tick(T0 + 1_000, &counts(1, 0), no_latency, None, None);
        history.tick(T0 + 45_000, &counts(2, 0), no_latency, None, None);
        history.tick(T0 + 55_000, &counts(2, 0), no_latency, None, None);
        let points = history.points(HistoryRange::Hour);
        let at: Vec<u64> = points.iter().map(|p| (p.at_ms - T0) / 1000).collect();
        assert_eq!(at, [0, 40]);
        assert_eq!((points[0].hits, points[1].hits), (2, 0));
    }

    #[test]
    fn idle_regions_allocate_nothing() {
        let mut history = History::new(T0);
        for second in 1..100 {
            history.tick(T0 + second * 1000, &counts(0, 0), no_latency, None, None);
        }
        assert!(history.series.iter().all(|s| s.ring.is_none()));
        assert!(history.points(HistoryRange::Hour).is_empty());
    }

    #[test]
    fn old_points_leave_the_ring() {
        let mut history = History::new(T0);
        history.tick(T0 + 1_000, &counts(1, 0), no_latency, None, None);
        history.tick(T0 + 11_000, &counts(1, 0), no_latency, None, None);
        assert_eq!(history.points(HistoryRange::Hour).len(), 1);
        history.tick(T0 + 61_000, &counts(1, 0), no_latency, None, None);
        // An hour and a step later the first point is out of range, though
        // its slot was never reused.
        history.tick(T0 + 3_611_000, &counts(1, 0), no_latency, None, None);
        let points = history.points(HistoryRange::Hour);
        assert!(points.iter().all(|p| p.at_ms > T0), "{points:?}");
        assert_eq!(history.points(HistoryRange::Day)[0].hits, 1);
    }

    #[test]
    fn percentiles_are_of_the_step_alone() {
        let histogram = Histogram::default();
        let mut history = History::new(T0);
        for _ in 0..100 {
            histogram.record(1_000_000);
        }
        history.tick(
            T0 + 10_000,
            &counts(100, 0),
            || histogram.read(),
            None,
            None,
        );
        for _ in 0..100 {
            histogram.record(1_000);
        }
        history.tick(
            T0 + 20_000,
            &counts(200, 0),
            || histogram.read(),
            None,
            None,
        );
        let points = history.points(HistoryRange::Hour);
        let p99 = points[1].p99_ns.expect("timed gets");
        assert!((900..=1_100).contains(&p99), "{p99}");
        let first = points[0].p99_ns.expect("timed gets");
        assert!((900_000..=1_100_000).contains(&first), "{first}");
    }

    #[test]
    fn restored_counts_are_not_recent_and_points_come_back() {
        let mut history = History::new(T0);
        history.absorb(&counts(1_000, 10), &no_latency());
        history.tick(T0 + 10_000, &counts(1_001, 10), no_latency, None, None);
        history.tick(T0 + 20_000, &counts(1_001, 10), no_latency, None, None);
        let points = history.points(HistoryRange::Hour);
        assert_eq!((points[0].hits, points[0].misses), (1, 0));
        assert_eq!(points.len(), 2);

        let saved = vec![HistoryPoint {
            at_ms: T0 - 30_000,
            seconds: 10,
            hits: 7,
            p50_ns: Some(640),
            ..HistoryPoint::default()
        }];
        assert_eq!(history.restore(HistoryRange::Hour, &saved), 1);
        // The same step twice, or a step not closed yet, is not put back.
        assert_eq!(history.restore(HistoryRange::Hour, &saved), 0);
        let future = vec![HistoryPoint {
            at_ms: T0 + 20_000,
            ..HistoryPoint::default()
        }];
        assert_eq!(history.restore(HistoryRange::Hour, &future), 0);
        let points = history.points(HistoryRange::Hour);
        assert_eq!(points[0].at_ms, T0 - 30_000);
        assert_eq!((points[0].hits, points[0].p50_ns), (7, Some(640)));
    }

    #[test]
    fn a_stored_point_is_small() {
        assert_eq!(STORED_BYTES, 72);
        // 1800 points and two latency baselines: about 130 KB.
        assert_eq!(HISTORY_BYTES_PER_REGION, 72 * 1800 + 2 * (8 * 156 + 16));
    }
}
