//! The Prometheus text exposition (format 0.0.4) of a [`StatsRegistry`]:
//! one family per quantity, `# HELP` and `# TYPE` first, one sample per
//! region (and cause), label values escaped.
//!
//! [`StatsRegistry`]: super::StatsRegistry

use std::fmt::{self, Write};

use super::Reading;
use super::histogram::{HistogramReading, last_bucket_at_most_pow2};
use super::shard::{
    CLEARED, COALESCED, HITS, INSERTS, LOADS_ERR, LOADS_OK, MISSES, REMOVALS, UPDATES,
};
use super::snapshot::{ErrorCause, EvictionCause};

/// The histogram `le` boundaries: powers of four of nanoseconds, 256 ns to
/// 68.7 s, each the upper end of a bucket.
const LE_POWERS: [u32; 15] = [8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36];

/// [`LE_POWERS`] in seconds, as printed (checked by a test).
const LE_LABELS: [&str; 15] = [
    "0.000000256",
    "0.000001024",
    "0.000004096",
    "0.000016384",
    "0.000065536",
    "0.000262144",
    "0.001048576",
    "0.004194304",
    "0.016777216",
    "0.067108864",
    "0.268435456",
    "1.073741824",
    "4.294967296",
    "17.179869184",
    "68.719476736",
];

/// What the manager knows of a region beyond its statistics: the
/// `cache_region_info` labels, the limits, and which levels it has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RegionInfo {
    /// The configured tier (`memory`, `disk`, `redis`, `backend`, `hybrid`).
    pub(crate) tier: &'static str,
    /// Whether the region has a memory level (memory and hybrid tiers).
    pub(crate) memory: bool,
    /// The second level, once the region is open: `disk`, `redis` or a
    /// backend's name.
    pub(crate) second: Option<&'static str>,
    pub(crate) sensitive: bool,
    pub(crate) max_entries: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
}

/// Reads one limit of a region.
type Limit = fn(&RegionInfo) -> Option<u64>;

/// Renders every region; `info` adds the families only the manager can
/// fill (per-tier figures, limits, `cache_region_info`).
pub(crate) fn render(
    out: &mut impl Write,
    regions: &[(&str, Reading)],
    info: &dyn Fn(&str) -> Option<RegionInfo>,
) -> fmt::Result {
    let name = "cache_gets_total";
    header(
        out,
        name,
        "Gets by result: hit (a value was found, or another caller's load of the same key was waited for and shared: see cache_coalesced_total) or miss (nothing found; get_or_insert_with then runs the loader). Hit rate = hit / (hit + miss).",
        "counter",
    )?;
    for (region, reading) in regions {
        let hits = reading.counts[HITS].wrapping_add(reading.counts[COALESCED]);
        sample(out, name, region, &[("result", "hit")], hits)?;
        let misses = reading.counts[MISSES];
        sample(out, name, region, &[("result", "miss")], misses)?;
    }

    let simple: [(&str, &str, usize); 7] = [
        (
            "cache_hits_total",
            "Deprecated, removed in the next release: use cache_gets_total{result=\"hit\"} (which also counts coalesced gets). Gets that found a value.",
            HITS,
        ),
        (
            "cache_misses_total",
            "Deprecated, removed in the next release: use cache_gets_total{result=\"miss\"}. Gets that found nothing.",
            MISSES,
        ),
        (
            "cache_coalesced_total",
            "Gets that found nothing but waited for another caller's load of the same key and got its value (no loader ran for them).",
            COALESCED,
        ),
        (
            "cache_inserts_total",
            "Values stored, new or replacing (inserts and loads' results).",
            INSERTS,
        ),
        (
            "cache_updates_total",
            "Inserts that replaced a value the region held (also counted in cache_inserts_total).",
            UPDATES,
        ),
        (
            "cache_removals_total",
            "Entries removed by remove (once per key, whichever levels held it).",
            REMOVALS,
        ),
        (
            "cache_cleared_total",
            "Entries removed by clear or clear_matching.",
            CLEARED,
        ),
    ];
    for (name, help, counter) in simple {
        header(out, name, help, "counter")?;
        for (region, reading) in regions {
            sample(out, name, region, &[], reading.counts[counter])?;
        }
    }

    let name = "cache_evictions_total";
    header(
        out,
        name,
        "Entries the cache dropped itself, by cause (expired, idle, size); never a replacement, removal or clear.",
        "counter",
    )?;
    for (region, reading) in regions {
        for cause in EvictionCause::ALL {
            let labels = [("cause", cause.as_str())];
            sample(out, name, region, &labels, reading.counts[cause.counter()])?;
        }
    }

    let name = "cache_loads_total";
    header(
        out,
        name,
        "Loader calls, by result: one per miss of get_or_insert_with and per refreshed key; waiters on a load (coalesced) run none.",
        "counter",
    )?;
    for (region, reading) in regions {
        for (result, counter) in [("success", LOADS_OK), ("failure", LOADS_ERR)] {
            sample(
                out,
                name,
                region,
                &[("result", result)],
                reading.counts[counter],
            )?;
        }
    }

    let name = "cache_errors_total";
    header(out, name, "Errors recovered from, by kind.", "counter")?;
    for (region, reading) in regions {
        for cause in ErrorCause::ALL {
            let labels = [("kind", cause.as_str())];
            sample(out, name, region, &labels, reading.counts[cause.counter()])?;
        }
    }

    let name = "cache_entries";
    header(
        out,
        name,
        "Entries the region holds (memory level, or disk files); omitted where the tier cannot count them (Redis).",
        "gauge",
    )?;
    for (region, reading) in regions {
        if let Some(entries) = reading.entries {
            sample(out, name, region, &[], entries)?;
        }
    }

    let name = "cache_bytes";
    header(
        out,
        name,
        "Size of the memory level in bytes; omitted for regions without one.",
        "gauge",
    )?;
    for (region, reading) in regions {
        if let Some(bytes) = reading.bytes {
            sample(out, name, region, &[], bytes)?;
        }
    }

    let infos: Vec<Option<RegionInfo>> = regions.iter().map(|(region, _)| info(region)).collect();
    let limits: [(&str, &str, Limit); 2] = [
        (
            "cache_max_entries",
            "The region's entry limit (memory level); omitted when unbounded or limited by bytes.",
            |info| info.max_entries,
        ),
        (
            "cache_max_bytes",
            "The region's size limit in bytes (memory level); omitted when unbounded or limited by entries.",
            |info| info.max_bytes,
        ),
    ];
    for (name, help, limit) in limits {
        header(out, name, help, "gauge")?;
        for ((region, _), info) in regions.iter().zip(&infos) {
            if let Some(value) = info.as_ref().and_then(limit) {
                sample(out, name, region, &[], value)?;
            }
        }
    }

    let name = "cache_region_info";
    header(
        out,
        name,
        "Always 1: the region's configured tier, its second level once open (disk, redis, a backend's name, or none) and whether it is sensitive.",
        "gauge",
    )?;
    for ((region, _), info) in regions.iter().zip(&infos) {
        if let Some(info) = info {
            let labels = [
                ("tier", info.tier),
                ("second_level", info.second.unwrap_or("none")),
                ("sensitive", if info.sensitive { "true" } else { "false" }),
            ];
            sample(out, name, region, &labels, 1)?;
        }
    }

    let name = "cache_tier_gets_total";
    header(
        out,
        name,
        "Lookups per level, by result. tier=\"memory\": hit, or miss (the get went on to the second level or the loader). The second level (tier = disk, redis or a backend's name): hit, miss, or rejected (an unusable value: old, corrupt, another key's; a miss too). Failed lookups are in cache_tier_errors_total. Sum one tier's results, never across tiers.",
        "counter",
    )?;
    for ((region, reading), info) in regions.iter().zip(&infos) {
        let Some(info) = info else { continue };
        let counts = &reading.counts;
        if info.memory {
            let gets = counts[HITS]
                .wrapping_add(counts[MISSES])
                .wrapping_add(counts[COALESCED]);
            let hits = match &reading.tiers {
                Some((tiers, _)) => tiers.l1_hits,
                None => counts[HITS],
            };
            let memory = [("tier", "memory"), ("result", "hit")];
            sample(out, name, region, &memory, hits)?;
            let memory = [("tier", "memory"), ("result", "miss")];
            sample(out, name, region, &memory, gets.saturating_sub(hits))?;
        }
        if let (Some((tiers, _)), Some(second)) = (&reading.tiers, info.second) {
            for (result, value) in [
                ("hit", tiers.l2_hits),
                ("miss", tiers.l2_misses),
                ("rejected", tiers.l2_rejected),
            ] {
                sample(
                    out,
                    name,
                    region,
                    &[("tier", second), ("result", result)],
                    value,
                )?;
            }
        }
    }

    let second_levels = || {
        regions
            .iter()
            .zip(&infos)
            .filter_map(|((region, reading), info)| {
                let (tiers, latency) = reading.tiers.as_ref()?;
                Some((*region, info.as_ref()?.second?, tiers, latency))
            })
    };
    let name = "cache_tier_writes_total";
    header(
        out,
        name,
        "Writes to the second level, by result: stored, or skipped (it could not be reached; the value stayed in memory only).",
        "counter",
    )?;
    for (region, second, tiers, _) in second_levels() {
        for (result, value) in [
            ("stored", tiers.l2_writes),
            ("skipped", tiers.l2_writes_skipped),
        ] {
            sample(
                out,
                name,
                region,
                &[("tier", second), ("result", result)],
                value,
            )?;
        }
    }

    let name = "cache_tier_errors_total";
    header(
        out,
        name,
        "Second-level operations that failed (timeout, connection, open breaker), lookups and writes alike.",
        "counter",
    )?;
    for (region, second, tiers, _) in second_levels() {
        sample(out, name, region, &[("tier", second)], tiers.l2_errors)?;
    }

    let name = "cache_tier_operation_duration_seconds";
    header(
        out,
        name,
        "Duration of second-level lookups (operation=\"get\").",
        "histogram",
    )?;
    let names = Histogram::names(name);
    for (region, second, _, latency) in second_levels() {
        let labels = [("tier", second), ("operation", "get")];
        names.write(out, region, &labels, latency)?;
    }

    let name = "cache_last_access_timestamp_seconds";
    header(
        out,
        name,
        "When the region was last read or written, Unix seconds (to within a second).",
        "gauge",
    )?;
    for (region, reading) in regions {
        if let Some(ms) = reading.last_access_ms {
            sample(out, name, region, &[], Seconds(ms as f64 / 1e3))?;
        }
    }

    let name = "cache_get_duration_seconds";
    header(
        out,
        name,
        "Duration of sampled gets, by result: hit, or miss (plain gets that found nothing; the misses and coalesced waits of get_or_insert_with and loads are not timed here: see cache_load_duration_seconds).",
        "histogram",
    )?;
    let names = Histogram::names(name);
    for (region, reading) in regions {
        let hits = reading.get_latency.minus(&reading.miss_latency);
        names.write(out, region, &[("result", "hit")], &hits)?;
        names.write(out, region, &[("result", "miss")], &reading.miss_latency)?;
    }

    let name = "cache_get_latency_seconds";
    header(
        out,
        name,
        "Deprecated, removed in the next release: use cache_get_duration_seconds. Latency of sampled gets.",
        "histogram",
    )?;
    let names = Histogram::names(name);
    for (region, reading) in regions {
        names.write(out, region, &[], &reading.get_latency)?;
    }

    let name = "cache_load_duration_seconds";
    header(out, name, "Duration of loads run on a miss.", "histogram")?;
    let names = Histogram::names(name);
    for (region, reading) in regions {
        names.write(out, region, &[], &reading.load_time)?;
    }
    Ok(())
}

fn header(out: &mut impl Write, name: &str, help: &str, kind: &str) -> fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

/// A float value in seconds, printed in Rust's shortest round-trip form
/// (never an exponent, which Prometheus would also accept).
struct Seconds(f64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn sample(
    out: &mut impl Write,
    name: &str,
    region: &str,
    labels: &[(&str, &str)],
    value: impl fmt::Display,
) -> fmt::Result {
    write!(out, "{name}{{region=\"")?;
    escape(out, region)?;
    out.write_char('"')?;
    for (label, label_value) in labels {
        write!(out, ",{label}=\"")?;
        escape(out, label_value)?;
        out.write_char('"')?;
    }
    writeln!(out, "}} {value}")
}

/// The sample names of a histogram family.
struct Histogram {
    bucket: String,
    sum: String,
    count: String,
}

impl Histogram {
    fn names(family: &str) -> Histogram {
        Histogram {
            bucket: format!("{family}_bucket"),
            sum: format!("{family}_sum"),
            count: format!("{family}_count"),
        }
    }

    fn write(
        &self,
        out: &mut impl Write,
        region: &str,
        labels: &[(&str, &str)],
        reading: &HistogramReading,
    ) -> fmt::Result {
        let mut with_le = labels.to_vec();
        with_le.push(("le", ""));
        let le_at = with_le.len() - 1;
        let mut cumulative = 0u64;
        let mut next_bucket = 0;
        for (power, le) in LE_POWERS.into_iter().zip(LE_LABELS) {
            let last = last_bucket_at_most_pow2(power);
            for n in &reading.buckets[next_bucket..=last] {
                cumulative = cumulative.wrapping_add(*n);
            }
            next_bucket = last + 1;
            with_le[le_at].1 = le;
            sample(out, &self.bucket, region, &with_le, cumulative)?;
        }
        let count = reading.count();
        with_le[le_at].1 = "+Inf";
        sample(out, &self.bucket, region, &with_le, count)?;
        let sum = Seconds(reading.sum as f64 / 1e9);
        sample(out, &self.sum, region, labels, sum)?;
        sample(out, &self.count, region, labels, count)
    }
}

/// Escapes a label value: backslash, double quote and line feed.
pub(crate) fn escape(out: &mut impl Write, value: &str) -> fmt::Result {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '\n']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        escape(&mut out, value).expect("string");
        out
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escaped("plain-name"), "plain-name");
        assert_eq!(escaped(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escaped("line\nbreak"), "line\\nbreak");
        assert_eq!(escaped("é\"ü"), "é\\\"ü");
    }

    #[test]
    fn le_labels_are_the_powers_in_seconds() {
        let le: Vec<String> = LE_POWERS
            .iter()
            .map(|p| Seconds((1u64 << p) as f64 / 1e9).to_string())
            .collect();
        assert_eq!(le, LE_LABELS);
        for pair in le.windows(2) {
            let a: f64 = pair[0].parse().expect("float");
            let b: f64 = pair[1].parse().expect("float");
            assert!(a < b);
        }
    }
}
