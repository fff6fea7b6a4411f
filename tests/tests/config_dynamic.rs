//! Dynamic configuration as a user sees it: layers and `explain`, every
//! validation rule with its message, atomic changes, resizing under load,
//! rollback, persistence across a restart, the watched config file, events.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cache_runtime::{
    CacheManager, CacheManagerBuilder, ConfigLayer, cache_config_provider, cache_region,
    config::{
        ChangeKind, ConfigChange, ConfigError, Eviction, RegionOptions, RegionSettings,
        SettingSource,
    },
    manager::EventKind,
};
use support::Scratch;

#[cache_region(name = "cfg-layers", key = String, value = String, preset = "temporary", max_entries = 500)]
struct Layered;

#[cache_region(name = "cfg-plain", key = String, value = String, ttl = "10m")]
struct Plain;

#[cache_region(name = "cfg-secret", key = String, value = String, preset = "security-critical")]
struct Secret;

#[cache_region(name = "cfg-disk", key = String, value = String, tier = "disk", ttl = "1h")]
struct OnDisk;

#[cache_region(name = "cfg-hybrid", key = String, value = String, tier = "hybrid", ttl = "1h")]
struct Hybrid;

#[cache_region(name = "cfg-resize", key = u64, value = u64, max_entries = 1000)]
struct Resized;

#[cache_region(name = "cfg-ttl", key = String, value = String, ttl = "1h")]
struct Timed;

#[cache_region(name = "cfg-untimed", key = String, value = String)]
struct Untimed;

#[cache_region(name = "cfg-switch", key = u64, value = u64)]
struct Switched;

#[cache_config_provider(priority = 5, name = "cfg-low")]
fn low() -> ConfigLayer {
    ConfigLayer::new().region(
        "cfg-layers",
        RegionOptions {
            ttl: Some(Duration::from_secs(120)),
            tti: Some(Duration::from_secs(60)),
            eviction: Some(Eviction::Lru),
            ..RegionOptions::EMPTY
        },
    )
}

#[cache_config_provider(priority = 9, name = "cfg-high")]
fn high() -> ConfigLayer {
    ConfigLayer::new().region(
        "cfg-layers",
        RegionOptions {
            ttl: Some(Duration::from_secs(180)),
            ..RegionOptions::EMPTY
        },
    )
}

fn builder(scratch: &Scratch) -> CacheManagerBuilder {
    CacheManager::builder()
        .disk_root(scratch.path().join("regions"))
        .config_state_file(scratch.path().join("config-state.json"))
        .without_config_env()
        .background_stats(false)
}

/// Why a manager whose config file (`cache.toml` in `scratch`) holds
/// `text` refuses to start.
fn start_up_error(scratch: &Scratch, text: &str) -> String {
    let file = scratch.path().join("cache.toml");
    std::fs::write(&file, text).expect("file");
    builder(scratch)
        .config_file(&file)
        .build()
        .expect_err("refused")
        .to_string()
}

fn change() -> ConfigChange {
    ConfigChange::new("tests", "checking")
}

fn source(manager: &CacheManager, region: &str, field: &str) -> (String, SettingSource) {
    let explained = manager.explain(region).expect("explain");
    let field = explained.field(field).expect("field").clone();
    (field.value, field.source)
}

#[test]
fn layers_apply_lowest_first_and_explain_says_which() {
    let scratch = Scratch::new("config", "layers");
    let file = scratch.path().join("cache.toml");
    std::fs::write(
        &file,
        "[regions.cfg-layers]\nttl = \"4m\"\nmax_entries = 300\n",
    )
    .expect("file");
    let env = [(
        String::from("CACHE_REGION__CFG_LAYERS__TTL"),
        String::from("5m"),
    )];
    let manager = builder(&scratch)
        .config_file(&file)
        .config_file_poll(None)
        .config_env_vars(env.clone())
        .config_env_prefix("CACHE_REGION__")
        .build()
        .expect("manager");

    let (ttl, from) = source(&manager, "cfg-layers", "ttl");
    assert_eq!(ttl, "5m");
    assert_eq!(
        from,
        SettingSource::Environment {
            variable: String::from("CACHE_REGION__CFG_LAYERS__TTL")
        }
    );
    assert_eq!(
        source(&manager, "cfg-layers", "tti"),
        (
            String::from("1m"),
            SettingSource::Provider {
                name: String::from("cfg-low"),
                priority: 5
            }
        )
    );
    assert_eq!(
        source(&manager, "cfg-layers", "eviction").0,
        "lru",
        "the higher provider sets only ttl"
    );
    let (entries, from) = source(&manager, "cfg-layers", "max_entries");
    assert_eq!(entries, "300");
    assert!(matches!(from, SettingSource::File { .. }), "{from:?}");
    let (tier, from) = source(&manager, "cfg-layers", "tier");
    assert_eq!(
        (tier.as_str(), from),
        (
            "memory",
            SettingSource::Preset {
                preset: String::from("temporary")
            }
        )
    );
    assert_eq!(
        source(&manager, "cfg-layers", "enabled").1,
        SettingSource::BuiltIn
    );
    let (_, declared) = source(&Arc::new(manager.clone()), "cfg-plain", "ttl");
    match declared {
        SettingSource::Declaration { site } => {
            assert!(site.starts_with("tests/tests/config_dynamic.rs:"), "{site}")
        }
        other => panic!("{other:?}"),
    }

    // A run-time change is the top layer; unset, the file's value is back.
    manager
        .configure_blocking(change().set("cfg-layers", "max_entries", 250))
        .expect("change");
    assert_eq!(
        source(&manager, "cfg-layers", "max_entries"),
        (String::from("250"), SettingSource::Runtime)
    );
    let text = manager.explain("cfg-layers").expect("explain").to_string();
    assert!(text.contains("max_entries = 250"), "{text}");
    assert!(text.contains("<- run-time change"), "{text}");
    assert!(
        text.contains("<- environment variable CACHE_REGION__CFG_LAYERS__TTL"),
        "{text}"
    );
    manager
        .configure_blocking(change().unset("cfg-layers", "max_entries"))
        .expect("unset");
    assert_eq!(source(&manager, "cfg-layers", "max_entries").0, "300");
    drop(manager);

    // Without the environment, the file's ttl shows; without the file, the
    // higher provider's.
    let manager = builder(&scratch)
        .config_file(&file)
        .config_file_poll(None)
        .build()
        .expect("manager");
    assert_eq!(source(&manager, "cfg-layers", "ttl").0, "4m");
    drop(manager);
    let manager = builder(&scratch).build().expect("manager");
    assert_eq!(
        source(&manager, "cfg-layers", "ttl"),
        (
            String::from("3m"),
            SettingSource::Provider {
                name: String::from("cfg-high"),
                priority: 9
            }
        )
    );
}

/// `(change, the message's expected parts)`: each change is refused whole,
/// with an error naming region, field and value.
fn invalid_changes() -> Vec<(ConfigChange, &'static [&'static str])> {
    vec![
        (
            change().set("cfg-plian", "ttl", "1m"),
            &[
                "region `cfg-plian`",
                "no region is called `cfg-plian`; did you mean `cfg-plain`?",
            ],
        ),
        (
            change().set("", "ttl", "1m"),
            &[
                "region ``, field `ttl` = \"1m\"",
                "cannot be a region name",
                "regions here:",
            ],
        ),
        (
            change().set("cfg-plain", "tll", "1m"),
            &["field `tll`", "unknown field `tll`; did you mean `ttl`?"],
        ),
        (
            change().unset("cfg-plain", "colour"),
            &["field `colour`", "unknown field `colour`"],
        ),
        (
            change().set("cfg-plain", "ttl", "5 mins"),
            &[
                "field `ttl` = \"5 mins\"",
                "is not a valid duration",
                "unknown unit `mins`",
                "accepted: a duration",
            ],
        ),
        (
            change().set("cfg-plain", "ttl", "0s"),
            &[
                "= \"0s\"",
                "duration must be greater than zero",
                "or \"none\" for no expiry",
            ],
        ),
        (
            change().set("cfg-plain", "ttl", "40000d"),
            &["= \"40000d\"", "longer than 100 years"],
        ),
        (
            change().set("cfg-plain", "ttl", "-5m"),
            &["= \"-5m\"", "expected a number"],
        ),
        (
            change().set("cfg-plain", "ttl", "90"),
            &["= \"90\"", "has no unit"],
        ),
        (
            change().set("cfg-plain", "ttl", "30m1h"),
            &["= \"30m1h\"", "largest first"],
        ),
        (
            change().set("cfg-plain", "tti", "1h"),
            &[
                "field `tti` = \"1h\"",
                "tti (1h) is longer than ttl (10m)",
                "ttl = 10m from declaration at",
            ],
        ),
        (
            change().set("cfg-plain", "tti", "soon"),
            &["field `tti` = \"soon\"", "is not a valid duration"],
        ),
        (
            change().set("cfg-plain", "max_entries", 0),
            &[
                "field `max_entries` = \"0\"",
                "0 entries would store nothing",
                "enabled = false",
            ],
        ),
        (
            change().set("cfg-plain", "max_entries", "ten"),
            &[
                "= \"ten\"",
                "is not a whole number",
                "accepted: a whole number of entries",
            ],
        ),
        (
            change().set("cfg-plain", "max_entries", "-1"),
            &["= \"-1\"", "is not a whole number"],
        ),
        (
            change().set("cfg-plain", "max_bytes", "64 MegaBytes"),
            &["field `max_bytes` = \"64 MegaBytes\"", "unknown size unit"],
        ),
        (
            change().set("cfg-plain", "max_bytes", "0"),
            &[
                "field `max_bytes` = \"0\"",
                "size must be greater than zero",
            ],
        ),
        (
            change()
                .set("cfg-plain", "max_entries", 10)
                .set("cfg-plain", "max_bytes", "1MiB"),
            &[
                "field `max_bytes` = \"1MiB\"",
                "also sets max_entries",
                "not both",
            ],
        ),
        (
            change().set("cfg-plain", "eviction", "fifo"),
            &[
                "field `eviction` = \"fifo\"",
                "is not an eviction policy",
                "accepted: \"tinylfu\" or \"lru\"",
            ],
        ),
        (
            change().set("cfg-plain", "eviction", "LRU"),
            &["= \"LRU\"", "is not an eviction policy"],
        ),
        (
            change().set("cfg-plain", "compression", "gzip"),
            &[
                "field `compression` = \"gzip\"",
                "\"gzip\" is not a codec",
                "\"zstd:4KiB\"",
            ],
        ),
        (
            change().set("cfg-plain", "compression", "none:4KiB"),
            &["= \"none:4KiB\"", "threshold without a codec"],
        ),
        (
            change().set("cfg-plain", "compression", "lz4:lots"),
            &["\"lots\" is not a valid threshold"],
        ),
        (
            change().set("cfg-plain", "enabled", "maybe"),
            &[
                "field `enabled` = \"maybe\"",
                "is not true or false",
                "accepted: true or false",
            ],
        ),
        (
            change().set("cfg-plain", "enabled", "yes"),
            &["= \"yes\"", "is not true or false"],
        ),
        (
            change().set("cfg-plain", "sensitive", true),
            &[
                "field `sensitive` = \"true\"",
                "`sensitive` cannot change while the region is open",
                "restart",
            ],
        ),
        (
            change().set("cfg-plain", "tier", "disk"),
            &[
                "field `tier` = \"disk\"",
                "`tier` cannot change while the region is open (it is memory",
            ],
        ),
        (
            change().set("cfg-plain", "tier", "cloud"),
            &[
                "= \"cloud\"",
                "is not a tier",
                "\"memory\", \"disk\", \"redis\", \"hybrid\" or \"backend\"",
            ],
        ),
        (
            change().set("cfg-plain", "version", 2),
            &["field `version` = \"2\"", "`version` cannot change"],
        ),
        (
            change().set("cfg-plain", "version", 0),
            &["= \"0\"", "version 0 is not a version"],
        ),
        (
            change().set("cfg-secret", "sensitive", false),
            &[
                "region `cfg-secret`, field `sensitive` = \"false\"",
                "cannot change",
            ],
        ),
        (
            change().set("cfg-secret", "tier", "disk"),
            &[
                "region `cfg-secret`, field `sensitive`",
                "a sensitive region must stay in memory, but its tier is \"disk\"",
            ],
        ),
        (
            change().set("cfg-secret", "tier", "redis"),
            &[
                "a sensitive region must stay in memory, but its tier is \"redis\"",
                "needs a Redis connection",
            ],
        ),
        (
            change().set("cfg-plain", "memory_ttl", "1m"),
            &[
                "field `memory_ttl` = \"1m\"",
                "memory_ttl only applies to tier = \"hybrid\"",
            ],
        ),
        (
            change().set("cfg-hybrid", "memory_ttl", "0s"),
            &[
                "region `cfg-hybrid`, field `memory_ttl` = \"0s\"",
                "greater than zero",
            ],
        ),
        (
            change().set("cfg-disk", "fail_safe", "30s"),
            &[
                "region `cfg-disk`, field `fail_safe` = \"30s\"",
                "fail_safe keeps expired entries in memory",
                "tier is \"disk\"",
            ],
        ),
        (
            change().set("cfg-plain", "fail_safe", "soon"),
            &["field `fail_safe` = \"soon\"", "or \"off\""],
        ),
    ]
}

#[test]
fn every_invalid_change_is_refused_whole_with_its_message() {
    let scratch = Scratch::new("config", "invalid");
    let manager = builder(&scratch).build().expect("manager");
    let plain = manager.region::<Plain>().expect("plain");
    plain.insert_blocking("kept".into(), "value".into());
    let before: Vec<RegionSettings> = ["cfg-plain", "cfg-secret", "cfg-disk", "cfg-hybrid"]
        .iter()
        .map(|name| manager.settings(name).expect("settings"))
        .collect();
    let cases = invalid_changes();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for (change, expected) in cases {
        // A valid field in the same change is not applied either.
        let change = change.set("cfg-plain", "max_entries", 77);
        let error = manager
            .configure_blocking(change.clone())
            .expect_err(&format!("{change:?} must be refused"));
        let message = error.to_string();
        assert!(matches!(error, ConfigError::Invalid { .. }), "{message}");
        assert!(
            message.starts_with("configuration rejected, nothing applied: "),
            "{message}"
        );
        for part in expected {
            assert!(
                message.contains(part),
                "{change:?}\n  expected {part:?}\n  in {message}"
            );
        }
        assert!(!error.problems().is_empty());
        let after: Vec<RegionSettings> = ["cfg-plain", "cfg-secret", "cfg-disk", "cfg-hybrid"]
            .iter()
            .map(|name| manager.settings(name).expect("settings"))
            .collect();
        assert_eq!(after, before, "nothing applied for {change:?}");
    }
    assert_eq!(manager.config_version(), 0);
    assert!(manager.history_blocking().expect("history").is_empty());
    assert_eq!(plain.get_blocking(&"kept".into()).as_deref(), Some("value"));
}

#[test]
fn a_valid_change_applies_whole_and_is_recorded() {
    let scratch = Scratch::new("config", "valid");
    let manager = builder(&scratch).build().expect("manager");
    let mut events = manager.subscribe();
    let record = manager
        .configure_blocking(
            ConfigChange::new("ops:alice", "incident 42")
                .set("cfg-plain", "ttl", "20m")
                .set("cfg-plain", "eviction", "lru")
                .set("cfg-plain", "max_bytes", "8MiB"),
        )
        .expect("applied");
    assert_eq!(record.version, 1);
    assert_eq!(record.actor, "ops:alice");
    assert_eq!(record.reason, "incident 42");
    assert_eq!(record.kind, ChangeKind::Change);
    assert!(record.at_unix_ms > 0);
    let changes: Vec<(String, String, String)> = record
        .changes
        .iter()
        .map(|c| (c.field.to_string(), c.before.clone(), c.after.clone()))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("ttl".into(), "10m".into(), "20m".into()),
            ("max_entries".into(), "10000".into(), "none".into()),
            ("max_bytes".into(), "none".into(), "8MiB".into()),
            ("eviction".into(), "tinylfu".into(), "lru".into()),
        ]
    );
    let settings = manager.settings("cfg-plain").expect("settings");
    assert_eq!(settings.ttl, Some(Duration::from_secs(1200)));
    assert_eq!(settings.max_bytes, Some(8 << 20));
    assert_eq!(settings.max_entries, None);
    assert_eq!(settings.eviction, Eviction::Lru);
    let event = events.try_recv().expect("event");
    assert_eq!(&*event.region, "cfg-plain");
    assert_eq!(event.kind, EventKind::ConfigChange { version: 1 });
    let detail = event.detail.expect("detail");
    assert!(detail.contains("ttl: 10m -> 20m"), "{detail}");
    assert_eq!(manager.history_blocking().expect("history"), vec![record]);
}

#[test]
fn a_change_made_against_an_old_version_is_refused_and_changes_nothing() {
    let scratch = Scratch::new("config", "stale");
    let manager = builder(&scratch).build().expect("manager");
    let first = manager
        .configure_blocking(change().if_version(0).set("cfg-plain", "ttl", "20m"))
        .expect("version 0 is current");
    assert_eq!(first.version, 1);
    let error = manager
        .configure_blocking(change().if_version(0).set("cfg-plain", "ttl", "30m"))
        .expect_err("version 0 is no longer current");
    assert!(
        matches!(
            error,
            ConfigError::StaleVersion {
                expected: 0,
                current: 1
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("version 1"), "{error}");
    let settings = manager.settings("cfg-plain").expect("settings");
    assert_eq!(settings.ttl, Some(Duration::from_secs(1200)));
    assert_eq!(manager.history_blocking().expect("history").len(), 1);
}

#[test]
fn resizing_under_load_keeps_the_hottest_and_never_fails_a_reader() {
    let scratch = Scratch::new("config", "resize");
    let manager = builder(&scratch)
        .latency_sample_every(1)
        .build()
        .expect("manager");
    let region = manager.region::<Resized>().expect("region");
    for key in 0..1000u64 {
        region.insert_blocking(key, key * 2);
    }
    // Keys 0..100 are hot.
    for _ in 0..30 {
        for key in 0..100u64 {
            assert_eq!(region.get_blocking(&key), Some(key * 2));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let misses = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            let region = region.clone();
            let stop = Arc::clone(&stop);
            let misses = Arc::clone(&misses);
            let reads = Arc::clone(&reads);
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(SeqCst) {
                    let key = (round * 7 + worker) % 100;
                    match region.get_blocking(&key) {
                        Some(value) => assert_eq!(value, key * 2),
                        None => {
                            misses.fetch_add(1, SeqCst);
                        }
                    }
                    // Loads through the single flight and plain writes of
                    // hot keys, racing the rebuild.
                    let loaded = region.get_or_insert_with_blocking(key, || key * 2);
                    assert_eq!(loaded, key * 2);
                    if round.is_multiple_of(10) {
                        region.insert_blocking(key, key * 2);
                    }
                    reads.fetch_add(1, SeqCst);
                    round += 1;
                }
            })
        })
        .collect();
    while reads.load(SeqCst) < 2_000 {
        std::thread::yield_now();
    }
    let record = manager
        .configure_blocking(change().set("cfg-resize", "max_entries", 200))
        .expect("shrink");
    assert_eq!(record.changes[0].after, "200");
    let after_swap = reads.load(SeqCst);
    while reads.load(SeqCst) < after_swap + 2_000 {
        std::thread::yield_now();
    }
    stop.store(true, SeqCst);
    for worker in workers {
        worker.join().expect("no reader panicked");
    }
    assert_eq!(
        misses.load(SeqCst),
        0,
        "a hot key went missing during the swap"
    );
    region.run_pending_tasks();
    for key in 0..100u64 {
        assert_eq!(
            region.get_blocking(&key),
            Some(key * 2),
            "hot key {key} kept"
        );
    }
    region.run_pending_tasks();
    assert!(
        region.len().is_some_and(|n| n <= 200),
        "{:?} entries",
        region.len()
    );
    let stats = manager.stats("cfg-resize").expect("stats");
    assert!(stats.evictions.size >= 800, "{:?}", stats.evictions);

    // Growing keeps everything; switching eviction policy too.
    manager
        .configure_blocking(change().set("cfg-resize", "max_entries", 5000).set(
            "cfg-resize",
            "eviction",
            "lru",
        ))
        .expect("grow");
    region.run_pending_tasks();
    let kept = region.len().expect("a memory region counts");
    for key in 0..100u64 {
        assert_eq!(region.get_blocking(&key), Some(key * 2));
    }
    for key in 1000..3000u64 {
        region.insert_blocking(key, key);
    }
    region.run_pending_tasks();
    assert_eq!(region.len(), Some(kept + 2000));
}

#[test]
fn a_shorter_ttl_applies_to_entries_already_cached() {
    let scratch = Scratch::new("config", "ttl");
    let manager = builder(&scratch).build().expect("manager");
    let region = manager.region::<Timed>().expect("region");
    region.insert_blocking("a".into(), "1".into());
    region.insert_with_ttl_blocking("own".into(), "2".into(), Duration::from_secs(3600));
    manager
        .configure_blocking(change().set("cfg-ttl", "ttl", "200ms"))
        .expect("ttl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while region.get_blocking(&"a".into()).is_some() {
        assert!(Instant::now() < deadline, "the old entry never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        region.get_blocking(&"own".into()).as_deref(),
        Some("2"),
        "an entry with its own TTL keeps it"
    );
}

/// A region declared without TTL has no per-entry expiry in its memory
/// cache; a TTL set at run time rebuilds the cache with one, and the
/// entries already held expire by it; removing the TTL again keeps what is
/// left.
#[test]
fn a_ttl_set_on_a_region_without_one_applies_to_entries_already_cached() {
    let scratch = Scratch::new("config", "ttl-late");
    let manager = builder(&scratch).build().expect("manager");
    let region = manager.region::<Untimed>().expect("region");
    for i in 0..100 {
        region.insert_blocking(format!("old{i}"), "1".into());
    }
    manager
        .configure_blocking(change().set("cfg-untimed", "ttl", "300ms"))
        .expect("ttl");
    assert_eq!(region.get_blocking(&"old7".into()).as_deref(), Some("1"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while (0..100).any(|i| region.get_blocking(&format!("old{i}")).is_some()) {
        assert!(Instant::now() < deadline, "the old entries never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    region.insert_blocking("new".into(), "2".into());
    manager
        .configure_blocking(change().set("cfg-untimed", "ttl", "none"))
        .expect("no ttl");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        region.get_blocking(&"new".into()).as_deref(),
        Some("2"),
        "with the TTL gone, the entry stays"
    );
}

#[test]
fn a_disabled_region_passes_reads_to_the_loader_and_stores_nothing() {
    let scratch = Scratch::new("config", "disabled");
    let manager = builder(&scratch).build().expect("manager");
    let region = manager.region::<Switched>().expect("region");
    region.insert_blocking(1, 10);
    manager
        .configure_blocking(change().set("cfg-switch", "enabled", false))
        .expect("disable");
    let calls = AtomicU64::new(0);
    for _ in 0..3 {
        let value = region.get_or_insert_with_blocking(2, || {
            calls.fetch_add(1, SeqCst);
            20
        });
        assert_eq!(value, 20);
    }
    assert_eq!(calls.load(SeqCst), 3, "the loader runs on every read");
    assert_eq!(region.get_blocking(&2), None);
    region.insert_blocking(3, 30);
    assert_eq!(region.get_blocking(&3), None, "nothing is stored");
    assert_eq!(region.get_blocking(&1), None, "reads pass through");
    manager
        .configure_blocking(change().set("cfg-switch", "enabled", true))
        .expect("enable");
    assert_eq!(
        region.get_blocking(&1),
        Some(10),
        "entries from before serve again"
    );
    assert_eq!(region.get_blocking(&3), None);
}

#[test]
fn rollback_restores_exactly_that_configuration() {
    let scratch = Scratch::new("config", "rollback");
    let file = scratch.path().join("cache.toml");
    std::fs::write(&file, "[regions.cfg-plain]\nmax_entries = 900\n").expect("file");
    let manager = builder(&scratch)
        .config_file(&file)
        .config_file_poll(None)
        .build()
        .expect("manager");
    let all = |manager: &CacheManager| -> Vec<RegionSettings> {
        manager
            .region_names()
            .iter()
            .map(|name| manager.settings(name).expect("settings"))
            .collect()
    };
    let at_start = all(&manager);
    manager
        .configure_blocking(change().set("cfg-plain", "ttl", "20m"))
        .expect("v1");
    let at_v1 = all(&manager);
    manager
        .configure_blocking(
            change()
                .set("cfg-plain", "max_entries", 300)
                .set("cfg-ttl", "tti", "5m"),
        )
        .expect("v2");
    // v3: the file changes a field too.
    std::fs::write(
        &file,
        "[regions.cfg-plain]\nmax_entries = 900\neviction = \"lru\"\n",
    )
    .expect("edit");
    let v3 = manager
        .reload_config_file_blocking()
        .expect("reload")
        .expect("a version");
    assert_eq!(v3.version, 3);
    assert!(matches!(v3.kind, ChangeKind::File { .. }));
    manager
        .configure_blocking(
            change()
                .set("cfg-plain", "ttl", "1h")
                .unset("cfg-plain", "max_entries"),
        )
        .expect("v4");
    assert_ne!(all(&manager), at_v1);

    let back = manager
        .rollback_blocking(1, "ops:bob", "undo")
        .expect("rollback");
    assert_eq!(back.version, 5);
    assert_eq!(back.kind, ChangeKind::Rollback { to: 1 });
    assert_eq!(
        all(&manager),
        at_v1,
        "exactly the configuration of version 1"
    );
    assert_eq!(
        manager.settings("cfg-plain").expect("plain").eviction,
        Eviction::TinyLfu
    );

    manager
        .rollback_blocking(0, "ops:bob", "all the way")
        .expect("rollback 0");
    assert_eq!(all(&manager), at_start);
    let error = manager
        .rollback_blocking(42, "ops:bob", "typo")
        .expect_err("unknown");
    assert!(
        error.to_string().contains("no configuration version 42"),
        "{error}"
    );
    assert_eq!(manager.history_blocking().expect("history").len(), 6);
}

#[test]
fn overrides_and_history_survive_a_restart() {
    let scratch = Scratch::new("config", "restart");
    let manager = builder(&scratch).build().expect("manager");
    manager
        .configure_blocking(change().set("cfg-plain", "ttl", "25m"))
        .expect("v1");
    manager
        .configure_blocking(change().set("cfg-plain", "eviction", "lru"))
        .expect("v2");
    let history = manager.history_blocking().expect("history");
    manager.shutdown().expect("shutdown");
    drop(manager);

    let manager = builder(&scratch).build().expect("restarted");
    assert_eq!(manager.config_version(), 2);
    let settings = manager.settings("cfg-plain").expect("settings");
    assert_eq!(settings.ttl, Some(Duration::from_secs(25 * 60)));
    assert_eq!(settings.eviction, Eviction::Lru);
    assert_eq!(manager.history_blocking().expect("history"), history);
    assert_eq!(
        source(&manager, "cfg-plain", "ttl").1,
        SettingSource::Runtime
    );
    let next = manager
        .configure_blocking(change().set("cfg-plain", "ttl", "30m"))
        .expect("v3");
    assert_eq!(next.version, 3);
}

#[test]
fn the_config_file_is_watched_good_edits_apply_bad_ones_are_rejected() {
    let scratch = Scratch::new("config", "watch");
    let file = scratch.path().join("cache.toml");
    std::fs::write(&file, "[regions.cfg-plain]\nttl = \"10m\"\n").expect("file");
    let manager = builder(&scratch)
        .config_file(&file)
        .config_file_poll(Some(Duration::from_millis(50)))
        .build()
        .expect("manager");
    let mut events = manager.subscribe();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "{what} never happened");
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    std::fs::write(
        &file,
        "[regions.cfg-plain]\nttl = \"20m\"\nmax_entries = 50\n",
    )
    .expect("good edit");
    wait_for("the good edit", &|| {
        manager.settings("cfg-plain").expect("settings").ttl == Some(Duration::from_secs(1200))
    });
    assert_eq!(
        manager.settings("cfg-plain").expect("settings").max_entries,
        Some(50)
    );
    let event = events.blocking_recv().expect("event");
    assert_eq!(event.kind, EventKind::ConfigChange { version: 1 });
    assert!(
        event
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("ttl: 10m -> 20m")
    );
    let history = manager.history_blocking().expect("history");
    assert!(matches!(history[0].kind, ChangeKind::File { .. }));
    assert_eq!(history[0].actor, "config file");

    for (bad, expected) in [
        (
            "[regions.cfg-plain]\nttl = \"20 minutes\"\n",
            "field `ttl` = \"20 minutes\"",
        ),
        ("[regions.cfg-plain]\nttl = \n", "is not valid TOML: line 2"),
        (
            "[regions.cfg-plian]\nttl = \"1m\"\n",
            "did you mean `cfg-plain`?",
        ),
        (
            "[regions.cfg-plain]\ntier = \"disk\"\n",
            "`tier` cannot change",
        ),
    ] {
        std::fs::write(&file, bad).expect("bad edit");
        let event = loop {
            let event = events.blocking_recv().expect("event");
            if event.kind == EventKind::ConfigRejected {
                break event;
            }
        };
        let detail = event.detail.expect("detail");
        assert!(detail.contains(expected), "{expected:?} in {detail}");
        let settings = manager.settings("cfg-plain").expect("settings");
        assert_eq!(
            settings.ttl,
            Some(Duration::from_secs(1200)),
            "the running config stays"
        );
        assert_eq!(settings.max_entries, Some(50));
    }
    assert_eq!(manager.config_version(), 1);
    assert!(!manager.config_warnings().is_empty());
}

#[test]
fn bad_start_up_configuration_is_refused_with_every_problem() {
    let scratch = Scratch::new("config", "startup");
    let file = scratch.path().join("cache.toml");
    std::fs::write(
        &file,
        "[regions.cfg-plain]\nttl = \"5 mins\"\ncolour = \"red\"\n[regions.cfg-secret]\ntier = \"disk\"\n[cache]\nx = 1\n",
    )
    .expect("file");
    let error = builder(&scratch)
        .config_file(&file)
        .config_env_prefix("CACHE_REGION__")
        .config_env_vars([
            (
                String::from("CACHE_REGION__CFG_PLAIN__MAX_ENTRIES"),
                String::from("lots"),
            ),
            (String::from("CACHE_REGION__NOPE__TTL"), String::from("1m")),
        ])
        .build()
        .expect_err("refused");
    let message = error.to_string();
    for part in [
        "region `cfg-plain`, field `ttl` = \"5 mins\" (config file",
        "region `cfg-plain`, field `colour`",
        "unknown top-level key `cache`",
        "region `cfg-plain`, field `max_entries` = \"lots\" (environment variable CACHE_REGION__CFG_PLAIN__MAX_ENTRIES)",
        "no region is called `nope`",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    // The sensitive rule at start-up (the file's other problems aside).
    let error = start_up_error(&scratch, "[regions.cfg-secret]\ntier = \"disk\"\n");
    assert!(
        error.contains("a sensitive region must stay in memory, but its tier is \"disk\""),
        "{error}"
    );
    // A corrupt state file is an error, not silently empty.
    std::fs::write(scratch.path().join("config-state.json"), "{not json").expect("state");
    let error = builder(&scratch).build().expect_err("refused");
    assert!(error.to_string().contains("config-state.json"), "{error}");
}

#[test]
fn saved_overrides_that_no_longer_fit_a_region_added_later_are_set_aside() {
    let scratch = Scratch::new("config", "late");
    let late = |ttl: u64| {
        cache_runtime::RegionDescriptor::builder("cfg-late")
            .ttl(Duration::from_secs(ttl))
            .build()
            .expect("descriptor")
    };
    let manager = builder(&scratch)
        .region(late(3600))
        .build()
        .expect("manager");
    manager
        .configure_blocking(change().set("cfg-late", "tti", "30m"))
        .expect("v1");
    drop(manager);

    // Restarted without the region; it is added later with a shorter TTL,
    // which the saved tti no longer fits.
    let manager = builder(&scratch).build().expect("restarted");
    assert!(manager.config_warnings().is_empty());
    manager.add_region(late(600)).expect("added");
    let settings = manager.settings("cfg-late").expect("settings");
    assert_eq!(settings.tti, None, "the saved override is set aside");
    let warnings = manager.config_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].to_string();
    assert!(
        warning.contains("tti (30m) is longer than ttl (10m)")
            && warning.contains("saved run-time override not applied"),
        "{warning}"
    );
}

/// A size limit is enforced by a memory level: a disk or Redis region has
/// none by default (shown as `none`, not a figure it ignores), and setting
/// one there is refused with region, field, value and what to do instead.
#[test]
fn limits_only_where_a_memory_level_enforces_them() {
    let scratch = Scratch::new("config", "limits");
    let manager = builder(&scratch).build().expect("manager");
    let disk = manager.settings("cfg-disk").expect("disk");
    assert_eq!((disk.max_entries, disk.max_bytes), (None, None));
    assert!(
        manager
            .explain("cfg-disk")
            .expect("explain")
            .to_string()
            .contains("max_entries = none"),
        "the table shows no limit"
    );
    let hybrid = manager.settings("cfg-hybrid").expect("hybrid");
    assert_eq!(hybrid.max_entries, Some(10_000), "the memory level's limit");

    for (field, value) in [("max_entries", "500"), ("max_bytes", "1MiB")] {
        let error = manager
            .configure_blocking(change().set("cfg-disk", field, value))
            .expect_err("no memory level to enforce it");
        let message = error.to_string();
        assert!(
            message.contains(&format!("region `cfg-disk`, field `{field}`"))
                && message.contains("has none")
                && message.contains("tier = \"hybrid\""),
            "{message}"
        );
    }
    // Moving a memory region to disk at start-up with its declared limit:
    // refused the same way.
    let error = start_up_error(&scratch, "[regions.cfg-resize]\ntier = \"disk\"\n");
    assert!(
        error.contains("max_entries is enforced by a memory level"),
        "{error}"
    );
    let file = scratch.path().join("cache.toml");
    // ... and accepted once the limit goes too.
    std::fs::write(
        &file,
        "[regions.cfg-resize]\ntier = \"disk\"\nmax_entries = \"none\"\n",
    )
    .expect("file");
    let manager = builder(&scratch)
        .config_file(&file)
        .build()
        .expect("accepted");
    assert_eq!(
        manager
            .settings("cfg-resize")
            .expect("settings")
            .max_entries,
        None
    );
}

/// Every refusal names region, field, value and what is accepted; input is
/// escaped before it reaches a message; numbers are read as Rust writes
/// them; environment variables match a region in either case.
#[test]
fn refusals_name_everything_and_escape_what_they_copy() {
    let scratch = Scratch::new("config", "messages");
    let manager = builder(&scratch).build().expect("manager");

    // An empty region name: why it is no name, the field and value, and
    // the names this manager has.
    let message = manager
        .configure_blocking(change().set("", "ttl", "10m"))
        .expect_err("no such region")
        .to_string();
    for part in [
        "region ``, field `ttl` = \"10m\"",
        "cannot be a region name",
        "regions here: cfg-",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }

    // Control characters and bidi overrides from input are escaped.
    let message = manager
        .configure_blocking(change().set("cfg-plain\u{202e}\n", "ttl\u{1b}[2J", "1m"))
        .expect_err("no such region")
        .to_string();
    assert!(
        !message.contains('\u{202e}') && !message.contains('\n') && !message.contains('\u{1b}'),
        "{message:?}"
    );
    assert!(message.contains("cfg-plain\\u{202e}\\u{a}"), "{message}");
    let message = manager
        .configure_blocking(change().set("cfg-plain", "ttl", "1m\u{2066}"))
        .expect_err("not a duration")
        .to_string();
    assert!(
        message.contains("1m\\u{2066}") && !message.contains('\u{2066}'),
        "{message}"
    );

    // Underscores only between digits.
    for bad in ["1_0_", "_10", "1__0", "+5", "1 0"] {
        let message = manager
            .configure_blocking(change().set("cfg-plain", "max_entries", bad))
            .expect_err("not a number")
            .to_string();
        assert!(
            message.contains("region `cfg-plain`, field `max_entries`")
                && message.contains("is not a whole number")
                && message.contains("10_000"),
            "{bad}: {message}"
        );
    }
    manager
        .configure_blocking(change().set("cfg-plain", "max_entries", "10_000"))
        .expect("grouped digits");
    assert!(
        manager
            .configure_blocking(change().set("cfg-plain", "max_bytes", "1_048_576"))
            .is_ok(),
        "grouped digits in a size"
    );
    assert!(
        manager
            .configure_blocking(change().set("cfg-plain", "max_bytes", "64_MiB"))
            .is_err(),
        "an underscore before the unit"
    );
    // `explain` says the one-limit rule cleared max_entries, not that a
    // layer set it to none.
    assert_eq!(
        source(&manager, "cfg-plain", "max_entries"),
        (
            String::from("none"),
            SettingSource::LimitReplaced {
                by: String::from("max_bytes"),
                source: Box::new(SettingSource::Runtime)
            }
        )
    );
    assert!(
        manager
            .explain("cfg-plain")
            .expect("explain")
            .to_string()
            .contains("cleared: max_bytes set by run-time change replaces it"),
        "the table says so"
    );

    // Lower-case variables name their region too.
    let manager = builder(&Scratch::new("config", "messages-env"))
        .config_env_prefix("CACHE_REGION__")
        .config_env_vars([
            (
                String::from("CACHE_REGION__cfg_plain__ttl"),
                String::from("7m"),
            ),
            (
                String::from("CACHE_REGION__cfg-ttl__TTL"),
                String::from("8m"),
            ),
        ])
        .build()
        .expect("lower case accepted");
    assert_eq!(
        manager.settings("cfg-plain").expect("settings").ttl,
        Some(Duration::from_secs(420))
    );
    assert_eq!(
        manager.settings("cfg-ttl").expect("settings").ttl,
        Some(Duration::from_secs(480))
    );
}
