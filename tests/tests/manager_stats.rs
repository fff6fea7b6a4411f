//! The manager's statistics across restarts and as Prometheus sees them: a
//! manager with a statistics file saves its counters on shutdown and the
//! next one restores them exactly once (never twice, never when older than
//! the retention), and `prometheus()` exposes each region's counters under
//! its label.
//!
//! Statistics are dated by a `ManualClock`; each test works in its own
//! folder under the system temp folder (with the process id in its name),
//! removed at the end.

use std::fs;
use std::path::Path;
use std::time::Duration;

use cache_runtime::{
    CacheManager, CacheManagerBuilder, CacheRegion, cache_region,
    disk::DiskStore,
    stats::{ManualClock, StatsSnapshot},
};

mod support;
use support::Scratch;

/// 2026-01-01T00:00:00Z, in Unix milliseconds.
const T0: u64 = 1_767_225_600_000;
const HOUR: Duration = Duration::from_secs(3600);

#[cache_region(name = "mstats-users", key = String, value = u64)]
struct Users;

#[cache_region(name = "mstats-files", key = String, value = String, tier = "disk")]
struct Files;

#[cache_region(name = "mstats-prom", key = String, value = u64)]
struct Prom;

#[cache_region(name = "mstats-prom-disk", key = String, value = String, tier = "disk")]
struct PromDisk;

/// A manager over `scratch` saving its statistics to `file`, dated by `clock`.
fn builder(scratch: &Scratch, file: &Path, clock: &ManualClock) -> CacheManagerBuilder {
    CacheManager::builder()
        .disk_root(scratch.join("disk"))
        .write_behind(0)
        .stats_file(file)
        .stats_clock(clock.clone())
        .latency_sample_every(1)
}

/// The counters a restart carries over, as one comparable tuple.
fn counters(s: &StatsSnapshot) -> (u64, u64, u64, u64, u64, u64, u64) {
    assert_eq!(s.gets(), s.hits + s.misses);
    (
        s.hits,
        s.misses,
        s.inserts,
        s.updates,
        s.removals,
        s.errors.corrupt,
        // Evictions on their own (replacements and removals are counted
        // under their causes too, and already above).
        s.evictions.expired + s.evictions.idle + s.evictions.size,
    )
}

/// Makes `key`'s entry file in `dir` unreadable (half of it).
fn truncate_entry(dir: &Path, key: &str) {
    let path = DiskStore::open(dir)
        .expect("store over the region folder")
        .path_for(key.as_bytes());
    let bytes = fs::read(&path).expect("read the entry file");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
}

/// Known operations on `Users` and `Files`: 5 hits, 2 misses, 4 inserts
/// (1 of them an update), 1 removal on `Users`; 1 insert, 1 corrupt miss on
/// `Files`.
fn known_operations(manager: &CacheManager) {
    let users = manager.region::<Users>().expect("region");
    for (key, value) in [("a", 1), ("b", 2), ("c", 3), ("a", 10)] {
        assert!(users.insert_blocking(key.into(), value));
    }
    for key in ["a", "b", "c", "a", "b"] {
        assert!(users.get_blocking(&key.into()).is_some(), "{key}");
    }
    for key in ["x", "y"] {
        assert_eq!(users.get_blocking(&key.into()), None, "{key}");
    }
    assert!(users.remove_blocking(&"c".into()));
    users.run_pending_tasks();

    let files = manager.region::<Files>().expect("region");
    assert!(files.insert_blocking("f".into(), String::from("contents")));
    truncate_entry(files.disk_dir().expect("dir"), "f");
    assert_eq!(files.get_blocking(&"f".into()), None);
}

#[test]
fn counters_saved_on_shutdown_are_restored_once() {
    let scratch = Scratch::new("mstats", "restore");
    let file = scratch.join("stats.json");
    let clock = ManualClock::new(T0);

    // First run: known operations, saved on shutdown.
    {
        let manager = builder(&scratch, &file, &clock).build().expect("manager");
        known_operations(&manager);
        let users = manager.stats("mstats-users").expect("stats");
        assert_eq!(counters(&users), (5, 2, 4, 1, 1, 0, 0), "{users:?}");
        let files = manager.stats("mstats-files").expect("stats");
        assert_eq!(counters(&files), (0, 1, 1, 0, 0, 1, 0), "{files:?}");
        manager.shutdown().expect("shutdown");
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(&file).expect("the statistics file")).expect("json");
    assert_eq!(saved["saved_at_ms"], T0);
    let users = &saved["regions"]["mstats-users"];
    assert_eq!(
        (&users["hits"], &users["misses"], &users["inserts"]),
        (&5.into(), &2.into(), &4.into()),
        "{saved}"
    );
    assert_eq!(saved["regions"]["mstats-files"]["errors"]["corrupt"], 1);
    // Kept aside for the retention test below (later runs rewrite `file`).
    let first_save = scratch.join("first-save.json");
    fs::copy(&file, &first_save).expect("copy");

    // Second run, a minute later: the same counters, not one more.
    clock.advance(Duration::from_secs(60));
    {
        let manager = builder(&scratch, &file, &clock).build().expect("manager");
        let users = manager.region::<Users>().expect("region");
        let restored = users.snapshot();
        assert_eq!(counters(&restored), (5, 2, 4, 1, 1, 0, 0), "{restored:?}");
        assert_eq!(restored.entries, Some(0), "gauges describe the live cache");
        assert_eq!(
            restored.last_1h.gets(),
            0,
            "restored activity is not recent"
        );
        let files = manager.stats("mstats-files").expect("stats");
        assert_eq!(counters(&files), (0, 1, 1, 0, 0, 1, 0), "{files:?}");
        // Activity after the restore adds to it.
        assert_eq!(users.get_blocking(&"a".into()), None, "memory starts empty");
        assert!(users.insert_blocking("z".into(), 26));
        assert_eq!(users.get_blocking(&"z".into()), Some(26));
        assert_eq!(counters(&users.snapshot()), (6, 3, 5, 1, 1, 0, 0));
        manager.shutdown().expect("shutdown");
        // Dropped after shutdown: a second save must not add anything.
    }

    // Third run: the second run's totals, restored once.
    clock.advance(Duration::from_secs(60));
    let manager = builder(&scratch, &file, &clock)
        .background_stats(false)
        .build()
        .expect("manager");
    let users = manager.stats("mstats-users").expect("stats");
    assert_eq!(counters(&users), (6, 3, 5, 1, 1, 0, 0), "{users:?}");
    let files = manager.stats("mstats-files").expect("stats");
    assert_eq!(counters(&files), (0, 1, 1, 0, 0, 1, 0), "{files:?}");
    drop(manager);

    // The first save again, read by managers whose retention it exceeds.
    for (what, age, retention, restored) in [
        ("younger than the retention", HOUR, 2 * HOUR, true),
        ("older than the retention", 2 * HOUR, HOUR, false),
        (
            "no retention",
            Duration::from_millis(1),
            Duration::ZERO,
            false,
        ),
    ] {
        let clock = ManualClock::new(T0 + age.as_millis() as u64);
        let manager = builder(&scratch, &first_save, &clock)
            .stats_retention(retention)
            .background_stats(false)
            .build()
            .expect("manager");
        let users = manager.stats("mstats-users").expect("stats");
        let expected = if restored {
            (5, 2, 4, 1, 1, 0, 0)
        } else {
            (0, 0, 0, 0, 0, 0, 0)
        };
        assert_eq!(counters(&users), expected, "{what}: {users:?}");
        let files = manager.stats("mstats-files").expect("stats");
        assert_eq!(files.errors.corrupt, u64::from(restored), "{what}");
    }
}

#[test]
fn a_missing_or_damaged_statistics_file_starts_from_zero() {
    let scratch = Scratch::new("mstats", "damaged-file");
    let clock = ManualClock::new(T0);
    let missing = scratch.join("never-written.json");
    let manager = builder(&scratch, &missing, &clock)
        .background_stats(false)
        .build()
        .expect("manager");
    assert_eq!(
        counters(&manager.stats("mstats-users").expect("stats")),
        (0, 0, 0, 0, 0, 0, 0)
    );
    drop(manager);

    let file = scratch.join("stats.json");
    {
        let manager = builder(&scratch, &file, &clock).build().expect("manager");
        known_operations(&manager);
        manager.shutdown().expect("shutdown");
    }
    let text = fs::read_to_string(&file).expect("read");
    // A digit changed: still JSON, caught by the file's checksum.
    let tampered = text.replacen("\"hits\": 5", "\"hits\": 9", 1);
    assert_ne!(tampered, text);
    for (what, bytes) in [
        ("tampered", tampered.as_bytes()),
        ("truncated", &text.as_bytes()[..text.len() / 2]),
        ("empty", b""),
    ] {
        fs::write(&file, bytes).expect("write");
        let manager = builder(&scratch, &file, &clock)
            .background_stats(false)
            .build()
            .expect("a damaged statistics file is not an error");
        assert_eq!(
            counters(&manager.stats("mstats-users").expect("stats")),
            (0, 0, 0, 0, 0, 0, 0),
            "{what}"
        );
    }
}

/// The value of the sample `name{labels}` in a Prometheus text.
fn sample(text: &str, name_and_labels: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map(str::to_owned)
}

#[test]
fn prometheus_shows_each_region_under_its_label() {
    let scratch = Scratch::new("mstats", "prometheus");
    let clock = ManualClock::new(T0);
    let manager = CacheManager::builder()
        .disk_root(scratch.path())
        .write_behind(0)
        .stats_clock(clock)
        .latency_sample_every(1)
        .background_stats(false)
        .build()
        .expect("manager");
    let prom = manager.region::<Prom>().expect("region");
    for (key, value) in [("a", 1), ("b", 2), ("a", 3)] {
        assert!(prom.insert_blocking(key.into(), value));
    }
    for key in ["a", "b", "a", "zz"] {
        prom.get_blocking(&key.into());
    }
    assert!(prom.remove_blocking(&"b".into()));
    let disk = manager.region::<PromDisk>().expect("region");
    assert!(disk.insert_blocking("f".into(), String::from("v")));
    truncate_entry(disk.disk_dir().expect("dir"), "f");
    assert_eq!(disk.get_blocking(&"f".into()), None);
    manager.run_pending_tasks();

    let text = manager.prometheus();
    let name = Prom::DESCRIPTOR.name();
    let region = format!("region=\"{name}\"");
    for (sample_name, labels, value) in [
        ("cache_hits_total", "", "3"),
        ("cache_misses_total", "", "1"),
        ("cache_inserts_total", "", "3"),
        ("cache_updates_total", "", "1"),
        ("cache_removals_total", "", "1"),
        ("cache_evictions_total", ",cause=\"expired\"", "0"),
        ("cache_evictions_total", ",cause=\"size\"", "0"),
        ("cache_errors_total", ",kind=\"corrupt\"", "0"),
        ("cache_loads_total", ",result=\"success\"", "0"),
        ("cache_entries", "", "1"),
        ("cache_get_latency_seconds_count", "", "4"),
        ("cache_get_latency_seconds_bucket", ",le=\"+Inf\"", "4"),
        ("cache_gets_total", ",result=\"hit\"", "3"),
        ("cache_gets_total", ",result=\"miss\"", "1"),
        (
            "cache_tier_gets_total",
            ",tier=\"memory\",result=\"hit\"",
            "3",
        ),
        (
            "cache_tier_gets_total",
            ",tier=\"memory\",result=\"miss\"",
            "1",
        ),
        ("cache_get_duration_seconds_count", ",result=\"hit\"", "3"),
        ("cache_get_duration_seconds_count", ",result=\"miss\"", "1"),
        (
            "cache_get_duration_seconds_bucket",
            ",result=\"miss\",le=\"+Inf\"",
            "1",
        ),
        ("cache_max_entries", "", "10000"),
        (
            "cache_region_info",
            ",tier=\"memory\",second_level=\"none\",sensitive=\"false\"",
            "1",
        ),
    ] {
        let key = format!("{sample_name}{{{region}{labels}}}");
        assert_eq!(
            sample(&text, &key).as_deref(),
            Some(value),
            "{key} in\n{text}"
        );
    }
    let disk_region = "region=\"mstats-prom-disk\"";
    for (sample_name, labels, value) in [
        ("cache_misses_total", "", "1"),
        ("cache_inserts_total", "", "1"),
        ("cache_errors_total", ",kind=\"corrupt\"", "1"),
        ("cache_entries", "", "0"),
        ("cache_gets_total", ",result=\"miss\"", "1"),
        (
            "cache_tier_gets_total",
            ",tier=\"disk\",result=\"rejected\"",
            "1",
        ),
        (
            "cache_tier_gets_total",
            ",tier=\"disk\",result=\"hit\"",
            "0",
        ),
        (
            "cache_tier_writes_total",
            ",tier=\"disk\",result=\"stored\"",
            "1",
        ),
        (
            "cache_tier_operation_duration_seconds_count",
            ",tier=\"disk\",operation=\"get\"",
            "1",
        ),
        (
            "cache_region_info",
            ",tier=\"disk\",second_level=\"disk\",sensitive=\"false\"",
            "1",
        ),
    ] {
        let key = format!("{sample_name}{{{disk_region}{labels}}}");
        assert_eq!(
            sample(&text, &key).as_deref(),
            Some(value),
            "{key} in\n{text}"
        );
    }
    // A disk-only region has no memory level to count.
    assert!(!text.contains(&format!(
        "cache_tier_gets_total{{{disk_region},tier=\"memory\""
    )));
    // The old names stay one release, marked deprecated.
    assert!(
        text.contains("# HELP cache_hits_total Deprecated"),
        "{text}"
    );
    // One family header each, before its samples.
    for family in [
        "cache_hits_total",
        "cache_errors_total",
        "cache_gets_total",
        "cache_tier_gets_total",
    ] {
        let header = format!("# TYPE {family} counter");
        assert_eq!(text.matches(&header).count(), 1, "{header}");
        let first_sample = text
            .find(&format!("\n{family}{{"))
            .expect("a sample of the family");
        assert!(text.find(&header).expect("header") < first_sample);
    }
    // The same numbers as the snapshot.
    let snapshot = manager.stats(name).expect("stats");
    assert_eq!((snapshot.hits, snapshot.misses, snapshot.gets()), (3, 1, 4));
}

/// A region the manager adds on first use (here: no linked regions, so
/// `region::<R>()` adds it) is not in the statistics when the file is
/// restored at build time: its saved counters are skipped, and the next
/// save writes the file without them, so they are lost for good.
#[test]
fn counters_of_a_region_added_after_build_are_restored() {
    let scratch = Scratch::new("mstats", "added-later");
    let file = scratch.join("stats.json");
    let clock = ManualClock::new(T0);
    let build = || {
        builder(&scratch, &file, &clock)
            .without_linked_regions()
            .build()
            .expect("manager")
    };
    {
        let manager = build();
        known_operations(&manager);
        manager.shutdown().expect("shutdown");
    }
    let manager = build();
    let users = manager.region::<Users>().expect("region");
    assert_eq!(counters(&users.snapshot()), (5, 2, 4, 1, 1, 0, 0));
}

/// Adding a region costs the same at 10,000 regions as at one (its
/// statistics join the exports and the statistics thread on their next
/// use, no rebuild or thread restart per add); the running statistics
/// thread saves every region added.
#[test]
fn ten_thousand_regions_added_at_run_time_are_counted_and_saved() {
    let scratch = Scratch::new("mstats", "many-added");
    let file = scratch.join("stats.json");
    let clock = ManualClock::new(T0);
    let manager = builder(&scratch, &file, &clock)
        .without_linked_regions()
        .build()
        .expect("manager");
    let started = std::time::Instant::now();
    for i in 0..10_000 {
        manager
            .add_region(
                cache_runtime::RegionDescriptor::builder(format!("added-{i:05}"))
                    .build()
                    .expect("descriptor"),
            )
            .expect("added");
    }
    println!("10,000 add_region calls: {:?}", started.elapsed());
    let last = manager
        .region_named::<String, u64>("added-09999")
        .expect("the last one");
    last.insert_blocking("k".into(), 1);
    assert_eq!(last.get_blocking(&"k".into()), Some(1));
    assert_eq!(manager.stats("added-09999").expect("stats").hits, 1);
    assert_eq!(manager.all_stats().len(), 10_000);
    assert!(
        manager
            .prometheus()
            .contains("cache_hits_total{region=\"added-09999\"} 1\n")
    );
    manager.shutdown().expect("shutdown");
    let saved = fs::read_to_string(&file).expect("saved");
    assert!(saved.contains("\"added-00000\"") && saved.contains("\"added-09999\""));
}
