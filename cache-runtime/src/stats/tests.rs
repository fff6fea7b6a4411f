//! Unit tests of the recording API, snapshots, the registry and the worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::descriptor::RegionDescriptor;
use crate::registry::Registry;
use crate::test_support::Scratch;

const T0: u64 = 1_767_225_600_000;

fn manual(every: u32) -> (ManualClock, RegionStats) {
    let clock = ManualClock::new(T0);
    let settings = Settings::new(Sampling::Every(every), Arc::new(clock.clone()));
    (clock, RegionStats::with_settings("users".into(), &settings))
}

#[test]
fn every_record_method_lands_in_its_field() {
    let (_, stats) = manual(1);
    stats.hit();
    stats.hit_latency(250);
    stats.miss();
    stats.miss_latency(900);
    stats.insert();
    stats.insert();
    stats.update();
    stats.remove();
    stats.evict(EvictionCause::Expired);
    stats.evict(EvictionCause::Idle);
    stats.evict(EvictionCause::Size);
    stats.evict(EvictionCause::Size);
    stats.coalesced();
    stats.cleared(3);
    stats.load_ok(1_000);
    stats.load_err(3_000);
    stats.error(ErrorCause::Corrupt);
    stats.error(ErrorCause::Io);
    stats.error(ErrorCause::Io);
    stats.error(ErrorCause::Backend);
    stats.set_entries(Some(12));
    stats.set_bytes(Some(4096));

    let s = stats.snapshot();
    assert_eq!(s.region, "users");
    assert_eq!(s.taken_at_ms, T0);
    assert_eq!((s.hits, s.misses, s.coalesced, s.gets()), (2, 2, 1, 5));
    // Coalesced gets ran no loader: they count with the hits.
    assert_eq!(s.hit_rate, Some(0.6));
    assert_eq!((s.inserts, s.updates, s.removals, s.cleared), (2, 1, 1, 3));
    assert_eq!(
        [s.evictions.expired, s.evictions.idle, s.evictions.size],
        [1, 1, 2]
    );
    assert_eq!(s.evictions.total(), 4);
    assert_eq!((s.loads_succeeded, s.loads_failed, s.loads()), (1, 1, 2));
    assert_eq!((s.errors.corrupt, s.errors.io, s.errors.backend), (1, 2, 1));
    assert_eq!(s.errors.total(), 4);
    assert_eq!((s.entries, s.bytes), (Some(12), Some(4096)));
    assert_eq!(s.last_access_ms, Some(T0));
    assert_eq!(s.get_latency.count, 2);
    assert_eq!(s.get_latency.sum_ns, 1_150);
    assert_eq!(s.get_latency.max_ns, 900);
    assert_eq!(s.get_latency.mean_ns, 575);
    assert_eq!(s.load_time.count, 2);
    assert_eq!(s.load_time.max_ns, 3_000);
    for window in [s.last_1m, s.last_5m, s.last_1h] {
        assert_eq!(
            (
                window.hits,
                window.misses,
                window.coalesced,
                window.hit_rate
            ),
            (2, 2, 1, Some(0.6))
        );
        assert_eq!(
            (
                window.inserts,
                window.updates,
                window.removals,
                window.cleared
            ),
            (2, 1, 1, 3)
        );
        assert_eq!(window.evictions, 4);
        assert_eq!((window.loads_succeeded, window.loads_failed), (1, 1));
        assert_eq!(window.errors, 4);
    }
    assert_eq!(
        [s.last_1m.seconds, s.last_5m.seconds, s.last_1h.seconds],
        [60, 300, 3600]
    );
}

#[test]
fn empty_snapshot_has_no_rate() {
    let (_, stats) = manual(1);
    let s = stats.snapshot();
    assert_eq!(s.hit_rate, None);
    assert_eq!(s.last_1m.hit_rate, None);
    assert_eq!(s.last_access_ms, None);
    assert_eq!(s.get_latency, LatencySummary::default());
}

#[test]
fn timers_sample_as_configured() {
    let (_, always) = manual(1);
    let timer = always.time_get();
    assert!(timer.is_sampled());
    timer.hit();
    always.time_get().miss();
    let s = always.snapshot();
    assert_eq!((s.hits, s.misses, s.get_latency.count), (1, 1, 2));

    let (_, never) = manual(0);
    for _ in 0..1000 {
        let timer = never.time_get();
        assert!(!timer.is_sampled());
        timer.hit();
    }
    let s = never.snapshot();
    assert_eq!((s.hits, s.get_latency.count), (1000, 0));

    let (_, some) = manual(16);
    for _ in 0..16_000 {
        some.time_get().hit();
    }
    let s = some.snapshot();
    assert_eq!(s.hits, 16_000);
    // 1,000 expected; the bound is over ten standard deviations wide.
    assert!(
        (600..1_400).contains(&s.get_latency.count),
        "{}",
        s.get_latency.count
    );
}

#[test]
fn windows_follow_the_clock() {
    let (clock, stats) = manual(1);
    for _ in 0..5 {
        stats.hit();
    }
    stats.tick();
    clock.advance(Duration::from_secs(90));
    stats.miss();
    stats.tick();
    clock.advance(Duration::from_secs(250));
    stats.insert();
    let s = stats.snapshot();
    assert_eq!(
        (s.last_1m.hits, s.last_1m.misses, s.last_1m.inserts),
        (0, 0, 1)
    );
    assert_eq!(
        (s.last_5m.hits, s.last_5m.misses, s.last_5m.inserts),
        (0, 1, 1)
    );
    assert_eq!(
        (s.last_1h.hits, s.last_1h.misses, s.last_1h.inserts),
        (5, 1, 1)
    );
    assert_eq!(s.last_5m.hit_rate, Some(0.0));
    assert_eq!(s.last_access_ms, Some(T0 + 340_000));

    clock.advance(Duration::from_secs(3600));
    let s = stats.snapshot();
    assert_eq!(s.last_1h.gets(), 0);
    assert_eq!(s.gets(), 6);
    assert_eq!(s.last_access_ms, Some(T0 + 340_000));
}

#[test]
fn ticks_racing_recorders_partition_the_counts() {
    let (clock, stats) = manual(4);
    let threads = 4;
    let per_thread = 50_000u64;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for i in 0..per_thread {
                    if i % 4 == 0 {
                        stats.time_get().miss();
                    } else {
                        stats.time_get().hit();
                    }
                }
            });
        }
        scope.spawn(|| {
            for _ in 0..200 {
                clock.advance(Duration::from_millis(700));
                let s = stats.snapshot();
                assert_eq!(s.gets(), s.hits + s.misses);
                assert!(s.last_1m.gets() <= s.last_1h.gets());
                assert!(s.last_1h.gets() <= s.gets());
            }
        });
    });
    let s = stats.snapshot();
    let total = threads * per_thread;
    assert_eq!(s.gets(), total);
    assert_eq!(s.misses, total / 4);
    // 140 s of clock: the whole run is inside the hour, counted exactly once.
    assert_eq!(s.last_1h.hits, s.hits);
    assert_eq!(s.last_1h.misses, s.misses);
}

#[test]
fn snapshots_round_trip_through_json() {
    let (_, stats) = manual(1);
    stats.hit_latency(123);
    stats.miss();
    stats.evict(EvictionCause::Size);
    let snapshot = stats.snapshot();
    let json = serde_json::to_string(&snapshot).expect("serialize");
    let back: StatsSnapshot = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, snapshot);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["evictions"]["size"], 1);
    assert_eq!(value["hit_rate"], 0.5);
    assert_eq!(value["last_1m"]["hits"], 1);
    assert_eq!(value["get_latency"]["max_ns"], 123);
}

#[test]
fn registry_indexes_like_the_program_registry() {
    let registry = Registry::builder()
        .region(RegionDescriptor::builder("zeta").build().expect("valid"))
        .region(RegionDescriptor::builder("alpha").build().expect("valid"))
        .build()
        .expect("distinct");
    let stats = StatsRegistry::for_registry(&registry);
    assert_eq!(stats.len(), 2);
    for descriptor in registry.iter() {
        let id = registry.id(descriptor.name()).expect("present");
        assert_eq!(
            stats.region(id).map(RegionStats::name),
            Some(descriptor.name())
        );
        assert_eq!(
            stats.get(id.index()).map(RegionStats::name),
            Some(descriptor.name())
        );
    }
    let names: Vec<String> = stats.snapshots().into_iter().map(|s| s.region).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert!(stats.get(2).is_none());
    assert!(stats.by_name("beta").is_none());
}

#[test]
fn repeated_names_resolve_to_the_first() {
    let stats = StatsRegistry::new(["a", "a"]);
    stats.get(0).expect("first").hit();
    assert_eq!(stats.by_name("a").map(|s| s.snapshot().hits), Some(1));
}

#[test]
fn json_lists_every_region() {
    let stats = StatsRegistry::new(["b", "a"]);
    stats.get(0).expect("b").hit();
    let value: serde_json::Value = serde_json::from_str(&stats.to_json()).expect("json");
    assert_eq!(value[0]["region"], "a");
    assert_eq!(value[1]["region"], "b");
    assert_eq!(value[1]["hits"], 1);
}

#[test]
fn worker_saves_on_shutdown_and_drop() {
    let scratch = Scratch::new("stats-worker");
    let path = scratch.path().join("nested").join("stats.json");
    let stats = Arc::new(StatsRegistry::new(["users"]));
    let worker = StatsWorker::builder(Arc::clone(&stats))
        .save_to(&path)
        .save_every(Duration::from_secs(3600))
        .spawn()
        .expect("thread");
    stats.get(0).expect("users").hit();
    worker.shutdown().expect("final save");
    let restored = StatsRegistry::new(["users"]);
    assert!(
        restored
            .restore(&path, Duration::from_secs(3600))
            .is_restored()
    );
    assert_eq!(restored.get(0).expect("users").snapshot().hits, 1);

    stats.get(0).expect("users").hit();
    drop(
        StatsWorker::builder(Arc::clone(&stats))
            .save_to(&path)
            .spawn()
            .expect("thread"),
    );
    let restored = StatsRegistry::new(["users"]);
    assert!(
        restored
            .restore(&path, Duration::from_secs(3600))
            .is_restored()
    );
    assert_eq!(restored.get(0).expect("users").snapshot().hits, 2);
}

#[test]
fn worker_saves_periodically_and_reports_failures() {
    let scratch = Scratch::new("stats-worker-periodic");
    let stats = Arc::new(StatsRegistry::new(["users"]));
    let worker = StatsWorker::builder(Arc::clone(&stats))
        .save_to(scratch.path().join("stats.json"))
        .save_every(Duration::from_millis(5))
        .tick_every(Duration::from_millis(5))
        .spawn()
        .expect("thread");
    // Not a timing assertion: wait as long as a loaded machine needs.
    let deadline = Instant::now() + Duration::from_secs(60);
    while worker.saves() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(worker.saves() >= 2);
    assert_eq!(worker.failed_saves(), 0);
    worker.shutdown().expect("final save");

    // A path under a regular file cannot be written.
    let blocker = scratch.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    let worker = StatsWorker::builder(Arc::clone(&stats))
        .save_to(blocker.join("stats.json"))
        .save_every(Duration::from_millis(5))
        .spawn()
        .expect("thread");
    while worker.failed_saves() < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(worker.failed_saves() >= 1);
    assert!(
        worker
            .last_error()
            .is_some_and(|e| e.contains("stats.json"))
    );
    assert!(worker.shutdown().is_err());
}

#[test]
fn region_stats_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<RegionStats>();
    check::<StatsRegistry>();
    check::<StatsWorker>();
}

#[test]
fn a_busy_region_times_about_its_target_per_second_and_a_quiet_one_every_get() {
    let clock = ManualClock::new(T0);
    let settings = Settings::new(Sampling::PerSecond(1_000), Arc::new(clock.clone()));
    let stats = RegionStats::with_settings("users".into(), &settings);
    // 200,000 gets in the first second: one in 16 of them timed until the
    // budget between ticks (twice the target) is spent.
    for _ in 0..200_000 {
        stats.time_get().hit();
    }
    let first = stats.snapshot().get_latency.count;
    assert_eq!(first, 2_000);
    clock.advance(Duration::from_secs(1));
    stats.tick();
    // The next second's 200,000 gets: about 1,000 timed (one in 200).
    for _ in 0..200_000 {
        stats.time_get().hit();
    }
    let busy = stats.snapshot().get_latency.count - first;
    assert!((700..1_300).contains(&busy), "{busy}");
    // The tick after that busy second keeps one in 200; the tick after a
    // second with no gets times every one.
    clock.advance(Duration::from_secs(1));
    stats.tick();
    clock.advance(Duration::from_secs(1));
    stats.tick();
    let before = stats.snapshot().get_latency.count;
    for _ in 0..50 {
        stats.time_get().miss();
    }
    assert_eq!(stats.snapshot().get_latency.count - before, 50);
    // A burst right after that quiet second: the rest of the budget (2,000
    // between ticks, 50 of it spent just above) caps it.
    for _ in 0..200_000 {
        stats.time_get().hit();
    }
    let burst = stats.snapshot().get_latency.count - before - 50;
    assert_eq!(burst, 1_950);
    assert_eq!(stats.snapshot().hits, 600_000);
}
