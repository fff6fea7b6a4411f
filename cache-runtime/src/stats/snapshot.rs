//! What the statistics report: the causes they count and the serde
//! snapshot of one region.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::histogram::HistogramReading;
use super::shard::{
    CLEARED, COALESCED, Counts, ERRORS, EVICTIONS, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES,
    REMOVALS, UPDATES,
};
use super::window::{
    W_CLEARED, W_COALESCED, W_ERRORS, W_EVICTIONS, W_HITS, W_INSERTS, W_LOADS_ERR, W_LOADS_OK,
    W_MISSES, W_REMOVALS, W_UPDATES, WINDOWED,
};

/// Why the cache itself dropped an entry, for [`RegionStats::evict`]. Only
/// the cache's own decisions are evictions: a replaced value is an update,
/// a `remove` a removal, a `clear` a clear, each counted apart.
///
/// From moka's eviction listener: `Expired` is [`Expired`] or, for a region
/// with a time-to-idle, [`Idle`] when the entry expired before its TTL;
/// `Size` is [`Size`]. A disk or Redis entry found expired on a read is
/// [`Expired`] too.
///
/// [`RegionStats::evict`]: super::RegionStats::evict
/// [`Expired`]: EvictionCause::Expired
/// [`Idle`]: EvictionCause::Idle
/// [`Size`]: EvictionCause::Size
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EvictionCause {
    /// Its time to live passed.
    Expired,
    /// It was not read for its time to idle.
    Idle,
    /// The region was over its size limit (entries or bytes).
    Size,
}

impl EvictionCause {
    /// Every cause, in counter order.
    pub const ALL: [EvictionCause; 3] = [
        EvictionCause::Expired,
        EvictionCause::Idle,
        EvictionCause::Size,
    ];

    /// The cause as the `cause` label of Prometheus metrics: `expired`,
    /// `idle`, `size`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EvictionCause::Expired => "expired",
            EvictionCause::Idle => "idle",
            EvictionCause::Size => "size",
        }
    }

    #[inline]
    pub(crate) const fn counter(self) -> usize {
        EVICTIONS + self as usize
    }
}

impl fmt::Display for EvictionCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, for [`RegionStats::error`]: failures the manager
/// recovered from (the operation became a miss or was skipped).
///
/// [`RegionStats::error`]: super::RegionStats::error
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCause {
    /// A stored entry could not be decoded: bad envelope, checksum, old
    /// format, a value that no longer deserializes.
    Corrupt,
    /// A file could not be read or written (disk tier).
    Io,
    /// A remote backend failed: Redis unreachable, timed out, refused.
    Backend,
}

impl ErrorCause {
    /// Every cause, in counter order.
    pub const ALL: [ErrorCause; 3] = [ErrorCause::Corrupt, ErrorCause::Io, ErrorCause::Backend];

    /// The cause as the `kind` label of Prometheus metrics: `corrupt`, `io`,
    /// `backend`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCause::Corrupt => "corrupt",
            ErrorCause::Io => "io",
            ErrorCause::Backend => "backend",
        }
    }

    #[inline]
    pub(crate) const fn counter(self) -> usize {
        ERRORS + self as usize
    }
}

impl fmt::Display for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Evictions of a region by cause, in a [`StatsSnapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EvictionCounts {
    /// Entries whose time to live passed.
    pub expired: u64,
    /// Entries not read for their time to idle.
    pub idle: u64,
    /// Entries evicted to stay within the size limit.
    pub size: u64,
}

impl EvictionCounts {
    /// The count for `cause`.
    pub fn get(&self, cause: EvictionCause) -> u64 {
        match cause {
            EvictionCause::Expired => self.expired,
            EvictionCause::Idle => self.idle,
            EvictionCause::Size => self.size,
        }
    }

    /// All causes together.
    pub fn total(&self) -> u64 {
        EvictionCause::ALL.iter().map(|c| self.get(*c)).sum()
    }

    pub(crate) fn from_counts(counts: &Counts) -> EvictionCounts {
        let n = |cause: EvictionCause| counts[cause.counter()];
        EvictionCounts {
            expired: n(EvictionCause::Expired),
            idle: n(EvictionCause::Idle),
            size: n(EvictionCause::Size),
        }
    }
}

/// Recovered errors of a region by cause, in a [`StatsSnapshot`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ErrorCounts {
    /// Entries that could not be decoded.
    pub corrupt: u64,
    /// File reads or writes that failed.
    pub io: u64,
    /// Remote backend calls that failed.
    pub backend: u64,
}

impl ErrorCounts {
    /// The count for `cause`.
    pub fn get(&self, cause: ErrorCause) -> u64 {
        match cause {
            ErrorCause::Corrupt => self.corrupt,
            ErrorCause::Io => self.io,
            ErrorCause::Backend => self.backend,
        }
    }

    /// All causes together.
    pub fn total(&self) -> u64 {
        ErrorCause::ALL.iter().map(|c| self.get(*c)).sum()
    }

    pub(crate) fn from_counts(counts: &Counts) -> ErrorCounts {
        let n = |cause: ErrorCause| counts[cause.counter()];
        ErrorCounts {
            corrupt: n(ErrorCause::Corrupt),
            io: n(ErrorCause::Io),
            backend: n(ErrorCause::Backend),
        }
    }
}

/// A latency distribution in a [`StatsSnapshot`], in nanoseconds. The
/// percentiles come from log-scale buckets and are within 12.5 % of the true
/// value; `max_ns` and `sum_ns` are exact. All zero when nothing was
/// recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LatencySummary {
    /// How many values were recorded (for gets: the sampled ones).
    pub count: u64,
    /// Their sum.
    pub sum_ns: u64,
    /// Their mean (`sum_ns / count`).
    pub mean_ns: u64,
    /// The median.
    pub p50_ns: u64,
    /// The 90th percentile.
    pub p90_ns: u64,
    /// The 95th percentile.
    pub p95_ns: u64,
    /// The 99th percentile.
    pub p99_ns: u64,
    /// The largest.
    pub max_ns: u64,
}

impl LatencySummary {
    pub(crate) fn from_reading(reading: &HistogramReading) -> LatencySummary {
        let count = reading.count();
        LatencySummary {
            count,
            sum_ns: reading.sum,
            mean_ns: reading.sum.checked_div(count).unwrap_or(0),
            p50_ns: reading.quantile(0.50),
            p90_ns: reading.quantile(0.90),
            p95_ns: reading.quantile(0.95),
            p99_ns: reading.quantile(0.99),
            max_ns: reading.max,
        }
    }
}

/// A region's activity over a recent window ([`StatsSnapshot::last_1m`] and
/// siblings): the counts of the last `seconds` seconds up to the snapshot,
/// the current partial second included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WindowStats {
    /// The window's length: 60, 300 or 3600.
    pub seconds: u64,
    /// Gets that found a value.
    pub hits: u64,
    /// Gets that found none (and, in `get_or_insert_with`, ran the loader).
    pub misses: u64,
    /// Gets that found none but waited for another caller's load.
    pub coalesced: u64,
    /// `(hits + coalesced) / gets`; `None` without gets.
    pub hit_rate: Option<f64>,
    /// Values stored (inserts and loads' results), new or replacing.
    pub inserts: u64,
    /// Of those, the ones that replaced a value the region held.
    pub updates: u64,
    /// Entries removed by `remove`.
    pub removals: u64,
    /// Entries removed by `clear` or `clear_matching`.
    pub cleared: u64,
    /// Entries the cache dropped itself (expired, idle, size), all causes.
    pub evictions: u64,
    /// Loads (on a miss) that produced a value.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Recovered errors, all causes.
    pub errors: u64,
}

impl WindowStats {
    /// Gets: hits, misses and coalesced.
    pub fn gets(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }

    pub(crate) fn from_sums(seconds: u64, sums: &[u64; WINDOWED]) -> WindowStats {
        WindowStats {
            seconds,
            hits: sums[W_HITS],
            misses: sums[W_MISSES],
            coalesced: sums[W_COALESCED],
            hit_rate: hit_rate(sums[W_HITS], sums[W_MISSES], sums[W_COALESCED]),
            inserts: sums[W_INSERTS],
            updates: sums[W_UPDATES],
            removals: sums[W_REMOVALS],
            cleared: sums[W_CLEARED],
            evictions: sums[W_EVICTIONS],
            loads_succeeded: sums[W_LOADS_OK],
            loads_failed: sums[W_LOADS_ERR],
            errors: sums[W_ERRORS],
        }
    }
}

/// Everything the statistics know about one region at one time: cumulative
/// counters (since start, plus any restored baseline), gauges, latency
/// distributions and the last 1 min / 5 min / 1 h. Serialized as JSON by
/// [`StatsRegistry::to_json`](super::StatsRegistry::to_json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// The region's name.
    pub region: String,
    /// When the snapshot was taken, Unix milliseconds.
    pub taken_at_ms: u64,
    /// Gets that found a value.
    pub hits: u64,
    /// Gets that found none. In `get_or_insert_with` and its siblings, the
    /// caller then ran the loader: `loads() <= misses`.
    pub misses: u64,
    /// Gets that found none but waited for another caller's load of the
    /// same key (single flight) and got its value: no loader ran for them.
    #[serde(default)]
    pub coalesced: u64,
    /// `(hits + coalesced) / gets()`: the share of gets that ran no
    /// loader; `None` without gets.
    pub hit_rate: Option<f64>,
    /// Values stored (inserts and loads' results), new or replacing.
    pub inserts: u64,
    /// Of those, the ones that replaced a value the region held (the
    /// second level decides for disk, Redis and hybrid regions).
    pub updates: u64,
    /// Entries removed by `remove` (one per key the region held).
    pub removals: u64,
    /// Entries removed by `clear` or `clear_matching`.
    #[serde(default)]
    pub cleared: u64,
    /// Entries the cache dropped itself, by cause (expired, idle, size);
    /// never a replacement, a removal or a clear.
    #[serde(default)]
    pub evictions: EvictionCounts,
    /// Loads (on a miss) that produced a value.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Recovered errors by cause.
    #[serde(default)]
    pub errors: ErrorCounts,
    /// Entries the region holds, as last set by the manager: the memory
    /// level's count for memory regions, the files of disk and hybrid-over-
    /// disk regions; `None` where the tier cannot know it (Redis and hybrid
    /// over Redis: the keys live in a shared server).
    pub entries: Option<u64>,
    /// The memory level's size in bytes (exact for a byte-limited region,
    /// estimated from 64 entries otherwise); `None` for regions without a
    /// memory level.
    pub bytes: Option<u64>,
    /// When a get, insert, update or removal last happened, Unix
    /// milliseconds, to within one tick (a second with a
    /// [`StatsWorker`](super::StatsWorker) running); `None` if never.
    pub last_access_ms: Option<u64>,
    /// Get latency (sampled gets).
    #[serde(default)]
    pub get_latency: LatencySummary,
    /// Load time (every load, succeeded or failed).
    #[serde(default)]
    pub load_time: LatencySummary,
    /// The last minute.
    #[serde(default)]
    pub last_1m: WindowStats,
    /// The last five minutes.
    #[serde(default)]
    pub last_5m: WindowStats,
    /// The last hour.
    #[serde(default)]
    pub last_1h: WindowStats,
    /// Per-level counts, for a region with a Redis level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<super::TierSnapshot>,
}

impl StatsSnapshot {
    /// Gets: hits, misses and coalesced.
    pub fn gets(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }

    /// Loads: succeeded plus failed.
    pub fn loads(&self) -> u64 {
        self.loads_succeeded + self.loads_failed
    }
}

/// The parts of a snapshot that come from one region's reading.
pub(crate) struct Parts<'a> {
    pub(crate) region: &'a str,
    pub(crate) taken_at_ms: u64,
    pub(crate) counts: &'a Counts,
    pub(crate) entries: Option<u64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) last_access_ms: Option<u64>,
    pub(crate) get_latency: &'a HistogramReading,
    pub(crate) load_time: &'a HistogramReading,
    pub(crate) windows: [WindowStats; 3],
}

impl From<Parts<'_>> for StatsSnapshot {
    fn from(parts: Parts<'_>) -> StatsSnapshot {
        let counts = parts.counts;
        let [last_1m, last_5m, last_1h] = parts.windows;
        StatsSnapshot {
            region: parts.region.to_owned(),
            taken_at_ms: parts.taken_at_ms,
            hits: counts[HITS],
            misses: counts[MISSES],
            coalesced: counts[COALESCED],
            hit_rate: hit_rate(counts[HITS], counts[MISSES], counts[COALESCED]),
            inserts: counts[INSERTS],
            updates: counts[UPDATES],
            removals: counts[REMOVALS],
            cleared: counts[CLEARED],
            evictions: EvictionCounts::from_counts(counts),
            loads_succeeded: counts[LOADS_OK],
            loads_failed: counts[LOADS_ERR],
            errors: ErrorCounts::from_counts(counts),
            entries: parts.entries,
            bytes: parts.bytes,
            last_access_ms: parts.last_access_ms,
            get_latency: LatencySummary::from_reading(parts.get_latency),
            load_time: LatencySummary::from_reading(parts.load_time),
            last_1m,
            last_5m,
            last_1h,
            tiers: None,
        }
    }
}

/// `(hits + coalesced) / (hits + misses + coalesced)`: the share of gets
/// that ran no loader.
fn hit_rate(hits: u64, misses: u64, coalesced: u64) -> Option<f64> {
    let served = hits.checked_add(coalesced)?;
    let gets = served.checked_add(misses)?;
    (gets != 0).then(|| served as f64 / gets as f64)
}
