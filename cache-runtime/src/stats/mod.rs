//! Per-region statistics: counters, latency distributions, sliding windows,
//! Prometheus and JSON export, persistence across restarts.
//!
//! The manager calls a [`RegionStats`] on every operation, so recording is
//! built to cost a few nanoseconds next to a ~300 ns moka hit:
//!
//! - counters are striped over cache-line-padded shards picked by a
//!   thread-local index; recording one is a relaxed atomic add to the
//!   thread's own shard: no lock, no allocation, no clock read;
//! - latencies go to fixed log-scale histograms (one relaxed add per bucket).
//!   Timing a get needs two [`Instant::now`](std::time::Instant::now) calls,
//!   which cost more than everything else here together, so
//!   [`RegionStats::time_get`] times only a random sample of gets while
//!   every get is counted exactly: by default about 1,000 a second per
//!   region, re-rated at each tick from the region's rate of gets
//!   ([`StatsRegistryBuilder::latency_samples_per_second`]), or a fixed one
//!   in `n` ([`StatsRegistryBuilder::latency_sample_every`]);
//! - windows and the last access are derived off the recording path: a tick
//!   (every second from a [`StatsWorker`], and before each snapshot) folds
//!   the exact counters into a ring of per-second buckets.
//!
//! Measured by `cargo bench -p cache-runtime --bench stats` on the reference
//! machine (2 cores, shared; medians), against a ~300 ns moka hit:
//!
//! | path                                   | ns   | of a moka hit |
//! |----------------------------------------|------|---------------|
//! | one relaxed atomic add (the floor)     | 2.3  | 0.8 %         |
//! | [`RegionStats::hit`]                   | 2.2  | 0.7 %         |
//! | [`RegionStats::hit_latency`]           | 8.4  | 2.8 %         |
//! | [`RegionStats::time_get`] + hit, 1/16  | 8.4  | 2.8 %         |
//! | the same timing every get              | 74   | 25 %          |
//! | `Instant::now()`                       | 30   | 10 %          |
//!
//! Two threads counting at once cost the same per call (each has its own
//! shard); two threads recording latencies at once contend on the region's
//! histogram (~1.5x the one-thread time in the batch benchmark), which the
//! sampling keeps rare. A snapshot takes ~0.5 µs; the Prometheus text
//! ~5 µs per region.
//!
//! Layout:
//!
//! - `mod.rs`: [`RegionStats`], the recording API;
//! - `shard.rs`: striped counters, thread-local shard index and sampler;
//! - `sampling.rs`: how many gets are timed, re-rated at each tick;
//! - `histogram.rs`: log-scale latency buckets and percentiles;
//! - `window.rs`: the per-second ring;
//! - `history.rs`: the 10 s and 1 min series ([`RegionStats::history`]);
//! - `snapshot.rs`: [`StatsSnapshot`] and the causes counted;
//! - `registry.rs`: [`StatsRegistry`], one [`RegionStats`] per region;
//! - `prometheus.rs`: the text exposition;
//! - `persist.rs`: save and restore;
//! - `worker.rs`: [`StatsWorker`], the ticking and saving thread;
//! - `clock.rs`: [`ManualClock`] for tests; the [`Clock`] trait is the
//!   crate's own, shared with the persisted tiers.

mod clock;
mod histogram;
mod history;
mod persist;
mod prometheus;
mod registry;
mod sampling;
mod shard;
mod snapshot;
mod tiers;
mod window;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

pub use self::clock::ManualClock;
pub use self::history::{HISTORY_BYTES_PER_REGION, HistoryPoint, HistoryRange};
pub use self::persist::{RestoreOutcome, STATS_FORMAT};
pub use self::registry::{StatsRegistry, StatsRegistryBuilder};
pub use self::snapshot::{
    ErrorCause, ErrorCounts, EvictionCause, EvictionCounts, LatencySummary, StatsSnapshot,
    WindowStats,
};
pub use self::tiers::TierSnapshot;
pub(crate) use self::tiers::{L2Outcome, LookupTally};
pub(crate) use self::tiers::{TierEvent, TierStats};
pub use self::worker::{StatsWorker, StatsWorkerBuilder};
pub use crate::envelope::{Clock, SystemClock};

use self::histogram::{Histogram, HistogramReading};
use self::history::History;
pub(crate) use self::prometheus::RegionInfo;
use self::sampling::RateMark;
pub(crate) use self::sampling::Sampling;
use self::shard::{
    CLEARED, COALESCED, Counts, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES, REMOVALS, Shards,
    UPDATES,
};
use self::snapshot::Parts;
use self::window::{WINDOW_SECS, Windows};

/// Settings shared by the regions of a [`StatsRegistry`].
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) sampling: Sampling,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Settings {
    /// Timing gets as `sampling` says, dating with `clock`.
    pub(crate) fn new(sampling: Sampling, clock: Arc<dyn Clock>) -> Settings {
        Settings { sampling, clock }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sampling: Sampling::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// The statistics of one region: what the manager records on every
/// operation and what [`snapshot`](RegionStats::snapshot) reports.
///
/// Every method takes `&self` and can be called from any thread; the record
/// methods never lock, allocate or read a clock. Counts are exact under
/// concurrency: a snapshot taken after recording threads finish sees every
/// operation exactly once.
///
/// ```
/// use cache_runtime::stats::{EvictionCause, RegionStats};
///
/// let stats = RegionStats::new("sessions");
/// let timer = stats.time_get(); // times a sample of gets, counts every one
/// timer.miss();
/// stats.load_ok(2_500_000);
/// stats.insert();
/// stats.hit_latency(180);
/// stats.evict(EvictionCause::Expired);
///
/// let snapshot = stats.snapshot();
/// assert_eq!((snapshot.hits, snapshot.misses), (1, 1));
/// assert_eq!(snapshot.hit_rate, Some(0.5));
/// assert_eq!(snapshot.evictions.expired, 1);
/// assert_eq!(snapshot.last_1m.inserts, 1);
/// ```
pub struct RegionStats {
    name: Box<str>,
    shards: Shards,
    get_latency: Histogram,
    /// The misses among `get_latency` (hits are the difference).
    miss_latency: Histogram,
    load_time: Histogram,
    gauges: Gauges,
    /// Which gets [`RegionStats::time_get`] times (see [`shard::sampled`]),
    /// re-rated by ticks under [`Sampling::PerSecond`].
    sample_threshold: AtomicU64,
    /// Timed gets left until the next tick under [`Sampling::PerSecond`]
    /// (wrapping below 0 reads as spent).
    sample_budget: AtomicU64,
    sampling: Sampling,
    clock: Arc<dyn Clock>,
    windows: Mutex<Recent>,
    tiers: TierStats,
}

/// What the ticks derive: the per-second windows and the history, under
/// one lock.
struct Recent {
    windows: Windows,
    history: History,
    rate: RateMark,
}

/// Entry count and bytes, on their own cache lines: the manager may set them
/// often. [`UNKNOWN`] where the tier cannot know the figure.
#[repr(align(128))]
struct Gauges {
    entries: AtomicU64,
    bytes: AtomicU64,
}

/// A gauge's value while nobody has set it, or where it cannot be known.
const UNKNOWN: u64 = u64::MAX;

impl Default for Gauges {
    fn default() -> Gauges {
        Gauges {
            entries: AtomicU64::new(UNKNOWN),
            bytes: AtomicU64::new(UNKNOWN),
        }
    }
}

fn known(gauge: &AtomicU64) -> Option<u64> {
    Some(gauge.load(Ordering::Relaxed)).filter(|value| *value != UNKNOWN)
}

/// One reading of a region: the counters summed, the histograms, the
/// gauges, and the windows after a tick.
pub(crate) struct Reading {
    pub(crate) taken_at_ms: u64,
    pub(crate) counts: Counts,
    pub(crate) get_latency: HistogramReading,
    pub(crate) miss_latency: HistogramReading,
    pub(crate) load_time: HistogramReading,
    /// Per-level counters and the second level's lookup latency, for a
    /// region with a second level.
    pub(crate) tiers: Option<(TierSnapshot, HistogramReading)>,
    pub(crate) entries: Option<u64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) last_access_ms: Option<u64>,
    pub(crate) windows: [WindowStats; 3],
}

impl RegionStats {
    /// Statistics for the region called `name`, timing about 1,000 gets a
    /// second (1 in 16 until its first tick), on the system clock. A
    /// [`StatsRegistry`] makes them for every region of a program with its
    /// own settings.
    pub fn new(name: impl Into<String>) -> RegionStats {
        RegionStats::with_settings(name.into(), &Settings::default())
    }

    pub(crate) fn with_settings(name: String, settings: &Settings) -> RegionStats {
        RegionStats {
            name: name.into_boxed_str(),
            shards: Shards::new(),
            get_latency: Histogram::default(),
            miss_latency: Histogram::default(),
            load_time: Histogram::default(),
            gauges: Gauges::default(),
            sample_threshold: AtomicU64::new(settings.sampling.first_threshold()),
            sample_budget: AtomicU64::new(settings.sampling.budget()),
            sampling: settings.sampling,
            windows: Mutex::new(Recent {
                windows: Windows::new(settings.clock.now_ms()),
                history: History::new(settings.clock.now_ms()),
                rate: RateMark::new(settings.clock.now_ms()),
            }),
            clock: Arc::clone(&settings.clock),
            tiers: TierStats::default(),
        }
    }

    /// The per-level counters (regions with a Redis level).
    pub(crate) fn tiers(&self) -> &TierStats {
        &self.tiers
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counts a get that found a value, without timing it.
    #[inline]
    pub fn hit(&self) {
        self.shards.add(HITS, 1);
    }

    /// Counts `hits` gets that found a value and `misses` that found
    /// nothing, untimed, in one update each (a batch's lookups).
    pub(crate) fn hits_and_misses(&self, hits: u64, misses: u64) {
        if hits > 0 {
            self.shards.add(HITS, hits);
        }
        if misses > 0 {
            self.shards.add(MISSES, misses);
        }
    }

    /// Counts a get that found nothing, without timing it.
    #[inline]
    pub fn miss(&self) {
        self.shards.add(MISSES, 1);
    }

    /// Counts a get that found a value and records its latency.
    #[inline]
    pub fn hit_latency(&self, latency_ns: u64) {
        self.shards.add(HITS, 1);
        self.get_latency.record(latency_ns);
    }

    /// A sampled hit's count and latency, out of the get's inlined path.
    #[inline(never)]
    fn sampled_hit(&self, start: Instant) {
        self.hit_latency(elapsed_ns(start));
    }

    /// Counts a get that found nothing and records its latency.
    #[inline]
    pub fn miss_latency(&self, latency_ns: u64) {
        self.shards.add(MISSES, 1);
        self.get_latency.record(latency_ns);
        self.miss_latency.record(latency_ns);
    }

    /// Starts a get: finish it with [`GetTimer::hit`] or [`GetTimer::miss`].
    /// Every get is counted; only a random sample (the registry's
    /// [`latency_samples_per_second`](StatsRegistryBuilder::latency_samples_per_second)
    /// or [`latency_sample_every`](StatsRegistryBuilder::latency_sample_every))
    /// reads the clock and has its latency recorded.
    #[inline]
    pub fn time_get(&self) -> GetTimer<'_> {
        if self.picks_get_for_timing() {
            self.timed_get()
        } else {
            self.untimed_get()
        }
    }

    /// Whether the sampler picks the get about to start for timing (see
    /// [`RegionStats::time_get`]); finish it with a timer from
    /// [`RegionStats::timed_get`] if so, else from
    /// [`RegionStats::untimed_get`].
    #[inline]
    pub(crate) fn picks_get_for_timing(&self) -> bool {
        let threshold = self.sample_threshold.load(Ordering::Relaxed);
        shard::sampled(threshold) && self.take_sample()
    }

    /// A get the sampler picked: its timer reads the clock now.
    #[inline]
    pub(crate) fn timed_get(&self) -> GetTimer<'_> {
        GetTimer {
            stats: self,
            start: Some(Instant::now()),
            count_miss: true,
        }
    }

    /// A get the sampler passed over: counted, not timed.
    #[inline]
    pub(crate) fn untimed_get(&self) -> GetTimer<'_> {
        GetTimer {
            stats: self,
            start: None,
            count_miss: true,
        }
    }

    /// Whether a get the sampler picked may be timed: under
    /// [`Sampling::PerSecond`], at most twice the target between two ticks,
    /// so a region that turns busy after a quiet second does not time every
    /// get until the next tick. The get that spends the budget also lowers
    /// the sampler's share to one in [`sampling::BUSY_EVERY`], so few gets
    /// touch the spent budget's counter before the tick resets both.
    #[inline]
    fn take_sample(&self) -> bool {
        if !matches!(self.sampling, Sampling::PerSecond(_)) {
            return true;
        }
        let left = self.sample_budget.fetch_sub(1, Ordering::Relaxed);
        if left == 1 {
            self.sample_threshold
                .store(sampling::busy_threshold(), Ordering::Relaxed);
        }
        left >= 1 && left <= i64::MAX as u64
    }

    /// [`RegionStats::time_get`] for a get whose miss the caller counts
    /// itself once it knows how the value came (loaded, or waited for).
    #[inline]
    pub(crate) fn time_get_deferring_miss(&self) -> GetTimer<'_> {
        GetTimer {
            count_miss: false,
            ..self.time_get()
        }
    }

    /// Counts a get that found nothing but waited for another caller's
    /// load of the same key and got its value (single flight).
    #[inline]
    pub fn coalesced(&self) {
        self.shards.add(COALESCED, 1);
    }

    /// Counts a value stored, new or replacing (see [`RegionStats::update`]).
    #[inline]
    pub fn insert(&self) {
        self.shards.add(INSERTS, 1);
    }

    /// Counts an insert that replaced a value the region held (counted as
    /// an insert too).
    #[inline]
    pub fn update(&self) {
        self.shards.add(UPDATES, 1);
    }

    /// Counts an entry removed by `remove`.
    #[inline]
    pub fn remove(&self) {
        self.shards.add(REMOVALS, 1);
    }

    /// Counts `entries` removed by a `clear` or `clear_matching`.
    #[inline]
    pub fn cleared(&self, entries: u64) {
        self.shards.add(CLEARED, entries);
    }

    /// Counts an entry the cache dropped itself, by cause (from the
    /// eviction listener, or a second level's expired entry).
    #[inline]
    pub fn evict(&self, cause: EvictionCause) {
        self.shards.add(cause.counter(), 1);
    }

    /// Counts a load (on a miss) that produced a value, and its duration.
    #[inline]
    pub fn load_ok(&self, duration_ns: u64) {
        self.shards.add(LOADS_OK, 1);
        self.load_time.record(duration_ns);
    }

    /// Counts a load that failed, and its duration.
    #[inline]
    pub fn load_err(&self, duration_ns: u64) {
        self.shards.add(LOADS_ERR, 1);
        self.load_time.record(duration_ns);
    }

    /// Counts an error the manager recovered from.
    #[inline]
    pub fn error(&self, cause: ErrorCause) {
        self.shards.add(cause.counter(), 1);
    }

    /// Sets the number of entries in the region; `None` where it cannot
    /// be known (reported as unknown, never as 0).
    #[inline]
    pub fn set_entries(&self, entries: Option<u64>) {
        let value = entries.map_or(UNKNOWN, |n| n.min(UNKNOWN - 1));
        self.gauges.entries.store(value, Ordering::Relaxed);
    }

    /// Sets the region's size in bytes; `None` where it cannot be known.
    #[inline]
    pub fn set_bytes(&self, bytes: Option<u64>) {
        let value = bytes.map_or(UNKNOWN, |n| n.min(UNKNOWN - 1));
        self.gauges.bytes.store(value, Ordering::Relaxed);
    }

    /// Everything recorded so far, with the windows up to now. Takes the
    /// region's window lock (shared only with ticks) and reads every shard:
    /// microseconds, not for the recording path.
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut snapshot = self.read().into_snapshot(&self.name);
        snapshot.tiers = self.tiers.snapshot(snapshot.hits);
        snapshot
    }

    /// Folds the counts since the last tick into the current second's window
    /// bucket and notes the last access. A [`StatsWorker`] (or
    /// [`StatsRegistry::tick`]) calls this every second; snapshots do too.
    pub fn tick(&self) {
        let now_ms = self.clock.now_ms();
        let mut recent = self.lock_windows();
        let counts = self.shards.sum();
        self.tick_locked(&mut recent, now_ms, &counts);
    }

    fn tick_locked(&self, recent: &mut Recent, now_ms: u64, counts: &shard::Counts) {
        recent.windows.tick(now_ms, counts);
        recent.history.tick(
            now_ms,
            counts,
            || self.get_latency.read(),
            known(&self.gauges.entries),
            known(&self.gauges.bytes),
        );
        let gets = counts[HITS].wrapping_add(counts[MISSES]);
        if let Some(threshold) = recent.rate.rethreshold(self.sampling, now_ms, gets) {
            self.sample_threshold.store(threshold, Ordering::Relaxed);
            self.sample_budget
                .store(self.sampling.budget(), Ordering::Relaxed);
        }
    }

    /// The region's history over `range`: one point per closed step (10 s
    /// over the last hour, 1 min over the last day), oldest first, after a
    /// tick. Steps during which nothing ticked the region are missing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_runtime::stats::{HistoryRange, ManualClock, StatsRegistry};
    ///
    /// let clock = ManualClock::new(1_767_225_600_000);
    /// let stats = StatsRegistry::builder().clock(clock.clone()).build(["users"]);
    /// let users = stats.by_name("users").expect("declared");
    /// users.hit();
    /// clock.advance(Duration::from_secs(10));
    /// let points = users.history(HistoryRange::Hour);
    /// assert_eq!((points.len(), points[0].hits, points[0].seconds), (1, 1, 10));
    /// ```
    pub fn history(&self, range: HistoryRange) -> Vec<HistoryPoint> {
        let now_ms = self.clock.now_ms();
        let mut recent = self.lock_windows();
        let counts = self.shards.sum();
        self.tick_locked(&mut recent, now_ms, &counts);
        recent.history.points(range)
    }

    /// Both series' closed points, as they are (no tick), for saving.
    pub(crate) fn saved_history(&self) -> [Vec<HistoryPoint>; 2] {
        let recent = self.lock_windows();
        HistoryRange::ALL.map(|range| recent.history.points(range))
    }

    /// Puts saved history points back (see [`History::restore`]).
    pub(crate) fn restore_history(&self, range: HistoryRange, points: &[HistoryPoint]) -> usize {
        self.lock_windows().history.restore(range, points)
    }

    pub(crate) fn read(&self) -> Reading {
        let now_ms = self.clock.now_ms();
        let mut recent = self.lock_windows();
        let counts = self.shards.sum();
        self.tick_locked(&mut recent, now_ms, &counts);
        let sums = recent.windows.windows();
        let windows_stats = [0, 1, 2].map(|i| WindowStats::from_sums(WINDOW_SECS[i], &sums[i]));
        let last_access_ms = recent.windows.last_access_ms();
        drop(recent);
        Reading {
            taken_at_ms: now_ms,
            counts,
            get_latency: self.get_latency.read(),
            miss_latency: self.miss_latency.read(),
            load_time: self.load_time.read(),
            tiers: self.tiers.reading(counts[HITS]),
            entries: known(&self.gauges.entries),
            bytes: known(&self.gauges.bytes),
            last_access_ms,
            windows: windows_stats,
        }
    }

    /// Adds a saved baseline: counters, histograms and last access. The
    /// windows do not see it (it is not recent activity).
    pub(crate) fn add_baseline(
        &self,
        counts: &Counts,
        get_latency: &HistogramReading,
        miss_latency: &HistogramReading,
        load_time: &HistogramReading,
        last_access_ms: Option<u64>,
    ) {
        let mut recent = self.lock_windows();
        for (counter, n) in counts.iter().enumerate() {
            if *n != 0 {
                self.shards.add_unowned(counter, *n);
            }
        }
        self.get_latency.add(get_latency);
        recent.windows.absorb(counts, last_access_ms);
        recent.history.absorb(counts, get_latency);
        drop(recent);
        self.miss_latency.add(miss_latency);
        self.load_time.add(load_time);
    }

    fn lock_windows(&self) -> MutexGuard<'_, Recent> {
        // The window state stays consistent even if a holder panicked.
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reading {
    pub(crate) fn into_snapshot(self, region: &str) -> StatsSnapshot {
        StatsSnapshot::from(Parts {
            region,
            taken_at_ms: self.taken_at_ms,
            counts: &self.counts,
            entries: self.entries,
            bytes: self.bytes,
            last_access_ms: self.last_access_ms,
            get_latency: &self.get_latency,
            load_time: &self.load_time,
            windows: self.windows,
        })
    }
}

impl fmt::Debug for RegionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.shards.sum();
        f.debug_struct("RegionStats")
            .field("name", &self.name)
            .field("hits", &counts[HITS])
            .field("misses", &counts[MISSES])
            .finish_non_exhaustive()
    }
}

/// A get in progress, from [`RegionStats::time_get`]: finish it with
/// [`hit`](GetTimer::hit) or [`miss`](GetTimer::miss). Holds the start time
/// only when this get is sampled for latency.
#[must_use = "a get timer counts nothing until finished with `hit()` or `miss()`"]
#[derive(Debug)]
pub struct GetTimer<'a> {
    stats: &'a RegionStats,
    start: Option<Instant>,
    /// `false` when the caller counts a miss itself (as a miss or as
    /// coalesced).
    count_miss: bool,
}

impl GetTimer<'_> {
    /// Counts the get as a hit, with its latency when sampled. The
    /// unsampled count is inlined into the get; the sampled one (a clock
    /// read and a histogram record) is a call.
    #[inline(always)]
    pub fn hit(self) {
        match self.start {
            Some(start) => self.stats.sampled_hit(start),
            None => self.stats.hit(),
        }
    }

    /// Counts the get as a miss, with its latency when sampled (unless the
    /// caller said it counts the miss itself).
    #[inline]
    pub fn miss(self) {
        match (self.count_miss, self.start) {
            (false, _) => {}
            (true, Some(start)) => self.stats.miss_latency(elapsed_ns(start)),
            (true, None) => self.stats.miss(),
        }
    }

    /// Whether this get's latency will be recorded.
    pub fn is_sampled(&self) -> bool {
        self.start.is_some()
    }
}

#[inline]
fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
