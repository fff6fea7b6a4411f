//! Saving and restoring the cumulative statistics, so that counters and
//! latency distributions survive a restart.
//!
//! The file is a JSON envelope, written atomically:
//!
//! ```json
//! {
//!   "format": 1,
//!   "saved_at_ms": 1767225600000,
//!   "regions_len": 412,
//!   "regions_blake3": "…64 hex digits…",
//!   "regions": {
//!     "users": {
//!       "hits": 10, "misses": 2, "inserts": 2, "updates": 0, "removals": 0,
//!       "evictions": { "expired": 1, "idle": 0, "size": 0, "replaced": 0, "explicit": 0 },
//!       "loads_succeeded": 2, "loads_failed": 0,
//!       "errors": { "corrupt": 0, "io": 0, "backend": 0 },
//!       "last_access_ms": 1767225599000,
//!       "get_latency": { "sum_ns": 3100, "max_ns": 900, "buckets": [[33, 9], [45, 1]] },
//!       "load_time": { "sum_ns": 5000000, "max_ns": 3000000, "buckets": [[85, 2]] },
//!       "history": {
//!         "10s": [[1767225590, [3, 1, 0, 1, 0, 1, 0, 0, 0, 0], 1, null, 640, 900]],
//!         "1m": []
//!       }
//!     }
//!   }
//! }
//! ```
//!
//! `regions` is kept as raw JSON: its length and blake3 cover its exact
//! bytes, so a flipped digit is caught even though the JSON still parses.
//! History points are rows: start (Unix s); hits, misses, coalesced, loads
//! succeeded and failed, inserts, errors, evictions expired, idle and size;
//! entries, bytes, p50 and p99 ns. Files without `history` still restore.
//! Histogram buckets are `[index, count]` pairs of the non-empty buckets;
//! their layout is part of the format. Reading never panics: anything
//! unexpected is a [`RestoreOutcome`] that restores nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::histogram::{BUCKETS, HistogramReading};
use super::shard::{
    CLEARED, COALESCED, COUNTERS, Counts, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES, REMOVALS,
    UPDATES,
};
use super::snapshot::{ErrorCause, ErrorCounts, EvictionCause, EvictionCounts};
use super::{HistoryPoint, HistoryRange, Reading, StatsRegistry};

/// The statistics file format this crate writes and reads; files of another
/// format are reported as [`RestoreOutcome::FormatChanged`] and ignored.
/// Format 2: evictions are the cache's own decisions only (replacements
/// and removals left them), coalesced and cleared are counted.
pub const STATS_FORMAT: u32 = 2;

/// A file dated at most this far in the future (a clock moved back a little)
/// is still restored; further than that it counts as expired.
const CLOCK_SKEW_MS: u64 = 60_000;

/// What [`StatsRegistry::restore`] did. Only [`Restored`] changed anything;
/// every other outcome left the statistics as they were, and is meant to be
/// logged (`Display` gives one line), not handled as an error.
///
/// [`Restored`]: RestoreOutcome::Restored
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreOutcome {
    /// The saved counters were added to the regions of the same name.
    Restored {
        /// How many regions were restored.
        regions: usize,
        /// Regions the file has but the registry does not (ignored).
        unknown: Vec<String>,
        /// How long ago the file was saved.
        age: Duration,
    },
    /// There is no file at the path (the first start).
    Missing,
    /// The file is older than the retention (or dated more than a minute in
    /// the future).
    Expired {
        /// How long ago it was saved (zero when dated in the future).
        age: Duration,
    },
    /// The file could not be read.
    Unreadable {
        /// The kind of I/O error.
        kind: io::ErrorKind,
        /// The error's message.
        message: String,
    },
    /// The file is not a statistics file this crate wrote: not JSON,
    /// truncated, missing fields, a checksum mismatch, impossible values.
    Corrupt {
        /// What was wrong.
        detail: String,
    },
    /// The file was written in another format (by another version of this
    /// crate).
    FormatChanged {
        /// The format the file declares.
        found: u32,
    },
}

impl RestoreOutcome {
    /// Whether saved counters were restored.
    pub fn is_restored(&self) -> bool {
        matches!(self, RestoreOutcome::Restored { .. })
    }
}

impl fmt::Display for RestoreOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreOutcome::Restored {
                regions,
                unknown,
                age,
            } => {
                write!(
                    f,
                    "restored statistics of {regions} region(s) saved {} s ago",
                    age.as_secs()
                )?;
                if !unknown.is_empty() {
                    write!(f, "; ignored unknown region(s) {}", unknown.join(", "))?;
                }
                Ok(())
            }
            RestoreOutcome::Missing => f.write_str("no saved statistics"),
            RestoreOutcome::Expired { age } => write!(
                f,
                "saved statistics are {} s old, beyond the retention; starting from zero",
                age.as_secs()
            ),
            RestoreOutcome::Unreadable { message, .. } => {
                write!(
                    f,
                    "saved statistics unreadable ({message}); starting from zero"
                )
            }
            RestoreOutcome::Corrupt { detail } => {
                write!(
                    f,
                    "saved statistics are corrupt ({detail}); starting from zero"
                )
            }
            RestoreOutcome::FormatChanged { found } => write!(
                f,
                "saved statistics have format {found}, this version reads {STATS_FORMAT}; starting from zero"
            ),
        }
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: u32,
    saved_at_ms: u64,
    regions_len: u64,
    regions_blake3: String,
    regions: &'a RawValue,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: u32,
    saved_at_ms: u64,
    regions_len: u64,
    regions_blake3: String,
    regions: Box<RawValue>,
}

#[derive(Deserialize)]
struct Header {
    format: u32,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SavedRegion {
    hits: u64,
    misses: u64,
    coalesced: u64,
    inserts: u64,
    updates: u64,
    removals: u64,
    cleared: u64,
    evictions: EvictionCounts,
    loads_succeeded: u64,
    loads_failed: u64,
    errors: ErrorCounts,
    last_access_ms: Option<u64>,
    get_latency: SavedHistogram,
    /// The misses among `get_latency` (absent in files written before it
    /// was kept: then every restored get counts as a hit's latency).
    #[serde(default)]
    miss_latency: SavedHistogram,
    load_time: SavedHistogram,
    /// The metric history (absent in files written before it was kept).
    #[serde(default, skip_serializing_if = "SavedHistory::is_empty")]
    history: SavedHistory,
}

/// Both series of a region's history, each point a row (see [`SavedPoint`]).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct SavedHistory {
    #[serde(rename = "10s")]
    ten_seconds: Vec<SavedPoint>,
    #[serde(rename = "1m")]
    one_minute: Vec<SavedPoint>,
}

/// One history point as a row: start (Unix s); hits, misses, coalesced,
/// loads succeeded, loads failed, inserts, errors, evictions expired, idle
/// and size; entries, bytes, p50 and p99 (ns).
type SavedPoint = (
    u64,
    [u64; 10],
    Option<u64>,
    Option<u64>,
    Option<u64>,
    Option<u64>,
);

impl SavedHistory {
    fn is_empty(&self) -> bool {
        self.ten_seconds.is_empty() && self.one_minute.is_empty()
    }

    fn from_points(points: &[Vec<HistoryPoint>; 2]) -> SavedHistory {
        let rows = |points: &[HistoryPoint]| {
            points
                .iter()
                .map(|p| {
                    (
                        p.at_ms / 1000,
                        [
                            p.hits,
                            p.misses,
                            p.coalesced,
                            p.loads_succeeded,
                            p.loads_failed,
                            p.inserts,
                            p.errors,
                            p.evictions.expired,
                            p.evictions.idle,
                            p.evictions.size,
                        ],
                        p.entries,
                        p.bytes,
                        p.p50_ns,
                        p.p99_ns,
                    )
                })
                .collect()
        };
        SavedHistory {
            ten_seconds: rows(&points[0]),
            one_minute: rows(&points[1]),
        }
    }

    fn points(rows: &[SavedPoint], range: HistoryRange) -> Vec<HistoryPoint> {
        rows.iter()
            .map(|(at, n, entries, bytes, p50_ns, p99_ns)| {
                let mut point = HistoryPoint {
                    at_ms: at.saturating_mul(1000),
                    seconds: range.step().as_secs(),
                    hits: n[0],
                    misses: n[1],
                    coalesced: n[2],
                    loads_succeeded: n[3],
                    loads_failed: n[4],
                    inserts: n[5],
                    errors: n[6],
                    entries: *entries,
                    bytes: *bytes,
                    p50_ns: *p50_ns,
                    p99_ns: *p99_ns,
                    ..HistoryPoint::default()
                };
                point.evictions.expired = n[7];
                point.evictions.idle = n[8];
                point.evictions.size = n[9];
                point
            })
            .collect()
    }
}

#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct SavedHistogram {
    sum_ns: u64,
    max_ns: u64,
    /// `[index, count]` of the non-empty buckets.
    buckets: Vec<(u64, u64)>,
}

impl SavedRegion {
    fn from_reading(reading: &Reading, history: &[Vec<HistoryPoint>; 2]) -> SavedRegion {
        let counts = &reading.counts;
        SavedRegion {
            hits: counts[HITS],
            misses: counts[MISSES],
            coalesced: counts[COALESCED],
            inserts: counts[INSERTS],
            updates: counts[UPDATES],
            removals: counts[REMOVALS],
            cleared: counts[CLEARED],
            evictions: EvictionCounts::from_counts(counts),
            loads_succeeded: counts[LOADS_OK],
            loads_failed: counts[LOADS_ERR],
            errors: ErrorCounts::from_counts(counts),
            last_access_ms: reading.last_access_ms,
            get_latency: SavedHistogram::from_reading(&reading.get_latency),
            miss_latency: SavedHistogram::from_reading(&reading.miss_latency),
            load_time: SavedHistogram::from_reading(&reading.load_time),
            history: SavedHistory::from_points(history),
        }
    }

    fn counts(&self) -> Counts {
        let mut counts = [0; COUNTERS];
        counts[HITS] = self.hits;
        counts[MISSES] = self.misses;
        counts[COALESCED] = self.coalesced;
        counts[INSERTS] = self.inserts;
        counts[UPDATES] = self.updates;
        counts[REMOVALS] = self.removals;
        counts[CLEARED] = self.cleared;
        counts[LOADS_OK] = self.loads_succeeded;
        counts[LOADS_ERR] = self.loads_failed;
        for cause in EvictionCause::ALL {
            counts[cause.counter()] = self.evictions.get(cause);
        }
        for cause in ErrorCause::ALL {
            counts[cause.counter()] = self.errors.get(cause);
        }
        counts
    }
}

impl SavedHistogram {
    fn from_reading(reading: &HistogramReading) -> SavedHistogram {
        SavedHistogram {
            sum_ns: reading.sum,
            max_ns: reading.max,
            buckets: (0u64..)
                .zip(reading.buckets)
                .filter(|(_, n)| *n != 0)
                .collect(),
        }
    }

    fn to_reading(&self, region: &str) -> Result<HistogramReading, RestoreOutcome> {
        let mut reading = HistogramReading {
            sum: self.sum_ns,
            max: self.max_ns,
            ..HistogramReading::default()
        };
        for (index, n) in &self.buckets {
            let slot = usize::try_from(*index)
                .ok()
                .and_then(|index| reading.buckets.get_mut(index))
                .ok_or_else(|| RestoreOutcome::Corrupt {
                    detail: format!(
                        "region {region:?} has histogram bucket {index}, there are {BUCKETS}"
                    ),
                })?;
            *slot = slot.saturating_add(*n);
        }
        Ok(reading)
    }
}

/// Writes the statistics file.
pub(crate) fn save(
    path: &Path,
    now_ms: u64,
    regions: &[(&str, Reading, [Vec<HistoryPoint>; 2])],
) -> io::Result<()> {
    let mut saved = BTreeMap::new();
    for (name, reading, history) in regions {
        saved
            .entry(*name)
            .or_insert_with(|| SavedRegion::from_reading(reading, history));
    }
    let invalid = |error: serde_json::Error| io::Error::new(io::ErrorKind::InvalidData, error);
    let raw = RawValue::from_string(serde_json::to_string_pretty(&saved).map_err(invalid)?)
        .map_err(invalid)?;
    let bytes = raw.get().as_bytes();
    let mut file = serde_json::to_vec_pretty(&EnvelopeOut {
        format: STATS_FORMAT,
        saved_at_ms: now_ms,
        regions_len: bytes.len() as u64,
        regions_blake3: checksum(bytes),
        regions: &raw,
    })
    .map_err(invalid)?;
    file.push(b'\n');
    cache_spec::persist::atomic_write(path, &file)
}

/// Reads the statistics file and adds it to `registry`, all or nothing.
pub(crate) fn restore(
    registry: &StatsRegistry,
    path: &Path,
    retention: Duration,
) -> RestoreOutcome {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return RestoreOutcome::Missing,
        Err(error) => {
            return RestoreOutcome::Unreadable {
                kind: error.kind(),
                message: format!("{}: {error}", path.display()),
            };
        }
    };
    let (saved_at_ms, regions) = match decode(&bytes) {
        Ok(decoded) => decoded,
        Err(outcome) => return outcome,
    };

    let now_ms = registry.now_ms();
    let age = if saved_at_ms > now_ms.saturating_add(CLOCK_SKEW_MS) {
        return RestoreOutcome::Expired {
            age: Duration::ZERO,
        };
    } else {
        Duration::from_millis(now_ms.saturating_sub(saved_at_ms))
    };
    if age > retention {
        return RestoreOutcome::Expired { age };
    }

    // Check everything before changing anything.
    let mut plan = Vec::with_capacity(regions.len());
    let mut unknown = Vec::new();
    for (name, saved) in &regions {
        let get_latency = match saved.get_latency.to_reading(name) {
            Ok(reading) => reading,
            Err(outcome) => return outcome,
        };
        let miss_latency = match saved.miss_latency.to_reading(name) {
            Ok(reading) => reading,
            Err(outcome) => return outcome,
        };
        let load_time = match saved.load_time.to_reading(name) {
            Ok(reading) => reading,
            Err(outcome) => return outcome,
        };
        match registry.by_name(name) {
            Some(stats) => plan.push((stats, saved, get_latency, miss_latency, load_time)),
            None => unknown.push(name.clone()),
        }
    }
    for (stats, saved, get_latency, miss_latency, load_time) in &plan {
        stats.add_baseline(
            &saved.counts(),
            get_latency,
            miss_latency,
            load_time,
            saved.last_access_ms,
        );
        stats.restore_history(
            HistoryRange::Hour,
            &SavedHistory::points(&saved.history.ten_seconds, HistoryRange::Hour),
        );
        stats.restore_history(
            HistoryRange::Day,
            &SavedHistory::points(&saved.history.one_minute, HistoryRange::Day),
        );
    }
    RestoreOutcome::Restored {
        regions: plan.len(),
        unknown,
        age,
    }
}

/// Parses and checks the file: its save time and regions.
fn decode(bytes: &[u8]) -> Result<(u64, BTreeMap<String, SavedRegion>), RestoreOutcome> {
    let corrupt = |detail: String| RestoreOutcome::Corrupt { detail };
    let envelope: EnvelopeIn = match serde_json::from_slice(bytes) {
        Ok(envelope) => envelope,
        // Not our shape: perhaps another format, which may change every field
        // but `format`.
        Err(error) => {
            return Err(match serde_json::from_slice::<Header>(bytes) {
                Ok(header) if header.format != STATS_FORMAT => RestoreOutcome::FormatChanged {
                    found: header.format,
                },
                _ => corrupt(error.to_string()),
            });
        }
    };
    if envelope.format != STATS_FORMAT {
        return Err(RestoreOutcome::FormatChanged {
            found: envelope.format,
        });
    }
    let raw = envelope.regions.get().as_bytes();
    if u64::try_from(raw.len()).ok() != Some(envelope.regions_len) {
        return Err(corrupt(format!(
            "regions are {} bytes, the envelope says {}",
            raw.len(),
            envelope.regions_len
        )));
    }
    if checksum(raw) != envelope.regions_blake3 {
        return Err(corrupt(String::from("regions do not match their checksum")));
    }
    let regions = serde_json::from_slice(raw).map_err(|error| corrupt(error.to_string()))?;
    Ok((envelope.saved_at_ms, regions))
}

fn checksum(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ManualClock;
    use crate::test_support::Scratch;

    const T0: u64 = 1_767_225_600_000;
    const DAY: Duration = Duration::from_secs(86_400);

    fn registry(clock: &ManualClock, names: &[&str]) -> StatsRegistry {
        StatsRegistry::builder()
            .clock(clock.clone())
            .latency_sample_every(1)
            .build(names.iter().copied())
    }

    #[test]
    fn round_trips_every_counter_and_histogram() {
        let scratch = Scratch::new("stats-round-trip");
        let path = scratch.path().join("stats.json");
        let clock = ManualClock::new(T0);
        let before = registry(&clock, &["a", "b"]);
        let a = before.get(0).expect("a");
        a.hit_latency(100);
        a.hit_latency(5_000);
        a.miss_latency(70);
        a.insert();
        a.update();
        a.remove();
        a.coalesced();
        a.cleared(4);
        for cause in EvictionCause::ALL {
            a.evict(cause);
        }
        for cause in ErrorCause::ALL {
            a.error(cause);
        }
        a.load_ok(1_000_000);
        a.load_err(9_000_000);
        a.set_entries(Some(7));
        a.set_bytes(Some(700));
        before.save(&path).expect("save");

        clock.advance(Duration::from_secs(30));
        let after = registry(&clock, &["b", "a"]);
        let outcome = after.restore(&path, DAY);
        assert_eq!(
            outcome,
            RestoreOutcome::Restored {
                regions: 2,
                unknown: vec![],
                age: Duration::from_secs(30)
            }
        );
        let old = a.snapshot();
        let new = after.by_name("a").expect("a").snapshot();
        assert_eq!(new.hits, old.hits);
        assert_eq!(new.misses, old.misses);
        assert_eq!(new.inserts, 1);
        assert_eq!(new.updates, 1);
        assert_eq!(new.removals, 1);
        assert_eq!((new.coalesced, new.cleared), (1, 4));
        assert_eq!(new.evictions, old.evictions);
        assert_eq!(new.evictions.total(), 3);
        assert_eq!(new.errors, old.errors);
        assert_eq!((new.loads_succeeded, new.loads_failed), (1, 1));
        assert_eq!(new.get_latency, old.get_latency);
        assert_eq!(new.load_time, old.load_time);
        assert_eq!(new.last_access_ms, old.last_access_ms);
        // Gauges describe the live cache; restored activity is not recent.
        // Gauges describe the live cache: unknown until the manager sets them.
        assert_eq!((new.entries, new.bytes), (None, None));
        assert_eq!(new.last_1h.gets(), 0);
    }

    #[test]
    fn history_survives_a_restart_and_restored_counts_are_not_a_point() {
        let scratch = Scratch::new("stats-history");
        let path = scratch.path().join("stats.json");
        let clock = ManualClock::new(T0);
        let before = registry(&clock, &["a"]);
        let a = before.get(0).expect("a");
        for step in 0..7u64 {
            for _ in 0..=step {
                a.hit_latency(1_000);
            }
            a.set_entries(Some(step));
            clock.advance(Duration::from_secs(10));
            a.tick();
        }
        let saved_hour = a.history(HistoryRange::Hour);
        let saved_day = a.history(HistoryRange::Day);
        assert_eq!(saved_hour.len(), 7);
        assert_eq!(saved_day.len(), 1);
        before.save(&path).expect("save");

        clock.advance(Duration::from_secs(20));
        let after = registry(&clock, &["a"]);
        assert!(after.restore(&path, DAY).is_restored());
        let a = after.by_name("a").expect("a");
        a.hit();
        clock.advance(Duration::from_secs(10));
        let hour = a.history(HistoryRange::Hour);
        // The seven saved points, a gap while the program was down, then the
        // new process's first step with its one hit (not the restored 28).
        assert_eq!(hour[..7], saved_hour[..]);
        let last = hour.last().expect("a point");
        assert_eq!((hour.len(), last.hits, last.at_ms), (8, 1, T0 + 90_000));
        assert_eq!(a.history(HistoryRange::Day)[0], saved_day[0]);
    }

    #[test]
    fn file_is_a_checked_envelope() {
        let scratch = Scratch::new("stats-envelope");
        let path = scratch.path().join("stats.json");
        let clock = ManualClock::new(T0);
        let stats = registry(&clock, &["users"]);
        stats.get(0).expect("users").hit_latency(300);
        stats.save(&path).expect("save");
        let text = fs::read_to_string(&path).expect("read");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["format"], STATS_FORMAT);
        assert_eq!(value["saved_at_ms"], T0);
        assert_eq!(value["regions"]["users"]["hits"], 1);
        assert_eq!(
            value["regions"]["users"]["get_latency"]["buckets"],
            serde_json::json!([[histogram_bucket(300), 1]])
        );

        // A digit changed inside the regions: still JSON, caught by the checksum.
        let tampered = text.replacen("\"hits\": 1", "\"hits\": 9", 1);
        assert_ne!(tampered, text);
        fs::write(&path, tampered).expect("write");
        let fresh = registry(&clock, &["users"]);
        assert!(matches!(
            fresh.restore(&path, DAY),
            RestoreOutcome::Corrupt { detail } if detail.contains("checksum")
        ));
        assert_eq!(fresh.get(0).expect("users").snapshot().hits, 0);
    }

    fn histogram_bucket(ns: u64) -> usize {
        crate::stats::histogram::bucket(ns)
    }

    #[test]
    fn bad_bucket_index_restores_nothing() {
        let regions = r#"{"users":{"hits":5,"misses":0,"coalesced":0,"inserts":0,"updates":0,"removals":0,"cleared":0,"evictions":{},"loads_succeeded":0,"loads_failed":0,"errors":{},"last_access_ms":null,"get_latency":{"sum_ns":0,"max_ns":0,"buckets":[[156,1]]},"load_time":{"sum_ns":0,"max_ns":0,"buckets":[]}}}"#;
        let file = format!(
            r#"{{"format":2,"saved_at_ms":{T0},"regions_len":{},"regions_blake3":"{}","regions":{regions}}}"#,
            regions.len(),
            checksum(regions.as_bytes())
        );
        let scratch = Scratch::new("stats-bad-bucket");
        let path = scratch.path().join("stats.json");
        fs::write(&path, file).expect("write");
        let clock = ManualClock::new(T0);
        let stats = registry(&clock, &["users"]);
        assert!(matches!(
            stats.restore(&path, DAY),
            RestoreOutcome::Corrupt { detail } if detail.contains("bucket 156")
        ));
        assert_eq!(stats.get(0).expect("users").snapshot().hits, 0);
    }

    #[test]
    fn future_files_expire_beyond_the_skew() {
        let scratch = Scratch::new("stats-future");
        let path = scratch.path().join("stats.json");
        let clock = ManualClock::new(T0);
        let stats = registry(&clock, &["users"]);
        stats.save(&path).expect("save");
        clock.set_ms(T0 - 30_000);
        assert!(stats.restore(&path, DAY).is_restored());
        clock.set_ms(T0 - 120_000);
        assert_eq!(
            stats.restore(&path, DAY),
            RestoreOutcome::Expired {
                age: Duration::ZERO
            }
        );
    }

    #[test]
    fn outcomes_display_one_line() {
        let outcomes = [
            RestoreOutcome::Restored {
                regions: 2,
                unknown: vec!["gone".into()],
                age: Duration::from_secs(5),
            },
            RestoreOutcome::Missing,
            RestoreOutcome::Expired { age: DAY },
            RestoreOutcome::Unreadable {
                kind: io::ErrorKind::PermissionDenied,
                message: "stats.json: permission denied".into(),
            },
            RestoreOutcome::Corrupt {
                detail: "EOF".into(),
            },
            RestoreOutcome::FormatChanged { found: 0 },
        ];
        for outcome in outcomes {
            let line = outcome.to_string();
            assert!(!line.contains('\n') && !line.is_empty(), "{line}");
        }
    }
}
