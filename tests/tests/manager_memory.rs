//! The memory tier as a user of the manager sees it: expiry by age and by
//! idleness (with the cause counted), per-entry TTLs, size limits by count
//! and by weight, LRU and TinyLFU eviction, conditional caching and custom
//! policies, events, untyped access by name (JSON values, paging, pattern
//! clears, the errors tools get), refresh, regions added at run time,
//! presets and the Prometheus text.
//!
//! Each test builds its own manager, so regions start empty. Expiry tests
//! use short TTLs and poll with a deadline: nothing asserts how long
//! anything took, only that an entry never leaves before its time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cache_runtime::{
    CacheError, CacheManager, CachePolicy, RegionDescriptor, RegionHandle, cache_region,
    config::{Eviction, Tier},
    custom_cache_region,
    manager::{CacheEvent, CacheWeight, EntryQuery, EventKind, RegionCodecs},
    stats::EvictionCause,
};
use serde_json::json;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

const TTL: Duration = Duration::from_millis(500);
const SHORT_TTL: Duration = Duration::from_millis(300);
const TTI: Duration = Duration::from_secs(1);
const TTI_TTL: Duration = Duration::from_secs(2);

#[cache_region(name = "mm-ttl", key = String, value = String, ttl = "500ms")]
struct Ttl;

#[cache_region(name = "mm-tti", key = String, value = String, tti = "1s", ttl = "1h")]
struct Tti;

#[cache_region(name = "mm-tti-ttl", key = String, value = String, tti = "1s", ttl = "2s")]
struct TtiTtl;

#[cache_region(name = "mm-entry-ttl", key = String, value = String, ttl = "1h")]
struct EntryTtl;

#[cache_region(name = "mm-max-entries", key = u64, value = u64, max_entries = 10)]
struct MaxEntries;

/// A value that weighs what it holds.
#[derive(Clone)]
struct Blob(Vec<u8>);

impl CacheWeight for Blob {
    fn cache_weight(&self) -> u64 {
        self.0.len() as u64
    }
}

#[cache_region(name = "mm-blobs", key = String, value = Blob, max_bytes = 1000)]
struct Blobs;

#[cache_region(name = "mm-sized", key = u64, value = String, max_bytes = "1000B")]
struct Sized;

#[cache_region(name = "mm-lru", key = String, value = u32, max_entries = 3, eviction = "lru")]
struct Lru;

#[cache_region(name = "mm-tinylfu", key = String, value = u32, max_entries = 3, eviction = "tinylfu")]
struct TinyLfu;

#[cache_region(name = "mm-cache-if", key = String, value = Vec<u32>)]
struct CacheIf;

/// Refuses empty values; values starting with `temp` live [`SHORT_TTL`].
#[derive(Default)]
struct ShortForTemp;

impl CachePolicy<String, String> for ShortForTemp {
    fn admit(&self, _key: &String, value: &String) -> bool {
        !value.is_empty()
    }

    fn expire_after(&self, _key: &String, value: &String) -> Option<Duration> {
        value.starts_with("temp").then_some(SHORT_TTL)
    }
}

#[custom_cache_region(name = "mm-policy", key = String, value = String, policy = ShortForTemp, ttl = "1h")]
struct WithPolicy;

#[custom_cache_region(name = "mm-policy-untimed", key = String, value = String, policy = ShortForTemp)]
struct PolicyNoTtl;

#[cache_region(name = "mm-untimed", key = String, value = String)]
struct NoTtl;

#[cache_region(name = "mm-events", key = String, value = String)]
struct Events;

#[cache_region(name = "mm-secrets", key = String, value = String, sensitive, ttl = "500ms")]
struct Secrets;

#[cache_region(name = "mm-browse-tools", key = String, value = u64)]
struct BrowseTools;

#[cache_region(name = "mm-ids", key = u64, value = String)]
struct Ids;

#[cache_region(name = "mm-globs", key = String, value = u32)]
struct Globs;

#[cache_region(name = "mm-refresh", key = String, value = String)]
struct Refresh;

#[cache_region(name = "mm-temporary", key = String, value = String, preset = "temporary")]
struct Temporary;

#[cache_region(name = "mm-prom", key = String, value = u64)]
struct Prom;

fn manager() -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .build()
        .expect("the manager builds")
}

/// Polls `done` every 20 ms until it holds; fails after 10 s.
fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// The events received so far.
fn drain(events: &mut Receiver<CacheEvent>) -> Vec<CacheEvent> {
    let mut got = Vec::new();
    loop {
        match events.try_recv() {
            Ok(event) => got.push(event),
            Err(TryRecvError::Empty) => return got,
            Err(error) => panic!("event channel: {error}"),
        }
    }
}

/// `(kind, key)` of each event of `region`.
fn kinds(events: &[CacheEvent], region: &str) -> Vec<(EventKind, Option<String>)> {
    events
        .iter()
        .filter(|event| &*event.region == region)
        .map(|event| (event.kind, event.key.clone()))
        .collect()
}

/// The keys a region's entries show, in order.
fn keys_of<V: Clone + Send + Sync + 'static>(handle: &RegionHandle<String, V>) -> Vec<String> {
    let page = handle
        .entries_blocking(&EntryQuery::first(10_000))
        .expect("browsable");
    assert!(page.next.is_none());
    page.entries.into_iter().map(|entry| entry.key).collect()
}

// ---------------------------------------------------------------- expiry

#[test]
fn entries_expire_after_the_region_ttl() {
    let manager = manager();
    let handle = manager.region::<Ttl>().expect("region");
    let stored = Instant::now();
    handle.insert_blocking(s("a"), s("1"));
    // A per-entry TTL longer than the region's is capped by it.
    handle.insert_with_ttl_blocking(s("capped"), s("2"), Duration::from_secs(3600));
    let early = handle.get_blocking(&s("a"));
    let page = handle
        .entries_blocking(&EntryQuery::first(10))
        .expect("browsable");
    if stored.elapsed() < TTL {
        assert_eq!(early.as_deref(), Some("1"));
        assert_eq!(page.entries.len(), 2);
        for entry in &page.entries {
            let left = entry.expires_in_ms.expect("a TTL");
            assert!(
                left <= 500,
                "{} expires in {left} ms, after the region's TTL",
                entry.key
            );
        }
    }
    poll_until("both entries to expire", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.expired >= 2
    });
    assert!(stored.elapsed() >= TTL, "an entry left before its TTL");
    assert_eq!(handle.get_blocking(&s("a")), None);
    assert_eq!(handle.get_blocking(&s("capped")), None);
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.evictions.expired, 2);
    assert_eq!(snapshot.evictions.idle, 0);
    assert_eq!(snapshot.evictions.size, 0);
    assert_eq!(snapshot.removals, 0);
    assert_eq!(snapshot.entries, Some(0));
    assert_eq!(snapshot.inserts, 2);
    assert_eq!(snapshot.hits, u64::from(early.is_some()));
    assert_eq!(snapshot.misses, 2 + u64::from(early.is_none()));
}

/// Reads `key` every 20 ms until `done`; `false` if the machine stalled so
/// long between two reads that the key may rightly have gone idle (the
/// test can then conclude nothing).
fn keep_reading(
    handle: &RegionHandle<String, String>,
    key: &str,
    tti: Duration,
    mut done: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last_read = Instant::now();
    while !done() {
        assert!(Instant::now() < deadline, "waited too long");
        std::thread::sleep(Duration::from_millis(20));
        let gap = last_read.elapsed();
        if handle.get_blocking(&s(key)).is_none() {
            assert!(
                gap >= tti,
                "{key} was read {gap:?} ago, within its TTI, and went"
            );
            eprintln!("the machine stalled for {gap:?}: inconclusive");
            return false;
        }
        last_read = Instant::now();
    }
    true
}

#[test]
fn entries_not_read_within_the_tti_go_idle() {
    let manager = manager();
    let handle = manager.region::<Tti>().expect("region");
    let stored = Instant::now();
    handle.insert_blocking(s("read"), s("r"));
    handle.insert_blocking(s("untouched"), s("u"));
    let read_throughout = keep_reading(&handle, "read", TTI, || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.idle >= 1
    });
    if !read_throughout {
        return;
    }
    assert!(stored.elapsed() >= TTI, "an entry went idle before its TTI");
    assert_eq!(handle.get_blocking(&s("read")).as_deref(), Some("r"));
    assert_eq!(handle.get_blocking(&s("untouched")), None);
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.evictions.idle, 1);
    assert_eq!(snapshot.evictions.expired, 0);
    assert_eq!(snapshot.entries, Some(1));
    assert_eq!(keys_of(&handle), vec![s("read")]);
}

#[test]
fn idle_and_expired_are_told_apart() {
    let manager = manager();
    let handle = manager.region::<TtiTtl>().expect("region");
    let mut events = manager.subscribe();
    let stored = Instant::now();
    handle.insert_blocking(s("read"), s("r"));
    handle.insert_blocking(s("untouched"), s("u"));
    // Read until it goes: by age, since it is never idle.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last_read = Instant::now();
    loop {
        assert!(Instant::now() < deadline, "the read entry never expired");
        std::thread::sleep(Duration::from_millis(20));
        let gap = last_read.elapsed();
        if handle.get_blocking(&s("read")).is_none() {
            if gap >= TTI {
                eprintln!("the machine stalled for {gap:?}: inconclusive");
                return;
            }
            assert!(
                stored.elapsed() >= TTI_TTL,
                "the read entry left before its TTL"
            );
            break;
        }
        last_read = Instant::now();
    }
    poll_until("both evictions", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.total() >= 2
    });
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.evictions.idle, 1, "{:?}", snapshot.evictions);
    assert_eq!(snapshot.evictions.expired, 1, "{:?}", snapshot.evictions);
    let mut evicted = kinds(&drain(&mut events), "mm-tti-ttl")
        .into_iter()
        .filter(|(kind, _)| matches!(kind, EventKind::Evict { .. }))
        .collect::<Vec<_>>();
    evicted.sort_by_key(|(_, key)| key.clone());
    assert_eq!(
        evicted,
        vec![
            (
                EventKind::Evict {
                    cause: EvictionCause::Expired
                },
                Some(s("read"))
            ),
            (
                EventKind::Evict {
                    cause: EvictionCause::Idle
                },
                Some(s("untouched"))
            ),
        ]
    );
}

#[test]
fn a_per_entry_ttl_shorter_than_the_regions_applies() {
    let manager = manager();
    let handle = manager.region::<EntryTtl>().expect("region");
    let stored = Instant::now();
    assert!(handle.insert_with_ttl_blocking(s("short"), s("s"), SHORT_TTL));
    assert!(handle.insert_blocking(s("long"), s("l")));
    let page = handle
        .entries_blocking(&EntryQuery::first(10))
        .expect("browsable");
    let left = |key: &str| {
        page.entries
            .iter()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.expires_in_ms)
            .expect("expires")
    };
    assert!(left("short") <= 300, "{}", left("short"));
    assert!(left("long") > 3_000_000, "{}", left("long"));
    poll_until("the short entry to expire", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.expired >= 1
    });
    assert!(stored.elapsed() >= SHORT_TTL);
    assert_eq!(handle.get_blocking(&s("short")), None);
    assert_eq!(handle.get_blocking(&s("long")).as_deref(), Some("l"));
    // Storing again without a TTL drops the entry's own TTL.
    assert!(handle.insert_with_ttl_blocking(s("again"), s("1"), SHORT_TTL));
    assert!(handle.insert_blocking(s("again"), s("2")));
    let reinserted = Instant::now();
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.evictions.expired, 1);
    assert_eq!(snapshot.entries, Some(2));
    while reinserted.elapsed() < SHORT_TTL * 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    handle.run_pending_tasks();
    assert_eq!(handle.get_blocking(&s("again")).as_deref(), Some("2"));
    assert_eq!(handle.snapshot().evictions.expired, 1);
}

// ---------------------------------------------------------------- limits

#[test]
fn max_entries_is_enforced() {
    let manager = manager();
    let handle = manager.region::<MaxEntries>().expect("region");
    for key in 0..50 {
        handle.insert_blocking(key, key * 10);
    }
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(handle.len(), Some(10));
    assert_eq!(snapshot.entries, Some(10));
    assert_eq!(snapshot.inserts, 50);
    assert_eq!(snapshot.evictions.size, 40);
    assert_eq!(snapshot.evictions.total(), 40);
    // Whatever stayed has its own value.
    let held = (0..50)
        .filter(|key| match handle.get_blocking(key) {
            Some(value) => {
                assert_eq!(value, key * 10);
                true
            }
            None => false,
        })
        .count();
    assert_eq!(held, 10);
}

#[test]
fn max_bytes_is_enforced_with_cache_weight() {
    let manager = manager();
    let handle = manager.region::<Blobs>().expect("region");
    // Each entry weighs its String key (24 bytes) plus 100: 124 bytes, so
    // 8 fit in 1,000.
    for i in 0..20 {
        handle.insert_blocking(format!("blob-{i:02}"), Blob(vec![7; 100]));
    }
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.entries, Some(8));
    assert_eq!(snapshot.bytes, Some(8 * 124));
    assert!(snapshot.bytes.is_some_and(|n| n <= 1000));
    assert_eq!(snapshot.evictions.size, 12);
    // One heavier than the whole region is never kept.
    handle.insert_blocking(s("huge"), Blob(vec![0; 2000]));
    handle.run_pending_tasks();
    assert!(handle.get_blocking(&s("huge")).is_none());
    let snapshot = handle.snapshot();
    assert!(snapshot.bytes.is_some_and(|n| n <= 1000));
    assert_eq!(snapshot.evictions.size, 13);
}

#[test]
fn max_bytes_is_enforced_with_serde_sizes() {
    let manager = manager();
    let handle = manager.region::<Sized>().expect("region");
    // A u64 key (8 bytes) and a 98-character string, 100 bytes as JSON:
    // 108 bytes, so 9 fit in 1,000.
    for key in 0..20 {
        handle.insert_blocking(key, "x".repeat(98));
    }
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.entries, Some(9));
    assert_eq!(snapshot.bytes, Some(9 * 108));
    assert_eq!(snapshot.evictions.size, 11);
}

#[test]
fn lru_evicts_the_least_recently_read() {
    let manager = manager();
    let handle = manager.region::<Lru>().expect("region");
    assert_eq!(handle.descriptor().settings().eviction, Eviction::Lru);
    let mut events = manager.subscribe();
    for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
        handle.insert_blocking(s(key), u32::try_from(i).expect("small"));
        handle.run_pending_tasks();
    }
    for key in ["a", "b"] {
        assert!(handle.get_blocking(&s(key)).is_some());
        handle.run_pending_tasks();
    }
    // c is now the least recently used.
    handle.insert_blocking(s("d"), 3);
    handle.run_pending_tasks();
    assert_eq!(keys_of(&handle), ["a", "b", "d"]);
    assert!(handle.get_blocking(&s("a")).is_some());
    handle.run_pending_tasks();
    // b was read before d was stored, a just now: b goes.
    handle.insert_blocking(s("e"), 4);
    handle.run_pending_tasks();
    assert_eq!(keys_of(&handle), ["a", "d", "e"]);
    let evicted: Vec<_> = kinds(&drain(&mut events), "mm-lru")
        .into_iter()
        .filter(|(kind, _)| matches!(kind, EventKind::Evict { .. }))
        .collect();
    let by_size = EventKind::Evict {
        cause: EvictionCause::Size,
    };
    assert_eq!(
        evicted,
        vec![(by_size, Some(s("c"))), (by_size, Some(s("b")))]
    );
    assert_eq!(handle.snapshot().evictions.size, 2);
}

/// Reads a, b and c often, then stores ten keys read once each.
fn hot_keys_then_a_scan(handle: &RegionHandle<String, u32>) {
    for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
        handle.insert_blocking(s(key), u32::try_from(i).expect("small"));
    }
    handle.run_pending_tasks();
    for _ in 0..8 {
        for key in ["a", "b", "c"] {
            assert!(handle.get_blocking(&s(key)).is_some());
        }
        handle.run_pending_tasks();
    }
    for i in 0..10 {
        handle.insert_blocking(format!("scan-{i}"), 100 + i);
        handle.run_pending_tasks();
    }
}

#[test]
fn tinylfu_keeps_hot_keys_through_a_scan_and_lru_does_not() {
    let manager = manager();
    let tinylfu = manager.region::<TinyLfu>().expect("region");
    assert_eq!(tinylfu.descriptor().settings().eviction, Eviction::TinyLfu);
    hot_keys_then_a_scan(&tinylfu);
    assert_eq!(keys_of(&tinylfu), ["a", "b", "c"]);
    let snapshot = tinylfu.snapshot();
    assert_eq!(snapshot.evictions.size, 10);
    assert_eq!(snapshot.entries, Some(3));

    let lru = manager.region::<Lru>().expect("region");
    hot_keys_then_a_scan(&lru);
    assert_eq!(keys_of(&lru), ["scan-7", "scan-8", "scan-9"]);
    let snapshot = lru.snapshot();
    assert_eq!(snapshot.evictions.size, 10);
    assert_eq!(snapshot.entries, Some(3));
}

// ------------------------------------------------------ conditional caching

#[test]
fn cache_if_stores_only_what_the_predicate_accepts() {
    let manager = manager();
    let handle = manager.region::<CacheIf>().expect("region");
    handle.cache_if(|_, list| !list.is_empty());
    assert!(!handle.insert_blocking(s("none"), vec![]));
    assert!(handle.insert_blocking(s("some"), vec![1, 2]));
    assert_eq!(handle.get_blocking(&s("none")), None);
    assert_eq!(handle.get_blocking(&s("some")), Some(vec![1, 2]));

    // A refused load is returned but not kept: the next caller loads again.
    let loads = AtomicUsize::new(0);
    for _ in 0..2 {
        let value = handle.get_or_insert_with_blocking(s("lazy"), || {
            loads.fetch_add(1, SeqCst);
            Vec::new()
        });
        assert!(value.is_empty());
    }
    assert_eq!(loads.load(SeqCst), 2);
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.inserts, 1);
    assert_eq!(snapshot.loads_succeeded, 2);
    assert_eq!(snapshot.entries, Some(1));

    // Without the predicate, anything goes.
    handle.set_policy(None);
    assert!(handle.insert_blocking(s("none"), vec![]));
    assert_eq!(handle.get_blocking(&s("none")), Some(vec![]));
}

#[test]
fn a_custom_policy_refuses_and_shortens() {
    let manager = manager();
    let handle = manager.region::<WithPolicy>().expect("region");
    assert!(handle.descriptor().is_custom());
    let stored = Instant::now();
    assert!(!handle.insert_blocking(s("empty"), String::new()));
    assert!(handle.insert_blocking(s("kept"), s("value")));
    assert!(handle.insert_blocking(s("brief"), s("temporary value")));
    assert_eq!(handle.get_blocking(&s("empty")), None);
    poll_until("the temp value to expire", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.expired >= 1
    });
    assert!(stored.elapsed() >= SHORT_TTL);
    assert_eq!(handle.get_blocking(&s("brief")), None);
    assert_eq!(handle.get_blocking(&s("kept")).as_deref(), Some("value"));
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.inserts, 2);
    assert_eq!(snapshot.evictions.expired, 1);
    // Replacing the declared policy: empty values are welcome now.
    handle.set_policy(None);
    assert!(handle.insert_blocking(s("empty"), String::new()));
    assert_eq!(handle.get_blocking(&s("empty")).as_deref(), Some(""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_value_the_policy_refuses_does_not_leave_the_old_one() {
    let manager = manager();
    let handle = manager.region::<CacheIf>().expect("region");
    handle.cache_if(|_, list| !list.is_empty());
    handle.set_loader(|key: String| async move {
        Ok(if key == "emptied" {
            Vec::new()
        } else {
            vec![2]
        })
    });
    handle.insert(s("emptied"), vec![1]).await;
    handle.insert(s("kept"), vec![1]).await;
    let report = handle.refresh(None).await;
    assert_eq!(
        (report.reloaded, report.failed, report.invalidated),
        (1, 0, 1)
    );
    assert_eq!(
        handle.get(&s("emptied")).await,
        None,
        "the stale value is gone"
    );
    assert_eq!(handle.get(&s("kept")).await, Some(vec![2]));
}

// ---------------------------------------------------------------- events

#[test]
fn events_announce_inserts_removals_and_clears() {
    let manager = manager();
    let handle = manager.region::<Events>().expect("region");
    let mut events = manager.subscribe();
    handle.insert_blocking(s("a"), s("1"));
    handle.insert_blocking(s("b"), s("2"));
    handle.insert_blocking(s("a"), s("3"));
    assert!(handle.remove_blocking(&s("a")));
    assert!(!handle.remove_blocking(&s("missing")));
    handle.insert_blocking(s("c"), s("4"));
    assert_eq!(handle.clear_blocking().expect("clears"), 2);
    handle.insert_blocking(s("user:1"), s("5"));
    handle.insert_blocking(s("user:2"), s("6"));
    assert_eq!(handle.clear_matching_blocking("user:*").expect("clears"), 2);
    handle.run_pending_tasks();
    let got = drain(&mut events);
    assert!(got.iter().all(|event| &*event.region == "mm-events"));
    assert_eq!(
        kinds(&got, "mm-events"),
        vec![
            (EventKind::Insert, Some(s("a"))),
            (EventKind::Insert, Some(s("b"))),
            (EventKind::Insert, Some(s("a"))),
            (EventKind::Remove, Some(s("a"))),
            (EventKind::Insert, Some(s("c"))),
            (EventKind::Clear { removed: 2 }, None),
            (EventKind::Insert, Some(s("user:1"))),
            (EventKind::Insert, Some(s("user:2"))),
            (EventKind::Clear { removed: 2 }, None),
        ]
    );
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.removals, 1, "the one remove that found its key");
    assert_eq!(snapshot.cleared, 4);
    assert_eq!(snapshot.updates, 1);
    assert_eq!(snapshot.inserts, 6);
    assert_eq!(snapshot.evictions.total(), 0, "nothing the cache decided");
    assert_eq!(snapshot.entries, Some(0));
}

#[test]
fn events_announce_expiry_with_its_cause() {
    let manager = manager();
    let handle = manager.region::<Ttl>().expect("region");
    let mut events = manager.subscribe();
    handle.insert_blocking(s("x"), s("1"));
    let mut got = Vec::new();
    poll_until("the eviction event", || {
        handle.run_pending_tasks();
        got.extend(drain(&mut events));
        got.len() >= 2
    });
    assert_eq!(
        kinds(&got, "mm-ttl"),
        vec![
            (EventKind::Insert, Some(s("x"))),
            (
                EventKind::Evict {
                    cause: EvictionCause::Expired
                },
                Some(s("x"))
            ),
        ]
    );
    let json = serde_json::to_value(&got[1]).expect("events serialize");
    assert_eq!(
        json,
        json!({"region": "mm-ttl", "kind": {"type": "evict", "cause": "expired"}, "key": "x"})
    );
}

#[test]
fn a_sensitive_regions_events_carry_no_key() {
    let manager = manager();
    let handle = manager.region::<Secrets>().expect("region");
    let mut events = manager.subscribe();
    handle.insert_blocking(s("token"), s("secret"));
    assert!(handle.remove_blocking(&s("token")));
    handle.insert_blocking(s("other"), s("secret"));
    let mut got = Vec::new();
    poll_until("the eviction event", || {
        handle.run_pending_tasks();
        got.extend(drain(&mut events));
        got.len() >= 4
    });
    assert_eq!(
        kinds(&got, "mm-secrets"),
        vec![
            (EventKind::Insert, None),
            (EventKind::Remove, None),
            (EventKind::Insert, None),
            (
                EventKind::Evict {
                    cause: EvictionCause::Expired
                },
                None
            ),
        ]
    );
}

// ------------------------------------------------------------ access by name

#[test]
fn tools_read_remove_and_page_through_entries_by_name() {
    const NAME: &str = "mm-browse-tools";
    let manager = manager();
    let handle = manager.region::<BrowseTools>().expect("region");
    for i in 0..25 {
        handle.insert_blocking(format!("k{i:02}"), i);
    }
    assert_eq!(
        manager
            .get_json_blocking(NAME, &json!("k03"))
            .expect("readable"),
        Some(json!(3))
    );
    assert_eq!(
        manager
            .get_json_blocking(NAME, &json!("nope"))
            .expect("readable"),
        None
    );

    // Every key once, in key order, whatever the page size.
    let expected: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
    for limit in [1, 7, 25, 100] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut query = EntryQuery::first(limit);
        loop {
            let page = manager.entries_blocking(NAME, &query).expect("browsable");
            pages += 1;
            assert!(page.entries.len() <= limit);
            for entry in &page.entries {
                let i: u64 = entry.key[1..].parse().expect("a number");
                assert_eq!(entry.value, json!(i));
                assert!(entry.age_ms.is_some());
                assert_eq!(entry.expires_in_ms, None, "no TTL");
            }
            seen.extend(page.entries.into_iter().map(|entry| entry.key));
            match page.next {
                Some(next) => query = EntryQuery::first(limit).after(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(pages, 25usize.div_ceil(limit).max(1), "limit {limit}");
    }

    // A pattern filters, and pages.
    let page = manager
        .entries_blocking(NAME, &EntryQuery::first(100).matching("k1?"))
        .expect("browsable");
    let keys: Vec<&str> = page
        .entries
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19"
        ]
    );
    let first = manager
        .entries_blocking(NAME, &EntryQuery::first(4).matching("k2*"))
        .expect("browsable");
    let keys: Vec<&str> = first
        .entries
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    assert_eq!(keys, ["k20", "k21", "k22", "k23"]);
    let next = first.next.expect("one more page");
    let second = manager
        .entries_blocking(NAME, &EntryQuery::first(4).matching("k2*").after(next))
        .expect("browsable");
    let keys: Vec<&str> = second
        .entries
        .iter()
        .map(|entry| entry.key.as_str())
        .collect();
    assert_eq!(keys, ["k24"]);
    assert_eq!(second.next, None);

    assert!(
        manager
            .remove_blocking(NAME, &json!("k00"))
            .expect("removable")
    );
    assert!(
        !manager
            .remove_blocking(NAME, &json!("k00"))
            .expect("removable")
    );
    assert_eq!(handle.get_blocking(&s("k00")), None);
    assert_eq!(manager.clear_region_blocking(NAME).expect("clears"), 24);
    assert!(
        manager
            .entries_blocking(NAME, &EntryQuery::first(10))
            .expect("browsable")
            .entries
            .is_empty()
    );
    handle.run_pending_tasks();
    let snapshot = manager.stats(NAME).expect("known");
    // Gets: a hit and a miss by name, a typed miss; one removal by name,
    // 24 cleared.
    assert_eq!((snapshot.hits, snapshot.misses), (1, 2));
    assert_eq!((snapshot.removals, snapshot.cleared), (1, 24));
}

#[test]
fn json_keys_are_checked_against_the_key_type() {
    let manager = manager();
    let handle = manager.region::<Ids>().expect("region");
    handle.insert_blocking(7, s("seven"));
    assert_eq!(
        manager
            .get_json_blocking("mm-ids", &json!(7))
            .expect("a u64"),
        Some(json!("seven"))
    );
    // A key's text form in a JSON string works too.
    assert_eq!(
        manager
            .get_json_blocking("mm-ids", &json!("7"))
            .expect("a u64"),
        Some(json!("seven"))
    );
    for bad in [json!("seven"), json!(-1), json!({"id": 7}), json!(1.5)] {
        match manager.get_json_blocking("mm-ids", &bad) {
            Err(CacheError::BadKey {
                region,
                key,
                key_type,
                ..
            }) => {
                assert_eq!(region, "mm-ids");
                assert_eq!(key, bad.to_string());
                assert_eq!(key_type, "u64");
            }
            other => panic!("{bad}: expected BadKey, got {other:?}"),
        }
        let error = manager
            .remove_blocking("mm-ids", &bad)
            .expect_err("bad key");
        assert!(error.to_string().contains("mm-ids"), "{error}");
    }
    let page = manager
        .entries_blocking("mm-ids", &EntryQuery::first(10))
        .expect("browsable");
    assert_eq!(page.entries.len(), 1);
    assert_eq!(
        (page.entries[0].key.as_str(), &page.entries[0].value),
        ("7", &json!("seven"))
    );
}

#[test]
fn clear_matching_follows_glob_rules() {
    const NAME: &str = "mm-globs";
    let manager = manager();
    let handle = manager.region::<Globs>().expect("region");
    let keys = [
        "user:1", "user:2", "user:10", "admin:1", "b-team", "c-team", "d-team", "lit*star",
        "litXstar", "q?", "qq",
    ];
    for key in keys {
        handle.insert_blocking(s(key), 1);
    }
    let remaining =
        |handle: &RegionHandle<String, u32>| keys_of(handle).into_iter().collect::<BTreeSet<_>>();
    // `?` is exactly one character.
    assert_eq!(
        manager
            .clear_matching_blocking(NAME, "user:?")
            .expect("clears"),
        2
    );
    assert!(remaining(&handle).contains("user:10"));
    // A class, then `*`.
    assert_eq!(
        manager
            .clear_matching_blocking(NAME, "[a-c]*")
            .expect("clears"),
        3
    );
    assert!(remaining(&handle).contains("d-team"));
    // An escaped `*` is a literal star.
    assert_eq!(
        manager
            .clear_matching_blocking(NAME, "lit\\*star")
            .expect("clears"),
        1
    );
    assert!(remaining(&handle).contains("litXstar"));
    // An escaped `?` too.
    assert_eq!(handle.clear_matching_blocking("q\\?").expect("clears"), 1);
    assert!(remaining(&handle).contains("qq"));
    // Nothing matches: nothing removed.
    assert_eq!(
        manager
            .clear_matching_blocking(NAME, "zzz*")
            .expect("clears"),
        0
    );
    assert_eq!(
        manager.clear_matching_blocking(NAME, "*").expect("clears"),
        4
    );
    assert!(remaining(&handle).is_empty());
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(
        (snapshot.removals, snapshot.cleared),
        (0, u64::try_from(keys.len()).expect("small")),
        "clears are not removals"
    );
    assert_eq!(snapshot.evictions.total(), 0, "nor evictions");

    // Redis reads an open class as a class to the end: nothing refused.
    handle.insert_blocking(s("-"), 7);
    handle.insert_blocking(s("b"), 8);
    assert_eq!(
        manager
            .entries_blocking(NAME, &EntryQuery::first(10).matching("[a-"))
            .expect("entries")
            .entries
            .len(),
        1
    );
    assert_eq!(handle.clear_matching_blocking("[a-").expect("clears"), 1);
    assert!(remaining(&handle).contains("b"));
}

#[test]
fn tools_are_refused_what_they_may_not_see() {
    let manager = manager();
    let secrets = manager.region::<Secrets>().expect("region");
    secrets.insert_blocking(s("token"), s("secret"));
    let refused = [
        manager
            .entries_blocking("mm-secrets", &EntryQuery::first(10))
            .map(drop),
        manager
            .get_json_blocking("mm-secrets", &json!("token"))
            .map(drop),
        secrets.entries_blocking(&EntryQuery::first(10)).map(drop),
    ];
    for result in refused {
        let error = result.expect_err("sensitive");
        assert!(
            matches!(&error, CacheError::Sensitive { region, .. } if region == "mm-secrets"),
            "{error:?}"
        );
    }
    // Typed code still reads it, and tools may remove it.
    assert_eq!(secrets.get_blocking(&s("token")).as_deref(), Some("secret"));
    assert!(
        manager
            .remove_blocking("mm-secrets", &json!("token"))
            .expect("removable")
    );

    // A typo gets a suggestion; nonsense does not.
    let error = manager
        .get_json_blocking("mm-browse-tols", &json!("k"))
        .expect_err("a typo");
    assert!(
        matches!(&error, CacheError::UnknownRegion { name, suggestion }
            if name == "mm-browse-tols" && suggestion.as_deref() == Some("mm-browse-tools")),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("did you mean \"mm-browse-tools\""),
        "{error}"
    );
    match manager.entries_blocking("qwertyuiop-asdfgh", &EntryQuery::first(1)) {
        Err(CacheError::UnknownRegion { suggestion, .. }) => assert_eq!(suggestion, None),
        other => panic!("expected UnknownRegion, got {other:?}"),
    }
    assert!(matches!(
        manager.stats("mm-browse-tols"),
        Err(CacheError::UnknownRegion { .. })
    ));
}

// ---------------------------------------------------------------- refresh

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reloads_with_a_loader_and_invalidates_without() {
    const NAME: &str = "mm-refresh";
    let manager = manager();
    let handle = manager.region::<Refresh>().expect("region");
    let mut events = manager.subscribe();

    // No loader: refresh removes.
    for key in ["a", "b", "c"] {
        handle.insert(s(key), s("stale")).await;
    }
    let report = handle.refresh(Some(vec![s("a"), s("missing")])).await;
    assert_eq!(
        (report.reloaded, report.failed, report.invalidated),
        (0, 0, 1)
    );
    assert_eq!(handle.get(&s("a")).await, None);
    let report = handle.refresh(None).await;
    assert_eq!(
        (report.reloaded, report.failed, report.invalidated),
        (0, 0, 2)
    );
    handle.run_pending_tasks();
    assert_eq!(handle.len(), Some(0));
    assert!(matches!(
        handle.get_or_load(s("a")).await,
        Err(CacheError::NoLoader { region }) if region == NAME
    ));

    // A loader: refresh replaces, and loads keys not cached yet.
    let calls = Arc::new(AtomicUsize::new(0));
    {
        let calls = Arc::clone(&calls);
        handle.set_loader(move |key: String| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, SeqCst);
                if key == "broken" {
                    return Err("the source is down".into());
                }
                Ok(format!("fresh {key}"))
            }
        });
    }
    for key in ["a", "b", "broken"] {
        handle.insert(s(key), s("stale")).await;
    }
    let report = handle.refresh(None).await;
    assert_eq!(
        (report.reloaded, report.failed, report.invalidated),
        (2, 1, 0)
    );
    assert_eq!(calls.load(SeqCst), 3);
    assert_eq!(handle.get(&s("a")).await.as_deref(), Some("fresh a"));
    assert_eq!(handle.get(&s("b")).await.as_deref(), Some("fresh b"));
    assert_eq!(
        handle.get(&s("broken")).await.as_deref(),
        Some("stale"),
        "a failed reload keeps the old value"
    );
    let report = handle.refresh(Some(vec![s("new")])).await;
    assert_eq!(report.reloaded, 1);
    assert_eq!(handle.get(&s("new")).await.as_deref(), Some("fresh new"));
    assert_eq!(
        handle.get_or_load(s("lazy")).await.expect("loads"),
        "fresh lazy"
    );
    assert_eq!(calls.load(SeqCst), 5);
    // A cached value is returned without a load; a failed load is an error.
    assert_eq!(
        handle
            .get_or_load(s("broken"))
            .await
            .expect("cached")
            .as_str(),
        "stale"
    );
    assert!(handle.remove(&s("broken")).await);
    assert!(matches!(
        handle.get_or_load(s("broken")).await,
        Err(CacheError::Load { region, .. }) if region == NAME
    ));
    assert_eq!(calls.load(SeqCst), 6);
    assert_eq!(handle.get(&s("broken")).await, None);

    // By name, with JSON keys.
    handle.insert(s("a"), s("stale again")).await;
    let report = manager
        .refresh(NAME, Some(vec![json!("a"), json!("b")]))
        .await
        .expect("refreshes");
    assert_eq!(report.reloaded, 2);
    assert_eq!(handle.get(&s("a")).await.as_deref(), Some("fresh a"));
    let error = manager
        .refresh(NAME, Some(vec![json!(5)]))
        .await
        .expect_err("not a string key");
    assert!(
        matches!(&error, CacheError::BadKey { region, .. } if region == NAME),
        "{error:?}"
    );
    let report = manager.refresh(NAME, None).await.expect("refreshes");
    handle.run_pending_tasks();
    // a, b, new and lazy.
    assert_eq!((report.reloaded, report.failed), (4, 0));
    assert_eq!(handle.len(), Some(4));

    let refreshes: Vec<EventKind> = kinds(&drain(&mut events), NAME)
        .into_iter()
        .map(|(kind, _)| kind)
        .filter(|kind| matches!(kind, EventKind::Refresh { .. }))
        .collect();
    assert_eq!(
        refreshes,
        vec![
            EventKind::Refresh { keys: 1 },
            EventKind::Refresh { keys: 2 },
            EventKind::Refresh { keys: 2 },
            EventKind::Refresh { keys: 1 },
            EventKind::Refresh { keys: 2 },
            EventKind::Refresh {
                keys: report.reloaded
            },
        ]
    );
}

// ------------------------------------------------------- regions at run time

#[test]
fn regions_added_at_run_time_are_reachable_by_name_and_type() {
    let manager = manager();
    let mut events = manager.subscribe();
    let added = RegionDescriptor::builder("mm-added")
        .key::<String>()
        .value::<u64>()
        .max_entries(100)
        .build()
        .expect("valid");
    manager
        .add_region_with(added.clone(), RegionCodecs::<String, u64>::serde())
        .expect("a new name");
    assert!(manager.region_names().contains(&s("mm-added")));
    assert_eq!(
        manager
            .descriptor("mm-added")
            .expect("known")
            .settings()
            .max_entries,
        Some(100)
    );
    let got = drain(&mut events);
    assert_eq!(
        kinds(&got, "mm-added"),
        vec![(EventKind::RegionAdded, None)]
    );

    let handle = manager
        .region_named::<String, u64>("mm-added")
        .expect("its types");
    assert!(handle.insert_blocking(s("x"), 1));
    assert_eq!(
        manager
            .get_json_blocking("mm-added", &json!("x"))
            .expect("serde"),
        Some(json!(1))
    );
    assert!(
        manager
            .prometheus()
            .contains("cache_inserts_total{region=\"mm-added\"} 1")
    );

    match manager.region_named::<u64, u64>("mm-added") {
        Err(CacheError::TypeMismatch {
            region,
            asked_key,
            asked_value,
            ..
        }) => {
            assert_eq!(region, "mm-added");
            assert_eq!((asked_key, asked_value), ("u64", "u64"));
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    assert!(matches!(
        manager.add_region_with(added, RegionCodecs::<String, u64>::serde()),
        Err(CacheError::Register { region, .. }) if region == "mm-added"
    ));
    assert!(matches!(
        manager.region_named::<String, u64>("mm-addde"),
        Err(CacheError::UnknownRegion { suggestion: Some(name), .. }) if name == "mm-added"
    ));

    // Without codecs, the first typed open fixes the types.
    let plain = RegionDescriptor::builder("mm-added-plain")
        .build()
        .expect("valid");
    manager.add_region(plain).expect("a new name");
    let first = manager
        .region_named::<u64, String>("mm-added-plain")
        .expect("any types");
    first.insert_blocking(1, s("one"));
    match manager.region_named::<String, String>("mm-added-plain") {
        Err(CacheError::TypeMismatch {
            declared_key,
            declared_value,
            ..
        }) => {
            assert_eq!(declared_key, "u64");
            assert_eq!(declared_value, std::any::type_name::<String>());
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    let again = manager
        .region_named::<u64, String>("mm-added-plain")
        .expect("same types");
    assert_eq!(again.get_blocking(&1).as_deref(), Some("one"));
    assert!(matches!(
        manager.get_json_blocking("mm-added-plain", &json!(1)),
        Err(CacheError::NotSerializable { .. })
    ));

    // A declared region opened with the wrong types, before and after its
    // typed open.
    for _ in 0..2 {
        match manager.region_named::<u64, u64>("mm-browse-tools") {
            Err(CacheError::TypeMismatch { region, .. }) => assert_eq!(region, "mm-browse-tools"),
            other => panic!("expected TypeMismatch, got {other:?}"),
        }
        manager.region::<BrowseTools>().expect("its own types");
    }
}

// ------------------------------------------------------------- presets, stats

#[test]
fn the_temporary_preset_has_its_documented_settings() {
    let manager = manager();
    let descriptor = manager.descriptor("mm-temporary").expect("declared");
    let settings = descriptor.settings();
    assert_eq!(settings.ttl, Some(Duration::from_secs(5 * 60)));
    assert_eq!(settings.tti, None);
    assert_eq!(settings.max_entries, Some(1_000));
    assert_eq!(settings.max_bytes, None);
    assert_eq!(settings.tier, Tier::Memory);
    assert_eq!(settings.eviction, Eviction::TinyLfu);
    assert!(!settings.sensitive);
    // And the region lives by them.
    let handle = manager.region::<Temporary>().expect("region");
    assert_eq!(handle.descriptor().settings(), settings);
    for i in 0..1_100 {
        handle.insert_blocking(format!("t{i}"), s("v"));
    }
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.entries, Some(1_000));
    assert_eq!(snapshot.evictions.size, 100);
    let page = handle
        .entries_blocking(&EntryQuery::first(1))
        .expect("browsable");
    let left = page.entries[0].expires_in_ms.expect("a TTL");
    assert!(left <= 300_000 && left > 200_000, "{left}");
}

#[test]
fn prometheus_text_has_the_regions_counters() {
    let manager = manager();
    let handle = manager.region::<Prom>().expect("region");
    handle.insert_blocking(s("a"), 1);
    handle.insert_blocking(s("b"), 2);
    for key in ["a", "a", "b", "zz"] {
        handle.get_blocking(&s(key));
    }
    assert!(handle.remove_blocking(&s("b")));
    handle.insert_blocking(s("a"), 3);
    assert_eq!(handle.get_or_insert_with_blocking(s("c"), || 7), 7);
    manager.run_pending_tasks();
    let text = manager.prometheus();
    for line in [
        "cache_hits_total{region=\"mm-prom\"} 3",
        "cache_misses_total{region=\"mm-prom\"} 2",
        "cache_inserts_total{region=\"mm-prom\"} 4",
        "cache_updates_total{region=\"mm-prom\"} 1",
        "cache_removals_total{region=\"mm-prom\"} 1",
        "cache_evictions_total{region=\"mm-prom\",cause=\"size\"} 0",
        "cache_loads_total{region=\"mm-prom\",result=\"success\"} 1",
        "cache_loads_total{region=\"mm-prom\",result=\"failure\"} 0",
        "cache_entries{region=\"mm-prom\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    let all = manager.all_stats();
    let prom = all
        .iter()
        .find(|snapshot| snapshot.region == "mm-prom")
        .expect("listed");
    assert_eq!((prom.hits, prom.misses, prom.inserts), (3, 2, 4));
    let by_name = manager.stats("mm-prom").expect("known");
    assert_eq!(by_name.entries, Some(2));
    // Unopened regions are listed with zeros.
    assert!(
        text.lines()
            .any(|l| l == "cache_hits_total{region=\"mm-ids\"} 0")
    );
}

/// Keeps values starting with `keep` for an hour, whatever the region says.
#[derive(Default)]
struct LongForKeep;

impl CachePolicy<String, String> for LongForKeep {
    fn expire_after(&self, _key: &String, value: &String) -> Option<Duration> {
        value
            .starts_with("keep")
            .then_some(Duration::from_secs(3600))
    }
}

#[custom_cache_region(name = "mm-policy-longer", key = String, value = String, policy = LongForKeep, ttl = "300ms")]
struct PolicyLonger;

/// A policy's TTL replaces the region's, longer as well as shorter; an
/// explicit `insert_with_ttl` only shortens it.
#[test]
fn a_policy_can_lengthen_the_regions_ttl() {
    let manager = manager();
    let handle = manager.region::<PolicyLonger>().expect("region");
    assert!(handle.insert_blocking(s("kept"), s("keep me")));
    assert!(handle.insert_blocking(s("plain"), s("plain value")));
    assert!(handle.insert_with_ttl_blocking(s("asked"), s("plain too"), Duration::from_secs(3600)));
    poll_until("the region's TTL to expire the others", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.expired >= 2
    });
    assert_eq!(handle.get_blocking(&s("plain")), None);
    assert_eq!(handle.get_blocking(&s("asked")), None);
    assert_eq!(handle.get_blocking(&s("kept")).as_deref(), Some("keep me"));
    let page = handle
        .entries_blocking(&cache_runtime::manager::EntryQuery::first(10))
        .expect("entries");
    assert_eq!(page.entries.len(), 1);
    assert!(page.entries[0].expires_in_ms.expect("expires") > 3_000_000);
}

/// A region without TTL or TTI builds its cache without moka's per-entry
/// expiry (a cheaper hit); the first entry with a TTL of its own rebuilds
/// it with one: that entry expires, the others stay, nothing is lost.
#[test]
fn a_region_without_ttl_still_expires_an_entry_given_its_own() {
    let manager = manager();
    let handle = manager.region::<NoTtl>().expect("region");
    for i in 0..500 {
        assert!(handle.insert_blocking(format!("k{i}"), format!("v{i}")));
    }
    assert!(handle.insert_with_ttl_blocking(s("short"), s("s"), SHORT_TTL));
    assert_eq!(handle.get_blocking(&s("short")).as_deref(), Some("s"));
    poll_until("the entry with its own TTL to expire", || {
        handle.get_blocking(&s("short")).is_none()
    });
    for i in 0..500 {
        assert_eq!(
            handle.get_blocking(&format!("k{i}")),
            Some(format!("v{i}")),
            "entry k{i} survived the change of cache"
        );
    }
    // Later entries with their own TTL expire too; the others still do not.
    assert!(handle.insert_with_ttl_blocking(s("short-2"), s("s"), SHORT_TTL));
    assert!(handle.insert_blocking(s("kept"), s("k")));
    poll_until("the second entry with its own TTL to expire", || {
        handle.get_blocking(&s("short-2")).is_none()
    });
    // moka removes expired entries on its timer wheel's tick.
    poll_until("both expired entries to be removed", || {
        handle.run_pending_tasks();
        handle.snapshot().evictions.expired == 2
    });
    assert_eq!(handle.get_blocking(&s("kept")).as_deref(), Some("k"));
    assert_eq!(handle.len(), Some(501));
}

/// A policy's `expire_after` on a region without TTL: same as above.
#[test]
fn a_policy_ttl_applies_in_a_region_without_ttl() {
    let manager = manager();
    let handle = manager.region::<PolicyNoTtl>().expect("region");
    assert!(handle.insert_blocking(s("plain"), s("forever")));
    assert!(handle.insert_blocking(s("t"), s("temporary")));
    poll_until("the policy's short entry to expire", || {
        handle.get_blocking(&s("t")).is_none()
    });
    assert_eq!(handle.get_blocking(&s("plain")).as_deref(), Some("forever"));
}
