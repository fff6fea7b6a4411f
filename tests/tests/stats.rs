//! Per-region statistics as the manager and an operator see them: exact
//! counts under concurrency, percentiles of known distributions, windows on
//! an injected clock, save and restore, the Prometheus text.
//!
//! Nothing here sleeps or times anything: the clock is a `ManualClock`.

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cache_runtime::{
    RegionDescriptor, Registry,
    stats::{ErrorCause, EvictionCause, ManualClock, RestoreOutcome, StatsRegistry, StatsSnapshot},
};

mod support;
use support::Scratch;

/// 2026-01-01T00:00:00Z, in Unix milliseconds.
const T0: u64 = 1_767_225_600_000;
const HOUR: Duration = Duration::from_secs(3600);

fn stats_at(clock: &ManualClock, names: &[&str]) -> StatsRegistry {
    StatsRegistry::builder()
        .clock(clock.clone())
        .latency_sample_every(1)
        .build(names.iter().copied())
}

fn only(stats: &StatsRegistry) -> StatsSnapshot {
    stats.get(0).expect("one region").snapshot()
}

#[test]
fn eight_threads_count_exactly() {
    const THREADS: u64 = 8;
    const OPS: u64 = 1_000_000;
    let clock = ManualClock::new(T0);
    let stats = StatsRegistry::builder()
        .clock(clock.clone())
        .build(["users"]);
    let region = stats.get(0).expect("users");
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    // Eight operations per round: 4 gets (3 hits, 1 miss),
                    // an insert, an eviction, a load, an error.
                    for i in 0..OPS / 8 {
                        region.time_get().hit();
                        region.time_get().miss();
                        region.hit();
                        region.hit_latency(200 + i % 100);
                        region.insert();
                        region.evict(EvictionCause::ALL[(i % 3) as usize]);
                        region.load_ok(1_000);
                        region.error(ErrorCause::Io);
                    }
                })
            })
            .collect();
        // Snapshots and ticks race the workers, the clock moving on.
        scope.spawn(|| {
            let mut previous = 0;
            while !done.load(Ordering::Relaxed) {
                clock.advance(Duration::from_millis(300));
                let s = region.snapshot();
                assert_eq!(s.gets(), s.hits + s.misses);
                assert!(s.gets() >= previous, "counts never go back");
                previous = s.gets();
                assert!(s.last_1m.gets() <= s.last_5m.gets());
                assert!(s.last_5m.gets() <= s.last_1h.gets());
                assert!(s.last_1h.gets() <= s.gets());
                std::thread::yield_now();
            }
        });
        for worker in workers {
            worker.join().expect("worker");
        }
        done.store(true, Ordering::Relaxed);
    });

    let s = region.snapshot();
    let rounds = THREADS * OPS / 8;
    assert_eq!(s.gets(), s.hits + s.misses);
    assert_eq!(s.gets(), 4 * rounds);
    assert_eq!(s.hits, 3 * rounds);
    assert_eq!(s.misses, rounds);
    assert_eq!(s.inserts, rounds);
    assert_eq!(s.evictions.total(), rounds);
    for (index, cause) in EvictionCause::ALL.into_iter().enumerate() {
        let per_thread = (0..OPS / 8).filter(|i| i % 3 == index as u64).count() as u64;
        assert_eq!(s.evictions.get(cause), THREADS * per_thread, "{cause}");
    }
    assert_eq!(s.loads_succeeded, rounds);
    assert_eq!(s.load_time.count, rounds);
    assert_eq!(s.errors.io, rounds);
    assert_eq!(s.errors.total(), rounds);
    // Every hit_latency call, plus the sampled timed gets.
    assert!(s.get_latency.count >= rounds && s.get_latency.count <= 3 * rounds);
    // Whatever the ticks saw, nothing was counted twice or lost: the clock
    // moved less than an hour, so the hour holds everything.
    assert!(clock_elapsed(&clock) < HOUR);
    assert_eq!(s.last_1h.hits, s.hits);
    assert_eq!(s.last_1h.misses, s.misses);
    assert_eq!(s.last_1h.inserts, s.inserts);
    assert_eq!(s.last_1h.evictions, s.evictions.total());
    assert_eq!(s.last_1h.loads_succeeded, s.loads_succeeded);
    assert_eq!(s.last_1h.errors, s.errors.total());
}

fn clock_elapsed(clock: &ManualClock) -> Duration {
    use cache_runtime::stats::Clock;
    Duration::from_millis(clock.now_ms() - T0)
}

#[test]
fn percentiles_of_known_distributions() {
    let clock = ManualClock::new(T0);
    let stats = stats_at(&clock, &["uniform", "bimodal", "constant"]);

    // Uniform 1..=100,000 ns.
    let uniform = stats.get(0).expect("uniform");
    for ns in 1..=100_000 {
        uniform.hit_latency(ns);
    }
    let l = uniform.snapshot().get_latency;
    assert_eq!(l.count, 100_000);
    assert_eq!(l.max_ns, 100_000);
    assert_eq!(l.mean_ns, 50_000);
    within_an_eighth(l.p50_ns, 50_000);
    within_an_eighth(l.p90_ns, 90_000);
    within_an_eighth(l.p95_ns, 95_000);
    within_an_eighth(l.p99_ns, 99_000);

    // 97 % fast hits at 250 ns, 3 % slow at 2 ms.
    let bimodal = stats.get(1).expect("bimodal");
    for i in 0..10_000 {
        if i % 100 < 97 {
            bimodal.hit_latency(250);
        } else {
            bimodal.miss_latency(2_000_000);
        }
    }
    let l = bimodal.snapshot().get_latency;
    within_an_eighth(l.p50_ns, 250);
    within_an_eighth(l.p90_ns, 250);
    within_an_eighth(l.p95_ns, 250);
    within_an_eighth(l.p99_ns, 2_000_000);
    assert_eq!(l.max_ns, 2_000_000);

    // Every load 5 ms: percentiles never exceed the exact maximum.
    let constant = stats.get(2).expect("constant");
    for _ in 0..1000 {
        constant.load_ok(5_000_000);
    }
    constant.load_err(5_000_000);
    let l = constant.snapshot().load_time;
    assert_eq!((l.count, l.max_ns, l.mean_ns), (1001, 5_000_000, 5_000_000));
    for p in [l.p50_ns, l.p90_ns, l.p95_ns, l.p99_ns] {
        within_an_eighth(p, 5_000_000);
        assert!(p <= l.max_ns);
    }
}

fn within_an_eighth(got: u64, exact: u64) {
    let error = got.abs_diff(exact);
    assert!(error * 8 <= exact, "{got} is not within 12.5 % of {exact}");
}

#[test]
fn windows_roll_over_on_the_clock() {
    let clock = ManualClock::new(T0);
    let stats = stats_at(&clock, &["users"]);
    let users = stats.get(0).expect("users");

    // One hit in each of 400 consecutive seconds, ticked at the end of each
    // second, then at the first millisecond of the next: a boundary passes
    // between the two.
    for _ in 0..400 {
        users.hit();
        clock.advance(Duration::from_millis(999));
        stats.tick();
        users.miss();
        clock.advance(Duration::from_millis(1));
        stats.tick();
    }
    // Now at T0 + 400 s: the last tick dated a miss at this very second.
    let s = only(&stats);
    assert_eq!((s.hits, s.misses), (400, 400));
    // The last 60 s: seconds 341..=400 hold hits of 341..=399 and misses
    // dated 341..=400.
    assert_eq!((s.last_1m.hits, s.last_1m.misses), (59, 60));
    assert_eq!((s.last_5m.hits, s.last_5m.misses), (299, 300));
    assert_eq!((s.last_1h.hits, s.last_1h.misses), (400, 400));
    assert_eq!(s.last_1m.hit_rate, Some(59.0 / 119.0));
    assert_eq!(s.last_access_ms, Some(T0 + 400_000));

    // Ten idle minutes: the minute and the five empty out, the hour keeps.
    clock.advance(Duration::from_secs(600));
    let s = only(&stats);
    assert_eq!(s.last_1m.gets(), 0);
    assert_eq!(s.last_1m.hit_rate, None);
    assert_eq!(s.last_5m.gets(), 0);
    assert_eq!(s.last_1h.gets(), 800);
    assert_eq!(s.last_access_ms, Some(T0 + 400_000));

    // An hour later nothing is recent; the totals stay.
    clock.advance(HOUR);
    let s = only(&stats);
    assert_eq!(s.last_1h.gets(), 0);
    assert_eq!(s.gets(), 800);

    // Activity without ticks is dated by the snapshot that first sees it.
    users.insert();
    users.evict(EvictionCause::Size);
    users.load_err(10);
    users.error(ErrorCause::Backend);
    let s = only(&stats);
    assert_eq!(s.last_1m.inserts, 1);
    assert_eq!(s.last_1m.evictions, 1);
    assert_eq!(s.last_1m.loads_failed, 1);
    assert_eq!(s.last_1m.errors, 1);
    assert_eq!(s.last_access_ms, Some(T0 + 4_600_000));
}

#[test]
fn a_clock_moving_back_keeps_counts() {
    let clock = ManualClock::new(T0 + 10_000);
    let stats = stats_at(&clock, &["users"]);
    let users = stats.get(0).expect("users");
    users.hit();
    stats.tick();
    clock.set_ms(T0);
    users.hit();
    let s = only(&stats);
    assert_eq!((s.hits, s.last_1m.hits), (2, 2));
}

#[test]
fn saved_counters_come_back_within_the_retention() {
    let scratch = Scratch::new("stats", "save-restore");
    let clock = ManualClock::new(T0);
    let before = stats_at(&clock, &["users", "sessions", "retired"]);
    let users = before.get(0).expect("users");
    for _ in 0..7 {
        users.hit_latency(400);
    }
    users.miss_latency(80_000);
    users.insert();
    users.evict(EvictionCause::Expired);
    users.load_ok(3_000_000);
    users.error(ErrorCause::Corrupt);
    users.set_entries(Some(1));
    before.get(2).expect("retired").hit();
    before.save(&scratch.join("stats.json")).expect("save");

    // The next run: "retired" is gone, "orders" is new.
    clock.advance(Duration::from_secs(90));
    let after = stats_at(&clock, &["orders", "sessions", "users"]);
    let outcome = after.restore(&scratch.join("stats.json"), HOUR);
    assert_eq!(
        outcome,
        RestoreOutcome::Restored {
            regions: 2,
            unknown: vec!["retired".to_owned()],
            age: Duration::from_secs(90),
        }
    );
    assert!(outcome.to_string().contains("retired"));
    let old = users.snapshot();
    let new = after.by_name("users").expect("users").snapshot();
    assert_eq!(
        (new.hits, new.misses, new.hit_rate),
        (7, 1, Some(7.0 / 8.0))
    );
    assert_eq!(new.inserts, 1);
    assert_eq!(new.evictions.expired, 1);
    assert_eq!(new.loads_succeeded, 1);
    assert_eq!(new.errors.corrupt, 1);
    assert_eq!(new.get_latency, old.get_latency);
    assert_eq!(new.load_time, old.load_time);
    assert_eq!(new.last_access_ms, Some(T0));
    // Not recent activity, and not the live cache's size.
    assert_eq!(new.last_1h.gets(), 0);
    assert_eq!(new.entries, None, "unknown until the manager sets it");

    // Counting goes on from the baseline, and a second save carries both.
    let users = after.by_name("users").expect("users");
    users.hit();
    assert_eq!(users.snapshot().hits, 8);
    assert_eq!(users.snapshot().last_1m.hits, 1);
    after.save(&scratch.join("stats.json")).expect("save again");
    let third = stats_at(&clock, &["users"]);
    assert!(
        third
            .restore(&scratch.join("stats.json"), HOUR)
            .is_restored()
    );
    assert_eq!(only(&third).hits, 8);
}

#[test]
fn files_older_than_the_retention_are_ignored() {
    let scratch = Scratch::new("stats", "retention");
    let clock = ManualClock::new(T0);
    let before = stats_at(&clock, &["users"]);
    before.get(0).expect("users").hit();
    before.save(&scratch.join("stats.json")).expect("save");

    clock.advance(HOUR + Duration::from_secs(1));
    let after = stats_at(&clock, &["users"]);
    assert_eq!(
        after.restore(&scratch.join("stats.json"), HOUR),
        RestoreOutcome::Expired {
            age: HOUR + Duration::from_secs(1)
        }
    );
    assert_eq!(only(&after).hits, 0);
    assert!(
        after
            .restore(&scratch.join("stats.json"), 2 * HOUR)
            .is_restored()
    );
    assert_eq!(only(&after).hits, 1);
}

#[test]
fn bad_files_are_reported_never_restored() {
    let scratch = Scratch::new("stats", "bad-files");
    let clock = ManualClock::new(T0);
    let stats = stats_at(&clock, &["users"]);
    let path = scratch.join("stats.json");

    assert_eq!(stats.restore(&path, HOUR), RestoreOutcome::Missing);

    let good = {
        let source = stats_at(&clock, &["users"]);
        source.get(0).expect("users").hit();
        source.save(&path).expect("save");
        fs::read(&path).expect("read")
    };
    let corrupt: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not json at all".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x13],
        good[..good.len() / 2].to_vec(),
        br#"{"format": 2}"#.to_vec(),
        br#"[1, 2, 3]"#.to_vec(),
        String::from_utf8_lossy(&good)
            .replacen("\"hits\": 1", "\"hits\": 2", 1)
            .into_bytes(),
    ];
    for bytes in corrupt {
        fs::write(&path, &bytes).expect("write");
        let outcome = stats.restore(&path, HOUR);
        assert!(
            matches!(outcome, RestoreOutcome::Corrupt { .. }),
            "{:?} gave {outcome:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(!outcome.to_string().is_empty());
    }

    fs::write(&path, br#"{"format": 0, "counters": {}}"#).expect("write");
    assert_eq!(
        stats.restore(&path, HOUR),
        RestoreOutcome::FormatChanged { found: 0 }
    );

    let folder = scratch.join("a-folder");
    fs::create_dir_all(&folder).expect("folder");
    assert!(matches!(
        stats.restore(&folder, HOUR),
        RestoreOutcome::Unreadable { .. }
    ));

    assert_eq!(only(&stats).hits, 0, "nothing was restored");
    fs::write(&path, &good).expect("write");
    assert!(stats.restore(&path, HOUR).is_restored());
    assert_eq!(only(&stats).hits, 1);
}

#[test]
fn built_from_the_program_registry() {
    let registry = Registry::builder()
        .region(
            RegionDescriptor::builder("sessions")
                .build()
                .expect("valid"),
        )
        .region(RegionDescriptor::builder("avatars").build().expect("valid"))
        .build()
        .expect("distinct");
    let stats = StatsRegistry::for_registry(&registry);
    let id = registry.id("sessions").expect("sessions");
    stats.region(id).expect("sessions").miss();
    assert_eq!(stats.get(id.index()).map(|s| s.snapshot().misses), Some(1));
    let json = stats.to_json();
    assert!(json.starts_with("[{\"region\":\"avatars\""), "{json}");
    assert!(json.contains("\"region\":\"sessions\""));
    assert!(json.contains("\"misses\":1"));
}

#[test]
fn prometheus_text_golden() {
    let clock = ManualClock::new(T0);
    let stats = stats_at(&clock, &["users", "we\"ird\\name\n"]);
    let users = stats.get(0).expect("users");
    users.hit_latency(200);
    users.hit_latency(3_000);
    users.miss_latency(1_500_000);
    users.insert();
    users.update();
    users.remove();
    users.coalesced();
    users.cleared(2);
    users.evict(EvictionCause::Size);
    users.load_ok(2_000_000);
    users.load_err(100_000_000_000);
    users.error(ErrorCause::Io);
    users.set_entries(Some(41));
    users.set_bytes(Some(8_192));
    clock.advance(Duration::from_millis(1_500));

    let text = stats.prometheus();
    assert_eq!(text, GOLDEN, "got:\n{text}");
    check_exposition(&text);
}

/// Checks the text exposition grammar: comments are `# HELP name text` or
/// `# TYPE name type` before their samples; samples are
/// `name{label="value",...} number` with escaped values.
fn check_exposition(text: &str) {
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("help text");
            assert!(is_metric_name(name) && !help.is_empty(), "{line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("type");
            assert!(is_metric_name(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_owned());
        } else {
            let (name, rest) = line.split_once('{').expect("labels");
            let family = typed.last().expect("TYPE before samples");
            assert!(
                name == family
                    || [
                        format!("{family}_bucket"),
                        format!("{family}_sum"),
                        format!("{family}_count")
                    ]
                    .contains(&name.to_owned()),
                "{line}"
            );
            let value = parse_labels(rest, line);
            assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
        }
    }
}

fn is_metric_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses `label="value",...} value` and returns the sample value.
fn parse_labels<'a>(mut rest: &'a str, line: &str) -> &'a str {
    loop {
        let (label, after) = rest.split_once("=\"").expect(line);
        assert!(is_metric_name(label), "{line}");
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect(line) {
                (_, '\\') => {
                    let (_, escaped) = chars.next().expect(line);
                    assert!(['\\', '"', 'n'].contains(&escaped), "{line}");
                }
                (_, '\n') => panic!("raw newline in {line}"),
                (at, '"') => break at,
                _ => {}
            }
        };
        rest = &after[end + 1..];
        if let Some(more) = rest.strip_prefix(',') {
            rest = more;
        } else {
            return rest.strip_prefix("} ").expect(line);
        }
    }
}

const GOLDEN: &str = r#"# HELP cache_gets_total Gets by result: hit (a value was found, or another caller's load of the same key was waited for and shared: see cache_coalesced_total) or miss (nothing found; get_or_insert_with then runs the loader). Hit rate = hit / (hit + miss).
# TYPE cache_gets_total counter
cache_gets_total{region="users",result="hit"} 3
cache_gets_total{region="users",result="miss"} 1
cache_gets_total{region="we\"ird\\name\n",result="hit"} 0
cache_gets_total{region="we\"ird\\name\n",result="miss"} 0
# HELP cache_hits_total Deprecated, removed in the next release: use cache_gets_total{result="hit"} (which also counts coalesced gets). Gets that found a value.
# TYPE cache_hits_total counter
cache_hits_total{region="users"} 2
cache_hits_total{region="we\"ird\\name\n"} 0
# HELP cache_misses_total Deprecated, removed in the next release: use cache_gets_total{result="miss"}. Gets that found nothing.
# TYPE cache_misses_total counter
cache_misses_total{region="users"} 1
cache_misses_total{region="we\"ird\\name\n"} 0
# HELP cache_coalesced_total Gets that found nothing but waited for another caller's load of the same key and got its value (no loader ran for them).
# TYPE cache_coalesced_total counter
cache_coalesced_total{region="users"} 1
cache_coalesced_total{region="we\"ird\\name\n"} 0
# HELP cache_inserts_total Values stored, new or replacing (inserts and loads' results).
# TYPE cache_inserts_total counter
cache_inserts_total{region="users"} 1
cache_inserts_total{region="we\"ird\\name\n"} 0
# HELP cache_updates_total Inserts that replaced a value the region held (also counted in cache_inserts_total).
# TYPE cache_updates_total counter
cache_updates_total{region="users"} 1
cache_updates_total{region="we\"ird\\name\n"} 0
# HELP cache_removals_total Entries removed by remove (once per key, whichever levels held it).
# TYPE cache_removals_total counter
cache_removals_total{region="users"} 1
cache_removals_total{region="we\"ird\\name\n"} 0
# HELP cache_cleared_total Entries removed by clear or clear_matching.
# TYPE cache_cleared_total counter
cache_cleared_total{region="users"} 2
cache_cleared_total{region="we\"ird\\name\n"} 0
# HELP cache_evictions_total Entries the cache dropped itself, by cause (expired, idle, size); never a replacement, removal or clear.
# TYPE cache_evictions_total counter
cache_evictions_total{region="users",cause="expired"} 0
cache_evictions_total{region="users",cause="idle"} 0
cache_evictions_total{region="users",cause="size"} 1
cache_evictions_total{region="we\"ird\\name\n",cause="expired"} 0
cache_evictions_total{region="we\"ird\\name\n",cause="idle"} 0
cache_evictions_total{region="we\"ird\\name\n",cause="size"} 0
# HELP cache_loads_total Loader calls, by result: one per miss of get_or_insert_with and per refreshed key; waiters on a load (coalesced) run none.
# TYPE cache_loads_total counter
cache_loads_total{region="users",result="success"} 1
cache_loads_total{region="users",result="failure"} 1
cache_loads_total{region="we\"ird\\name\n",result="success"} 0
cache_loads_total{region="we\"ird\\name\n",result="failure"} 0
# HELP cache_errors_total Errors recovered from, by kind.
# TYPE cache_errors_total counter
cache_errors_total{region="users",kind="corrupt"} 0
cache_errors_total{region="users",kind="io"} 1
cache_errors_total{region="users",kind="backend"} 0
cache_errors_total{region="we\"ird\\name\n",kind="corrupt"} 0
cache_errors_total{region="we\"ird\\name\n",kind="io"} 0
cache_errors_total{region="we\"ird\\name\n",kind="backend"} 0
# HELP cache_entries Entries the region holds (memory level, or disk files); omitted where the tier cannot count them (Redis).
# TYPE cache_entries gauge
cache_entries{region="users"} 41
# HELP cache_bytes Size of the memory level in bytes; omitted for regions without one.
# TYPE cache_bytes gauge
cache_bytes{region="users"} 8192
# HELP cache_max_entries The region's entry limit (memory level); omitted when unbounded or limited by bytes.
# TYPE cache_max_entries gauge
# HELP cache_max_bytes The region's size limit in bytes (memory level); omitted when unbounded or limited by entries.
# TYPE cache_max_bytes gauge
# HELP cache_region_info Always 1: the region's configured tier, its second level once open (disk, redis, a backend's name, or none) and whether it is sensitive.
# TYPE cache_region_info gauge
# HELP cache_tier_gets_total Lookups per level, by result. tier="memory": hit, or miss (the get went on to the second level or the loader). The second level (tier = disk, redis or a backend's name): hit, miss, or rejected (an unusable value: old, corrupt, another key's; a miss too). Failed lookups are in cache_tier_errors_total. Sum one tier's results, never across tiers.
# TYPE cache_tier_gets_total counter
# HELP cache_tier_writes_total Writes to the second level, by result: stored, or skipped (it could not be reached; the value stayed in memory only).
# TYPE cache_tier_writes_total counter
# HELP cache_tier_errors_total Second-level operations that failed (timeout, connection, open breaker), lookups and writes alike.
# TYPE cache_tier_errors_total counter
# HELP cache_tier_operation_duration_seconds Duration of second-level lookups (operation="get").
# TYPE cache_tier_operation_duration_seconds histogram
# HELP cache_last_access_timestamp_seconds When the region was last read or written, Unix seconds (to within a second).
# TYPE cache_last_access_timestamp_seconds gauge
cache_last_access_timestamp_seconds{region="users"} 1767225601.5
# HELP cache_get_duration_seconds Duration of sampled gets, by result: hit, or miss (plain gets that found nothing; the misses and coalesced waits of get_or_insert_with and loads are not timed here: see cache_load_duration_seconds).
# TYPE cache_get_duration_seconds histogram
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000000256"} 1
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000001024"} 1
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000004096"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000016384"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000065536"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.000262144"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.001048576"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.004194304"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.016777216"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.067108864"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="0.268435456"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="1.073741824"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="4.294967296"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="17.179869184"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="68.719476736"} 2
cache_get_duration_seconds_bucket{region="users",result="hit",le="+Inf"} 2
cache_get_duration_seconds_sum{region="users",result="hit"} 0.0000032
cache_get_duration_seconds_count{region="users",result="hit"} 2
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000000256"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000001024"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000004096"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000016384"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000065536"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.000262144"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.001048576"} 0
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.004194304"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.016777216"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.067108864"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="0.268435456"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="1.073741824"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="4.294967296"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="17.179869184"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="68.719476736"} 1
cache_get_duration_seconds_bucket{region="users",result="miss",le="+Inf"} 1
cache_get_duration_seconds_sum{region="users",result="miss"} 0.0015
cache_get_duration_seconds_count{region="users",result="miss"} 1
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000000256"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000001024"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000004096"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000016384"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000065536"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.000262144"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.001048576"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.004194304"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.016777216"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.067108864"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="0.268435456"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="1.073741824"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="4.294967296"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="17.179869184"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="68.719476736"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="hit",le="+Inf"} 0
cache_get_duration_seconds_sum{region="we\"ird\\name\n",result="hit"} 0
cache_get_duration_seconds_count{region="we\"ird\\name\n",result="hit"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000000256"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000001024"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000004096"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000016384"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000065536"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.000262144"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.001048576"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.004194304"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.016777216"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.067108864"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="0.268435456"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="1.073741824"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="4.294967296"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="17.179869184"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="68.719476736"} 0
cache_get_duration_seconds_bucket{region="we\"ird\\name\n",result="miss",le="+Inf"} 0
cache_get_duration_seconds_sum{region="we\"ird\\name\n",result="miss"} 0
cache_get_duration_seconds_count{region="we\"ird\\name\n",result="miss"} 0
# HELP cache_get_latency_seconds Deprecated, removed in the next release: use cache_get_duration_seconds. Latency of sampled gets.
# TYPE cache_get_latency_seconds histogram
cache_get_latency_seconds_bucket{region="users",le="0.000000256"} 1
cache_get_latency_seconds_bucket{region="users",le="0.000001024"} 1
cache_get_latency_seconds_bucket{region="users",le="0.000004096"} 2
cache_get_latency_seconds_bucket{region="users",le="0.000016384"} 2
cache_get_latency_seconds_bucket{region="users",le="0.000065536"} 2
cache_get_latency_seconds_bucket{region="users",le="0.000262144"} 2
cache_get_latency_seconds_bucket{region="users",le="0.001048576"} 2
cache_get_latency_seconds_bucket{region="users",le="0.004194304"} 3
cache_get_latency_seconds_bucket{region="users",le="0.016777216"} 3
cache_get_latency_seconds_bucket{region="users",le="0.067108864"} 3
cache_get_latency_seconds_bucket{region="users",le="0.268435456"} 3
cache_get_latency_seconds_bucket{region="users",le="1.073741824"} 3
cache_get_latency_seconds_bucket{region="users",le="4.294967296"} 3
cache_get_latency_seconds_bucket{region="users",le="17.179869184"} 3
cache_get_latency_seconds_bucket{region="users",le="68.719476736"} 3
cache_get_latency_seconds_bucket{region="users",le="+Inf"} 3
cache_get_latency_seconds_sum{region="users"} 0.0015032
cache_get_latency_seconds_count{region="users"} 3
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000000256"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000001024"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000004096"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000016384"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000065536"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.000262144"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.001048576"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.004194304"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.016777216"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.067108864"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="0.268435456"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="1.073741824"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="4.294967296"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="17.179869184"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="68.719476736"} 0
cache_get_latency_seconds_bucket{region="we\"ird\\name\n",le="+Inf"} 0
cache_get_latency_seconds_sum{region="we\"ird\\name\n"} 0
cache_get_latency_seconds_count{region="we\"ird\\name\n"} 0
# HELP cache_load_duration_seconds Duration of loads run on a miss.
# TYPE cache_load_duration_seconds histogram
cache_load_duration_seconds_bucket{region="users",le="0.000000256"} 0
cache_load_duration_seconds_bucket{region="users",le="0.000001024"} 0
cache_load_duration_seconds_bucket{region="users",le="0.000004096"} 0
cache_load_duration_seconds_bucket{region="users",le="0.000016384"} 0
cache_load_duration_seconds_bucket{region="users",le="0.000065536"} 0
cache_load_duration_seconds_bucket{region="users",le="0.000262144"} 0
cache_load_duration_seconds_bucket{region="users",le="0.001048576"} 0
cache_load_duration_seconds_bucket{region="users",le="0.004194304"} 1
cache_load_duration_seconds_bucket{region="users",le="0.016777216"} 1
cache_load_duration_seconds_bucket{region="users",le="0.067108864"} 1
cache_load_duration_seconds_bucket{region="users",le="0.268435456"} 1
cache_load_duration_seconds_bucket{region="users",le="1.073741824"} 1
cache_load_duration_seconds_bucket{region="users",le="4.294967296"} 1
cache_load_duration_seconds_bucket{region="users",le="17.179869184"} 1
cache_load_duration_seconds_bucket{region="users",le="68.719476736"} 1
cache_load_duration_seconds_bucket{region="users",le="+Inf"} 2
cache_load_duration_seconds_sum{region="users"} 100.002
cache_load_duration_seconds_count{region="users"} 2
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000000256"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000001024"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000004096"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000016384"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000065536"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.000262144"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.001048576"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.004194304"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.016777216"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.067108864"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="0.268435456"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="1.073741824"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="4.294967296"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="17.179869184"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="68.719476736"} 0
cache_load_duration_seconds_bucket{region="we\"ird\\name\n",le="+Inf"} 0
cache_load_duration_seconds_sum{region="we\"ird\\name\n"} 0
cache_load_duration_seconds_count{region="we\"ird\\name\n"} 0
"#;
