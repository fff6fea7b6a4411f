//! Settings applied to running stores ([`RegionStore::reconfigure`]): the
//! timing settings re-time entries in place, limits and eviction rebuild
//! the memory level while it is used, `enabled`, compression and fail-safe
//! apply at once.
//!
//! Timings are generous: an assertion never depends on a sleep being
//! short, only on it being at least as long as asked.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cache_spec::{Codec, Compression, Eviction, RegionSettings, Tier};

use super::{RegionStore, StoreContext};
use crate::block_on::block_on;
use crate::descriptor::RegionDescriptor;
use crate::envelope::{SystemClock, ValueFormat};
use crate::kit::RegionCodecs;
use crate::manager::event::{EventKind, Events};
use crate::stats::{EvictionCause, RegionStats, Sampling, Settings, StatsSnapshot};

const MS: Duration = Duration::from_millis(1);

/// A folder of its own under the temp folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "cache-live-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The settings of a memory region of `max_entries` entries.
fn memory(max_entries: u64) -> RegionSettings {
    RegionSettings {
        max_entries: Some(max_entries),
        ..RegionSettings::DEFAULT
    }
}

/// A store for `settings`, timing every get (so every hit feeds the
/// hotness sketch), with its events channel.
fn open_with<K, V>(
    name: &'static str,
    settings: RegionSettings,
    codecs: RegionCodecs<K, V>,
    disk_root: PathBuf,
) -> (Arc<RegionStore<K, V>>, Events)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let events = Events::new(4_096);
    let context = StoreContext {
        descriptor: RegionDescriptor::builder(name)
            .build()
            .expect("a valid region"),
        settings,
        name: Arc::from(name),
        stats: Arc::new(RegionStats::with_settings(
            name.to_owned(),
            &Settings::new(Sampling::Every(1), Arc::new(SystemClock)),
        )),
        events: events.clone(),
        disk_root,
        write_behind: 0,
        temp_grace: None,
        value_format: ValueFormat::Json,
        redis: None,
        backends: crate::backend::Backends::default(),
    };
    let store = RegionStore::open_shared(&context, codecs).expect("the store opens");
    (store, events)
}

fn open(settings: RegionSettings) -> Arc<RegionStore<u64, u64>> {
    open_with(
        "live-test",
        settings,
        RegionCodecs::plain(),
        std::env::temp_dir(),
    )
    .0
}

fn snapshot<K, V>(store: &RegionStore<K, V>) -> StatsSnapshot
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    store.run_pending_tasks();
    store.stats.snapshot()
}

/// Waits until `done` holds, applying moka's maintenance in between: moka
/// removes (and its listener counts) an entry past its deadline on the
/// first maintenance after its timer wheel's next tick (about a second),
/// not at once (a read misses it at once). Fails after 10 s.
fn until<K, V>(store: &RegionStore<K, V>, what: &str, done: impl Fn(&StatsSnapshot) -> bool)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let start = Instant::now();
    loop {
        let stats = snapshot(store);
        if done(&stats) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not after 10 s ({stats:?})"
        );
        thread::sleep(20 * MS);
    }
}

/// Sleeps at least `duration` (a sleep may last longer, never shorter).
fn sleep(duration: Duration) {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        thread::sleep(until - Instant::now());
    }
}

#[test]
fn a_shortened_ttl_expires_entries_already_held() {
    let settings = RegionSettings {
        ttl: Some(Duration::from_secs(60)),
        ..memory(1_000)
    };
    let store = open(settings);
    for key in 0..100 {
        assert!(store.store(key, key, None));
    }
    // Its own TTL (30 s, under the region's 60 s): not the region's.
    assert!(store.store(1_000, 1, Some(Duration::from_secs(30))));
    sleep(200 * MS);

    let report = store.reconfigure(&RegionSettings {
        ttl: Some(100 * MS),
        ..settings
    });
    assert!(!report.rebuilt);
    assert_eq!(store.settings().ttl, Some(100 * MS));
    for key in 0..100 {
        assert_eq!(store.get(&key), None, "key {key} outlived the new TTL");
    }
    assert_eq!(store.get(&1_000), Some(1), "an entry's own TTL stays");
    until(&store, "100 expired", |stats| {
        stats.evictions.expired == 100
    });
    assert_eq!(snapshot(&*store).removals, 0);
    assert_eq!(store.len(), Some(1));

    // New entries live the new TTL.
    assert!(store.store(7, 7, None));
    assert_eq!(store.get(&7), Some(7));
    sleep(300 * MS);
    assert_eq!(store.get(&7), None);
}

#[test]
fn a_lengthened_ttl_keeps_entries_past_the_old_deadline() {
    let settings = RegionSettings {
        ttl: Some(400 * MS),
        ..memory(1_000)
    };
    let store = open(settings);
    for key in 0..100 {
        store.store(key, key, None);
    }
    // Its own TTL, shorter than the region's old and new ones.
    store.store(1_000, 1, Some(300 * MS));
    store.reconfigure(&RegionSettings {
        ttl: Some(Duration::from_secs(60)),
        ..settings
    });
    sleep(800 * MS);
    for key in 0..100 {
        assert_eq!(
            store.get(&key),
            Some(key),
            "key {key} expired on the old TTL"
        );
    }
    assert_eq!(store.get(&1_000), None, "an entry's own TTL stays");
    until(&store, "the own TTL expired", |stats| {
        stats.evictions.expired == 1
    });
    assert_eq!(store.len(), Some(100));
}

#[test]
fn a_ttl_removed_keeps_entries_for_good() {
    let settings = RegionSettings {
        ttl: Some(300 * MS),
        ..memory(100)
    };
    let store = open(settings);
    store.store(1, 1, None);
    store.reconfigure(&RegionSettings {
        ttl: None,
        ..settings
    });
    sleep(600 * MS);
    assert_eq!(store.get(&1), Some(1));
}

#[test]
fn a_tti_set_live_expires_idle_entries_only() {
    let settings = memory(100);
    let store = open(settings);
    store.store(1, 1, None);
    store.store(2, 2, None);
    store.reconfigure(&RegionSettings {
        tti: Some(300 * MS),
        ..settings
    });
    // Key 1 is read every 50 ms for 900 ms, key 2 never.
    let start = Instant::now();
    while start.elapsed() < 900 * MS {
        assert_eq!(store.get(&1), Some(1), "a key read often went idle");
        sleep(50 * MS);
    }
    assert_eq!(store.get(&2), None, "an idle key stayed");
    until(&store, "idle", |stats| stats.evictions.idle == 1);
    assert_eq!(snapshot(&*store).evictions.expired, 0);

    // And removed again: idle entries stay.
    store.reconfigure(&settings);
    store.store(3, 3, None);
    sleep(600 * MS);
    assert_eq!(store.get(&3), Some(3));
}

#[test]
fn a_shortened_tti_applies_to_entries_held() {
    let settings = RegionSettings {
        tti: Some(Duration::from_secs(60)),
        ..memory(100)
    };
    let store = open(settings);
    store.store(1, 1, None);
    sleep(400 * MS);
    store.reconfigure(&RegionSettings {
        tti: Some(200 * MS),
        ..settings
    });
    // Idle for 400 ms already: past the new TTI. The sweep's own read does
    // not count as a read.
    assert_eq!(store.get(&1), None);
    until(&store, "idle", |stats| stats.evictions.idle == 1);

    // A lengthened one keeps an entry past the old idle deadline.
    store.store(2, 2, None);
    store.reconfigure(&RegionSettings {
        tti: Some(Duration::from_secs(60)),
        ..settings
    });
    sleep(500 * MS);
    assert_eq!(store.get(&2), Some(2));
}

#[test]
fn hits_are_checked_against_new_timing_before_the_sweep_reaches_them() {
    let settings = RegionSettings {
        ttl: Some(Duration::from_secs(60)),
        ..memory(100)
    };
    let store = open(settings);
    store.store(1, 1, None);
    sleep(200 * MS);
    // What reconfigure does before its sweep: the entry's moka deadline is
    // still the old one, a hit must not return it.
    store.live.begin_retime();
    store.live.set_timing(&RegionSettings {
        ttl: Some(100 * MS),
        ..settings
    });
    assert_eq!(store.get(&1), None);
    store.store(2, 2, None);
    assert_eq!(store.get(&2), Some(2));
    store.live.end_retime();
}

#[test]
fn smaller_limits_keep_the_hottest_entries_while_threads_read_and_write() {
    // 900 entries and the threads' 40 keys: all fit before the resize (a
    // new key into a full TinyLFU cache may be refused, which this test
    // does not look at).
    let store = open(memory(1_000));
    for key in 0..900u64 {
        store.store(key, key, None);
    }
    // Keys 0..100 are hot: every get is timed, so every hit is sampled.
    for _ in 0..30 {
        for key in 0..100u64 {
            assert_eq!(store.get(&key), Some(key));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let writes = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let store = Arc::clone(&store);
            let stop = Arc::clone(&stop);
            let rounds = Arc::clone(&rounds);
            let writes = Arc::clone(&writes);
            thread::spawn(move || {
                // Each thread writes its own 10 keys, increasing values.
                let own: Vec<u64> = (0..10).map(|i| 10_000 + thread * 10 + i).collect();
                let mut written = 0u64;
                let mut hot = thread;
                while !stop.load(Ordering::Relaxed) {
                    written += 1;
                    for key in &own {
                        assert!(store.store(*key, written, None));
                        writes.fetch_add(1, Ordering::Relaxed);
                        let read = store.get(key);
                        assert!(
                            read.is_some_and(|value| value >= written),
                            "key {key}: wrote {written}, read {read:?}"
                        );
                    }
                    for _ in 0..10 {
                        hot = (hot + 7) % 100;
                        assert_eq!(store.get(&hot), Some(hot), "hot key {hot} missed");
                    }
                    // A removed key stays removed (nothing older comes
                    // back from the old cache).
                    let gone = 20_000 + thread;
                    store.store(gone, written, None);
                    assert!(store.remove(&gone));
                    assert_eq!(store.get(&gone), None, "a removed key came back");
                    // Cold keys may be dropped; one found is right.
                    let cold = 100 + (written * 13 + thread * 101) % 800;
                    if let Some(value) = store.get(&cold) {
                        assert_eq!(value, cold);
                    }
                    rounds.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while rounds.load(Ordering::Relaxed) < 200 {
        thread::yield_now();
    }
    // Twice: the first rebuild leaves the cache the store opened with, the
    // second one a published cache.
    let first = store.reconfigure(&memory(500));
    assert!(first.rebuilt);
    let before = rounds.load(Ordering::Relaxed);
    while rounds.load(Ordering::Relaxed) < before + 200 {
        thread::yield_now();
    }
    let report = store.reconfigure(&memory(200));
    let before = rounds.load(Ordering::Relaxed);
    while rounds.load(Ordering::Relaxed) < before + 200 {
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().expect("no reader or writer panicked");
    }

    assert!(report.rebuilt);
    // Every old entry was kept or dropped once (a cold key a read promoted
    // is kept beyond the limit, left to moka's policy).
    assert!(first.dropped > 0 && first.kept + first.dropped <= 944);
    assert!(report.rebuilt && report.dropped > 0);
    assert_eq!(store.settings().max_entries, Some(200));
    for key in 0..100u64 {
        assert_eq!(store.get(&key), Some(key), "hot key {key} was dropped");
    }
    let stats = snapshot(&*store);
    assert!(
        store.len().is_some_and(|n| n <= 200),
        "{:?} entries",
        store.len()
    );
    // Dropped entries are size evictions (as are those moka evicted
    // since); the migration's moves count as nothing.
    assert!(stats.evictions.size >= first.dropped + report.dropped);
    let present = (0..900u64).filter(|key| store.get(key).is_some()).count() as u64;
    assert!(present + stats.evictions.size >= 900);
    // The threads' own removals only.
    let writes = writes.load(Ordering::Relaxed);
    let rounds = rounds.load(Ordering::Relaxed);
    assert_eq!(stats.removals, rounds);
    assert_eq!(stats.inserts, 900 + writes + rounds);
}

#[test]
fn a_larger_limit_keeps_everything() {
    let store = open(memory(100));
    for key in 0..100u64 {
        store.store(key, key, None);
    }
    let before = snapshot(&*store);
    let report = store.reconfigure(&memory(1_000));
    assert!(report.rebuilt);
    assert_eq!((report.kept, report.dropped), (100, 0));
    for key in 0..100u64 {
        assert_eq!(store.get(&key), Some(key));
    }
    // Room for more now.
    for key in 100..1_000u64 {
        store.store(key, key, None);
    }
    let after = snapshot(&*store);
    assert_eq!(store.len(), Some(1_000));
    assert_eq!(after.evictions.size, 0);
    assert_eq!(after.removals, before.removals);
    assert_eq!(after.inserts, 1_000, "the migration counted inserts");
}

#[test]
fn tinylfu_to_lru_keeps_entries_and_admits_every_new_one() {
    let store = open(memory(100));
    for key in 0..100u64 {
        store.store(key, key, None);
    }
    let report = store.reconfigure(&RegionSettings {
        eviction: Eviction::Lru,
        ..memory(100)
    });
    assert!(report.rebuilt);
    assert_eq!(report.kept, 100);
    for key in 0..100u64 {
        assert_eq!(store.get(&key), Some(key));
    }
    // LRU admits every new key, evicting the least recently used (TinyLFU
    // would refuse most of these: never read, they lose to known keys).
    for key in 100..200u64 {
        store.store(key, key, None);
        store.run_pending_tasks();
    }
    for key in 100..200u64 {
        assert_eq!(store.get(&key), Some(key), "LRU refused key {key}");
    }
    assert_eq!(store.settings().eviction, Eviction::Lru);
}

#[test]
fn an_entry_limit_becomes_a_byte_limit() {
    let scratch = Scratch::new("bytes");
    let (store, events) = open_with(
        "live-bytes",
        memory(1_000),
        RegionCodecs::<u64, String>::serde(),
        scratch.0.clone(),
    );
    let value = "x".repeat(100);
    // Weighed as the key's size and the value's JSON: 8 + 102.
    let weight = 110;
    for key in 0..100u64 {
        store.store(key, value.clone(), None);
    }
    for _ in 0..10 {
        for key in 0..50u64 {
            assert!(store.get(&key).is_some());
        }
    }
    let mut received = events.subscribe();
    let report = store.reconfigure(&RegionSettings {
        max_entries: None,
        max_bytes: Some(50 * weight),
        ..memory(1_000)
    });
    assert!(report.rebuilt);
    assert_eq!((report.kept, report.dropped), (50, 50));
    for key in 0..50u64 {
        assert!(store.get(&key).is_some(), "hot key {key} was dropped");
    }
    let stats = snapshot(&*store);
    assert_eq!(stats.evictions.size, 50);
    assert_eq!(store.bytes(), Some(50 * weight));
    let mut evicted = HashSet::new();
    while let Ok(event) = received.try_recv() {
        if event.kind
            == (EventKind::Evict {
                cause: EvictionCause::Size,
            })
        {
            evicted.insert(event.key.expect("a text key"));
        }
    }
    let expected: HashSet<String> = (50..100u64).map(|key| key.to_string()).collect();
    assert_eq!(evicted, expected);
}

#[test]
fn a_disabled_region_passes_through_and_stores_nothing() {
    let settings = memory(100);
    let store = open(settings);
    store.store(1, 1, None);
    store.store(2, 2, None);
    let disabled = RegionSettings {
        enabled: false,
        ..settings
    };
    store.reconfigure(&disabled);
    let before = snapshot(&*store);

    assert_eq!(store.get(&1), None);
    assert_eq!(block_on(store.try_get(&1)).expect("no error"), None);
    assert_eq!(
        block_on(store.try_get_many(&[1, 2])).expect("no error"),
        vec![None, None]
    );
    let loads = AtomicU64::new(0);
    for _ in 0..3 {
        let value = store.get_or_insert_with_blocking(&5, || {
            loads.fetch_add(1, Ordering::Relaxed);
            50
        });
        assert_eq!(value, 50);
        let value = block_on(store.get_or_insert_with(&5, || async {
            loads.fetch_add(1, Ordering::Relaxed);
            50
        }));
        assert_eq!(value, 50);
        let failed = block_on(store.try_get_or_insert_with(&6, || async { Err::<u64, _>("no") }));
        assert!(failed.is_err());
    }
    assert_eq!(loads.load(Ordering::Relaxed), 6, "a load was cached");
    // An insert stores nothing and invalidates what was there.
    assert!(!store.store(1, 100, None));
    assert!(!block_on(store.try_store(3, 3, None)).expect("no error"));
    assert_eq!(
        block_on(store.try_store_many(vec![(4, 4), (5, 5)])).expect("no error"),
        0
    );
    let stats = snapshot(&*store);
    assert_eq!(stats.misses - before.misses, 1 + 1 + 2 + 9);
    assert_eq!(stats.hits, before.hits);
    assert_eq!(stats.loads_succeeded - before.loads_succeeded, 6);
    assert_eq!(stats.loads_failed - before.loads_failed, 3);
    assert_eq!(stats.removals - before.removals, 1);
    assert_eq!(stats.inserts, before.inserts);
    // Key 2 stays (and removal keeps working).
    assert_eq!(store.len(), Some(1));
    // A refresh loads and stores nothing; what it reloads goes.
    store.store(9, 9, None);
    store.reconfigure(&settings);
    store.store(9, 9, None);
    store.reconfigure(&disabled);
    store.set_loader(Some(Arc::new(|key: u64| {
        Box::pin(async move { Ok::<u64, crate::provider::BoxError>(key * 10) })
            as super::BoxFuture<'static, _>
    })));
    let report = block_on(store.refresh(Some(vec![9])));
    assert_eq!((report.reloaded, report.invalidated), (0, 1));
    assert_eq!(
        snapshot(&*store).loads_succeeded - before.loads_succeeded,
        7
    );
    assert_eq!(store.len(), Some(1));

    store.reconfigure(&settings);
    assert_eq!(
        store.get(&1),
        None,
        "a value written while disabled resurfaced"
    );
    assert_eq!(store.get(&2), Some(2), "an entry held did not serve again");
    assert_eq!(store.get(&5), None);
    assert!(store.store(5, 5, None));
    assert_eq!(store.get(&5), Some(5));
}

#[test]
fn a_disabled_hybrid_region_invalidates_the_disk_level_too() {
    let scratch = Scratch::new("disabled");
    let settings = RegionSettings {
        tier: Tier::Hybrid,
        ..memory(100)
    };
    let (store, _) = open_with(
        "live-disabled",
        settings,
        RegionCodecs::<u64, String>::serde(),
        scratch.0.clone(),
    );
    store.store(1, "old".into(), None);
    store.store(2, "kept".into(), None);
    store.reconfigure(&RegionSettings {
        enabled: false,
        ..settings
    });
    assert!(!store.store(1, "new".into(), None));
    let disk = store.levels.second().expect("a disk level");
    let read = |key: u64| disk.block_on(disk.read(&key)).ok().flatten();
    assert!(read(1).is_none(), "the disk kept a value written over");
    assert!(read(2).is_some());
    store.reconfigure(&settings);
    assert_eq!(store.get(&1), None);
    assert_eq!(store.get(&2).as_deref(), Some("kept"));
}

#[test]
fn a_compression_change_applies_to_new_disk_writes() {
    let scratch = Scratch::new("compression");
    let settings = RegionSettings {
        tier: Tier::Disk,
        ..RegionSettings::DEFAULT
    };
    let (store, _) = open_with(
        "live-compression",
        settings,
        RegionCodecs::<String, String>::serde(),
        scratch.0.clone(),
    );
    let value = "compressible ".repeat(400);
    store.store("before".into(), value.clone(), None);
    let compressed = Compression {
        codec: Codec::Zstd,
        threshold: 100,
    };
    store.reconfigure(&RegionSettings {
        compression: compressed,
        ..settings
    });
    store.store("after".into(), value.clone(), None);
    // What the disk backend holds for each key is the envelope the region
    // sealed: its header says how the value was compressed.
    let disk = store.levels.second().expect("a disk level");
    let sealed = |key: &str| {
        disk.block_on(disk.backend().get(key))
            .expect("the file reads")
            .unwrap_or_else(|| panic!("no entry {key}"))
    };
    let before = sealed("before");
    let before = crate::envelope::Header::parse(&before).expect("an envelope");
    assert_eq!(before.compression, Codec::None);
    assert_eq!(before.stored_len, before.value_len);
    let after = sealed("after");
    let after = crate::envelope::Header::parse(&after).expect("an envelope");
    if cfg!(feature = "zstd") {
        assert_eq!(after.compression, Codec::Zstd);
        assert!(
            after.stored_len * 4 < after.value_len,
            "{} of {}",
            after.stored_len,
            after.value_len
        );
    } else {
        // Without the codec compiled in, values are stored as they are.
        assert_eq!(after.compression, Codec::None);
    }
    // Both read back, whatever their codec.
    assert_eq!(store.get(&"before".to_owned()), Some(value.clone()));
    assert_eq!(store.get(&"after".to_owned()), Some(value));
}

#[test]
fn a_ttl_change_applies_to_new_disk_writes_only() {
    let scratch = Scratch::new("disk-ttl");
    let settings = RegionSettings {
        tier: Tier::Disk,
        ttl: Some(Duration::from_secs(3_600)),
        ..RegionSettings::DEFAULT
    };
    let (store, _) = open_with(
        "live-disk-ttl",
        settings,
        RegionCodecs::<u64, u64>::serde(),
        scratch.0.clone(),
    );
    store.store(1, 1, None);
    store.reconfigure(&RegionSettings {
        ttl: Some(Duration::from_secs(60)),
        ..settings
    });
    store.store(2, 2, None);
    let disk = store.levels.second().expect("a disk level");
    let left = |key: u64| {
        disk.block_on(disk.read(&key))
            .ok()
            .flatten()
            .and_then(|hit| hit.remaining)
            .expect("a TTL")
    };
    assert!(
        left(1) > Duration::from_secs(3_000),
        "an old file was re-timed"
    );
    assert!(left(2) <= Duration::from_secs(60));
}

#[test]
fn fail_safe_grace_turns_on_and_off_live() {
    let settings = RegionSettings {
        ttl: Some(300 * MS),
        ..memory(100)
    };
    let store = open(settings);
    let failing = || Err::<u64, &str>("source down");
    store.store(1, 1, None);
    // On: an entry stored before keeps its value past its TTL, for the
    // loader's failures.
    let safe = RegionSettings {
        fail_safe: Some(Duration::from_secs(60)),
        ..settings
    };
    store.reconfigure(&safe);
    sleep(600 * MS);
    assert_eq!(store.get(&1), None, "a stale value is not a hit");
    assert_eq!(
        store
            .try_get_or_insert_with_blocking(&1, failing)
            .expect("the stale value"),
        1
    );
    // Off: the stale entry goes at once, counted as expired.
    store.reconfigure(&settings);
    assert!(store.try_get_or_insert_with_blocking(&1, failing).is_err());
    until(&store, "expired", |stats| stats.evictions.expired == 1);
    assert_eq!(store.len(), Some(0));
    // On again, for new entries too.
    store.reconfigure(&safe);
    store.store(2, 2, None);
    sleep(600 * MS);
    assert_eq!(
        store
            .try_get_or_insert_with_blocking(&2, failing)
            .expect("the stale value"),
        2
    );
}

#[test]
fn a_hybrid_memory_ttl_caps_promoted_entries_live() {
    let scratch = Scratch::new("memory-ttl");
    let settings = RegionSettings {
        tier: Tier::Hybrid,
        ttl: Some(Duration::from_secs(3_600)),
        memory_ttl: Some(Duration::from_secs(600)),
        ..memory(100)
    };
    let (store, _) = open_with(
        "live-memory-ttl",
        settings,
        RegionCodecs::<u64, u64>::serde(),
        scratch.0.clone(),
    );
    store.store(1, 1, None);
    // Promoted from disk: its own TTL is the hour the file has left.
    store.store(2, 2, None);
    store.levels.memory().expect("memory").remove(&2);
    assert_eq!(store.get(&2), Some(2));
    store.reconfigure(&RegionSettings {
        memory_ttl: Some(200 * MS),
        ..settings
    });
    sleep(400 * MS);
    // Gone from memory (both), still on disk: served again from there.
    let memory = store.levels.memory().expect("memory");
    assert!(memory.get(&1).is_none());
    assert!(memory.get(&2).is_none());
    assert_eq!(store.get(&1), Some(1));
}
