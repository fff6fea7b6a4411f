//! [`StatsRegistry`]: one [`RegionStats`] per region, indexed like the
//! program's [`Registry`], and everything done over all of them (ticks,
//! exports, persistence).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Clock, HistoryPoint, Reading, RegionStats, RestoreOutcome, Sampling, Settings, StatsSnapshot,
    SystemClock, persist, prometheus,
};
use crate::registry::{RegionId, Registry};

/// The statistics of every region of a program: the manager reaches a
/// region's [`RegionStats`] by the [`RegionId`] index of its [`Registry`],
/// and exports, saves and restores them all.
///
/// ```
/// use cache_runtime::stats::StatsRegistry;
///
/// let stats = StatsRegistry::new(["users", "sessions"]);
/// let users = stats.get(0).expect("index of users");
/// users.hit();
/// users.miss();
/// assert_eq!(stats.by_name("users").map(|s| s.snapshot().gets()), Some(2));
/// assert!(stats.prometheus().contains("cache_hits_total{region=\"users\"} 1\n"));
/// ```
pub struct StatsRegistry {
    regions: Box<[Arc<RegionStats>]>,
    /// Region index by name (the first, should a name repeat).
    by_name: HashMap<Box<str>, usize>,
    /// Region indexes in name order, for exports.
    order: Box<[usize]>,
    clock: Arc<dyn Clock>,
}

impl StatsRegistry {
    /// A builder, to set the latency sampling or the clock.
    pub fn builder() -> StatsRegistryBuilder {
        StatsRegistryBuilder::default()
    }

    /// Statistics for regions named `names`, index `i` for the `i`-th name,
    /// with the default settings. Names should be distinct: with a repeated
    /// name, lookups by name, exports by name and persistence see only the
    /// first.
    pub fn new<I>(names: I) -> StatsRegistry
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        StatsRegistry::builder().build(names)
    }

    /// Statistics for every region of `registry`, at its [`RegionId`]
    /// indexes, with the default settings.
    pub fn for_registry(registry: &Registry) -> StatsRegistry {
        StatsRegistry::builder().build_for(registry)
    }

    /// The number of regions.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether there is no region.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The statistics of the region at `index` (a [`RegionId::index`] when
    /// built from a [`Registry`]).
    #[inline]
    pub fn get(&self, index: usize) -> Option<&RegionStats> {
        self.regions.get(index).map(|region| &**region)
    }

    /// The statistics of the region `id`.
    #[inline]
    pub fn region(&self, id: RegionId) -> Option<&RegionStats> {
        self.get(id.index())
    }

    /// The statistics of the region called `name`.
    pub fn by_name(&self, name: &str) -> Option<&RegionStats> {
        self.by_name.get(name).map(|index| &*self.regions[*index])
    }

    /// Every region's statistics, in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &RegionStats> + '_ {
        self.regions.iter().map(|region| &**region)
    }

    /// A registry over statistics shared with their owner (the manager,
    /// which adds regions at run time and rebuilds this list).
    pub(crate) fn from_shared(
        regions: Vec<Arc<RegionStats>>,
        clock: Arc<dyn Clock>,
    ) -> StatsRegistry {
        let regions = regions.into_boxed_slice();
        let mut by_name = HashMap::with_capacity(regions.len());
        for (index, region) in regions.iter().enumerate() {
            by_name.entry(region.name().into()).or_insert(index);
        }
        let mut order: Vec<usize> = (0..regions.len()).collect();
        order.sort_by(|a, b| regions[*a].name().cmp(regions[*b].name()));
        StatsRegistry {
            regions,
            by_name,
            order: order.into_boxed_slice(),
            clock,
        }
    }

    /// Ticks every region (see [`RegionStats::tick`]).
    pub fn tick(&self) {
        for region in self.regions.iter() {
            region.tick();
        }
    }

    /// Every region's snapshot, in name order.
    pub fn snapshots(&self) -> Vec<StatsSnapshot> {
        self.in_name_order()
            .map(|region| region.snapshot())
            .collect()
    }

    /// Every region's snapshot as a JSON array, in name order.
    pub fn to_json(&self) -> String {
        // Only strings, integers, finite floats and options: cannot fail.
        serde_json::to_string(&self.snapshots()).unwrap_or_else(|_| String::from("[]"))
    }

    /// The Prometheus text exposition (format 0.0.4) of every region:
    /// counters, gauges and latency histograms labelled `region="..."`.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_prometheus(&mut out);
        out
    }

    /// Writes [`prometheus`](StatsRegistry::prometheus) to `out`.
    ///
    /// # Errors
    ///
    /// Whatever `out` returns.
    pub fn write_prometheus(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let readings: Vec<(&str, Reading)> = self
            .in_name_order()
            .map(|region| (region.name(), region.read()))
            .collect();
        prometheus::render(out, &readings, &|_| None)
    }

    /// [`write_prometheus`](StatsRegistry::write_prometheus) with what the
    /// manager knows of each region (tiers, limits, info).
    pub(crate) fn write_prometheus_with(
        &self,
        out: &mut impl fmt::Write,
        info: &dyn Fn(&str) -> Option<super::RegionInfo>,
    ) -> fmt::Result {
        let readings: Vec<(&str, Reading)> = self
            .in_name_order()
            .map(|region| (region.name(), region.read()))
            .collect();
        prometheus::render(out, &readings, info)
    }

    /// Saves every region's cumulative counters and histograms to `path`,
    /// atomically (a crash leaves the old file or the new one), as a
    /// versioned JSON envelope that [`restore`](StatsRegistry::restore)
    /// reads back. Entry counts and bytes are not saved: they describe the
    /// cache's content, which the manager reports afresh.
    ///
    /// # Errors
    ///
    /// Any I/O error creating the folder or writing the file.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let regions: Vec<(&str, Reading, [Vec<HistoryPoint>; 2])> = self
            .in_name_order()
            .map(|region| (region.name(), region.read(), region.saved_history()))
            .collect();
        persist::save(path, self.clock.now_ms(), &regions)
    }

    /// Adds the counters saved in `path` to the regions of the same name, if
    /// the file was saved less than `retention` ago. Regions the file has and
    /// this registry does not are ignored (and listed); the windows do not
    /// count restored activity as recent. Call it once, at start: a second
    /// call adds the baseline again.
    ///
    /// Never fails and never panics: a missing, unreadable, corrupt, older
    /// format or expired file is reported and changes nothing.
    pub fn restore(&self, path: &Path, retention: Duration) -> RestoreOutcome {
        persist::restore(self, path, retention)
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn in_name_order(&self) -> impl Iterator<Item = &RegionStats> + '_ {
        self.order.iter().map(|index| &*self.regions[*index])
    }
}

impl fmt::Debug for StatsRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.regions.iter()).finish()
    }
}

/// Builds a [`StatsRegistry`]: how many gets are timed, which clock dates
/// windows and files.
///
/// ```
/// use cache_runtime::stats::StatsRegistry;
///
/// let stats = StatsRegistry::builder()
///     .latency_sample_every(64)
///     .build(["users"]);
/// assert_eq!(stats.len(), 1);
/// ```
#[must_use]
pub struct StatsRegistryBuilder {
    sampling: Sampling,
    clock: Arc<dyn Clock>,
}

impl Default for StatsRegistryBuilder {
    fn default() -> StatsRegistryBuilder {
        StatsRegistryBuilder {
            sampling: Sampling::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for StatsRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsRegistryBuilder")
            .field("sampling", &self.sampling)
            .finish_non_exhaustive()
    }
}

impl StatsRegistryBuilder {
    /// Times one get in `every` (chosen at random per thread) through
    /// [`RegionStats::time_get`], however busy the region; every get is
    /// counted either way. `1` times them all (two clock reads per get,
    /// about a third of a moka hit), `0` none. Replaces the default,
    /// [`latency_samples_per_second`](StatsRegistryBuilder::latency_samples_per_second).
    ///
    /// ```
    /// use cache_runtime::stats::StatsRegistry;
    ///
    /// let stats = StatsRegistry::builder().latency_sample_every(1).build(["users"]);
    /// let users = stats.get(0).expect("one region");
    /// users.time_get().hit();
    /// assert_eq!(users.snapshot().get_latency.count, 1);
    /// ```
    pub fn latency_sample_every(mut self, every: u32) -> StatsRegistryBuilder {
        self.sampling = Sampling::Every(every);
        self
    }

    /// Times about `per_second` gets a second in each region (default
    /// 1,000): every get of a region that sees fewer, a random share of a
    /// busier one's. Each tick (every second from a [`StatsWorker`](super::StatsWorker),
    /// and at each snapshot) sets the share from the gets counted since the
    /// previous one; before the first, one get in 16 is timed. At most
    /// twice `per_second` gets are timed between two ticks, so a region
    /// that turns busy after a quiet second stops timing once that is
    /// spent. `0` times none. So a busy region's hits pay for almost no clock reads, and a
    /// quiet one still has latencies to show.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_runtime::stats::{ManualClock, StatsRegistry};
    ///
    /// let clock = ManualClock::new(1_767_225_600_000);
    /// let stats = StatsRegistry::builder()
    ///     .latency_samples_per_second(100)
    ///     .clock(clock.clone())
    ///     .build(["users"]);
    /// let users = stats.get(0).expect("one region");
    /// clock.advance(Duration::from_secs(1));
    /// users.tick(); // no gets in the last second: time them all
    /// for _ in 0..10 {
    ///     users.time_get().hit();
    /// }
    /// assert_eq!(users.snapshot().get_latency.count, 10);
    /// ```
    pub fn latency_samples_per_second(mut self, per_second: u32) -> StatsRegistryBuilder {
        self.sampling = Sampling::PerSecond(per_second);
        self
    }

    /// The clock that dates window buckets, the last access and saved files
    /// (default [`SystemClock`]). Tests use a [`ManualClock`](super::ManualClock).
    ///
    /// ```
    /// use std::time::Duration;
    /// use cache_runtime::stats::{ManualClock, StatsRegistry};
    ///
    /// let clock = ManualClock::new(1_767_225_600_000);
    /// let stats = StatsRegistry::builder().clock(clock.clone()).build(["users"]);
    /// let users = stats.get(0).expect("one region");
    /// users.hit();
    /// users.tick(); // a StatsWorker does this every second
    /// clock.advance(Duration::from_secs(120));
    /// let snapshot = users.snapshot();
    /// assert_eq!((snapshot.hits, snapshot.last_1m.hits, snapshot.last_5m.hits), (1, 0, 1));
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> StatsRegistryBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// Statistics for regions named `names`, index `i` for the `i`-th name.
    pub fn build<I>(self, names: I) -> StatsRegistry
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let settings = Settings::new(self.sampling, Arc::clone(&self.clock));
        let regions = names
            .into_iter()
            .map(|name| Arc::new(RegionStats::with_settings(name.into(), &settings)))
            .collect();
        StatsRegistry::from_shared(regions, self.clock)
    }

    /// Statistics for every region of `registry`, at its [`RegionId`]
    /// indexes.
    pub fn build_for(self, registry: &Registry) -> StatsRegistry {
        let mut names = vec![String::new(); registry.len()];
        for id in registry.ids() {
            names[id.index()] = registry.descriptor(id).name().to_owned();
        }
        self.build(names)
    }
}
