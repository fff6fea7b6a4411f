//! One key pattern means the same thing on every tier: `clear_matching` and
//! `entries` over a memory, a disk and a hybrid region holding the same keys
//! (tricky ones included: glob metacharacters in keys, an empty key,
//! non-ASCII, a backslash) remove and list exactly the keys
//! `Glob::key(pattern).matches(key)` selects.
//!
//! Each test works in its own folder under the system temp folder (with the
//! process id in its name), removed at the end.

use std::collections::BTreeSet;

use cache_runtime::{CacheManager, RegionHandle, cache_region, disk::Glob, manager::EntryQuery};

mod support;
use support::Scratch;

#[cache_region(name = "mglob-memory", key = String, value = String)]
struct MemoryKeys;

#[cache_region(name = "mglob-disk", key = String, value = String, tier = "disk")]
struct DiskKeys;

#[cache_region(name = "mglob-hybrid", key = String, value = String, tier = "hybrid")]
struct HybridKeys;

#[cache_region(name = "mglob-memory-ids", key = u64, value = u64)]
struct MemoryIds;

#[cache_region(name = "mglob-disk-ids", key = u64, value = u64, tier = "disk")]
struct DiskIds;

#[cache_region(name = "mglob-hybrid-ids", key = u64, value = u64, tier = "hybrid")]
struct HybridIds;

const TIERS: [&str; 3] = ["mglob-memory", "mglob-disk", "mglob-hybrid"];

use support::{GLOB_KEYS as KEYS, GLOB_PATTERNS as PATTERNS};

/// The keys `pattern` selects, by the glob itself.
fn expected(pattern: &str) -> BTreeSet<String> {
    let glob = Glob::key(pattern);
    KEYS.iter()
        .filter(|key| glob.matches(key))
        .map(|key| (*key).to_owned())
        .collect()
}

/// The three regions' handles, in [`TIERS`] order.
fn handles(manager: &CacheManager) -> [RegionHandle<String, String>; 3] {
    [
        manager.region::<MemoryKeys>().expect("memory region"),
        manager.region::<DiskKeys>().expect("disk region"),
        manager.region::<HybridKeys>().expect("hybrid region"),
    ]
}

/// Empties `handle`'s region and stores every key (the value names it).
fn refill(handle: &RegionHandle<String, String>) {
    handle.clear_blocking().expect("clear");
    top_up(handle, &BTreeSet::new());
}

/// Stores every key not in `held` (what the region holds now), so the
/// region holds them all again without rewriting the others.
fn top_up(handle: &RegionHandle<String, String>, held: &BTreeSet<String>) {
    for key in KEYS.iter().filter(|key| !held.contains(**key)) {
        assert!(handle.insert_blocking((*key).to_owned(), format!("value of {key:?}")));
    }
    handle.flush().expect("flush");
    handle.run_pending_tasks();
}

/// The keys still readable in `handle`'s region (memory, then disk).
fn present(handle: &RegionHandle<String, String>) -> BTreeSet<String> {
    KEYS.iter()
        .filter(|key| {
            let value = handle.get_blocking(&(**key).to_owned());
            if let Some(value) = &value {
                assert_eq!(*value, format!("value of {key:?}"));
            }
            value.is_some()
        })
        .map(|key| (*key).to_owned())
        .collect()
}

/// Every key `entries` lists for `query`, following the pages.
fn listed(manager: &CacheManager, name: &str, pattern: Option<&str>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=KEYS.len() {
        let mut query = EntryQuery::first(3);
        if let Some(pattern) = pattern {
            query = query.matching(pattern);
        }
        if let Some(cursor) = &cursor {
            query = query.after(cursor.clone());
        }
        let page = manager.entries_blocking(name, &query).expect("entries");
        assert!(
            page.entries.len() <= 3,
            "{name}: a page of {} entries for a limit of 3",
            page.entries.len()
        );
        for entry in page.entries {
            assert_eq!(
                entry.value,
                serde_json::Value::String(format!("value of {:?}", entry.key)),
                "{name}"
            );
            assert!(
                keys.insert(entry.key.clone()),
                "{name}: {:?} listed twice",
                entry.key
            );
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return keys,
        }
    }
    panic!("{name}: more pages than keys");
}

fn all_keys() -> BTreeSet<String> {
    KEYS.iter().map(|key| (*key).to_owned()).collect()
}

/// Runs the parity checks with a manager built by `build`; `by_name` picks
/// the untyped operations over the handles'.
fn check_parity(manager: &CacheManager, by_name: bool) {
    let handles = handles(manager);
    for (name, handle) in TIERS.iter().zip(&handles) {
        refill(handle);
        assert_eq!(present(handle), all_keys(), "{name}: every key stored");
        assert_eq!(
            listed(manager, name, None),
            all_keys(),
            "{name}: every key listed"
        );
    }
    // What each region holds (checked after every clear).
    let mut held = [all_keys(), all_keys(), all_keys()];
    for pattern in PATTERNS {
        let expected = expected(pattern);
        let rest: BTreeSet<String> = all_keys().difference(&expected).cloned().collect();
        for ((name, handle), held) in TIERS.iter().zip(&handles).zip(&mut held) {
            top_up(handle, held);
            assert_eq!(
                listed(manager, name, Some(pattern)),
                expected,
                "{name}: entries matching {pattern:?}"
            );
            let removed = if by_name {
                manager.clear_matching_blocking(name, pattern)
            } else {
                handle.clear_matching_blocking(pattern)
            }
            .expect("clear_matching");
            assert_eq!(
                removed,
                expected.len() as u64,
                "{name}: clear_matching({pattern:?}) count"
            );
            handle.run_pending_tasks();
            assert_eq!(
                present(handle),
                rest,
                "{name}: keys left by clear_matching({pattern:?})"
            );
            assert_eq!(
                listed(manager, name, None),
                rest,
                "{name}: keys listed after clear_matching({pattern:?})"
            );
            held.clone_from(&rest);
        }
    }
}

#[test]
fn the_glob_reads_as_redis_scan_match() {
    // Spot checks of the reference itself, so a wrong glob cannot make
    // every tier agree on a wrong answer unnoticed.
    let keys = |pattern: &str| -> Vec<String> { expected(pattern).into_iter().collect() };
    assert_eq!(keys("user:*"), ["user:", "user:1", "user:10", "user:2"]);
    assert_eq!(keys("user:?"), ["user:1", "user:2"]);
    assert_eq!(keys("user:[^1]"), ["user:2"]);
    assert_eq!(keys("a\\*b"), ["a*b"]);
    assert_eq!(keys("a?b"), ["a*b", "a?b", "a\\b", "axb"]);
    assert_eq!(keys("\\[x\\]"), ["[x]"]);
    assert_eq!(keys("[x]"), ["x"]);
    assert_eq!(keys(""), [""]);
    // One byte, as Redis reads it: `ü` is two.
    assert_eq!(keys("?"), ["x"]);
    assert_eq!(keys("??"), ["ab", "ü"]);
    assert_eq!(keys("user:[!1]*"), ["user:1", "user:10"]);
    assert_eq!(keys("ü*"), ["ü", "ünï"]);
    assert_eq!(keys("*:1"), ["admin:1", "c:1", "user:1", "{tag}:1"]);
    assert_eq!(keys("{tag}*"), ["{tag}:1"]);
    assert_eq!(keys("*").len(), KEYS.len());
}

#[test]
fn clear_matching_and_entries_agree_on_every_tier_with_sync_writes() {
    let scratch = Scratch::new("mglob", "sync");
    let manager = CacheManager::builder()
        .disk_root(scratch.path())
        .write_behind(0)
        .background_stats(false)
        .build()
        .expect("manager");
    check_parity(&manager, false);
}

#[test]
fn clear_matching_and_entries_agree_on_every_tier_with_write_behind() {
    let scratch = Scratch::new("mglob", "write-behind");
    let manager = CacheManager::builder()
        .disk_root(scratch.path())
        .background_stats(false)
        .build()
        .expect("manager");
    check_parity(&manager, true);
}

#[test]
fn no_pattern_is_refused_and_each_removes_what_the_glob_selects() {
    let scratch = Scratch::new("mglob", "redis-only-patterns");
    let manager = CacheManager::builder()
        .disk_root(scratch.path())
        .write_behind(0)
        .background_stats(false)
        .build()
        .expect("manager");
    let handles = handles(&manager);
    for (name, handle) in TIERS.iter().zip(&handles) {
        // Redis reads each of these (once refused here): an open class, an
        // open range, a trailing backslash, `!` as an ordinary byte.
        for pattern in ["user:[12", "user:[1-", "a\\", "user:[!1]*"] {
            refill(handle);
            let listed: BTreeSet<String> = manager
                .entries_blocking(name, &EntryQuery::first(100).matching(pattern))
                .expect("entries")
                .entries
                .into_iter()
                .map(|entry| entry.key)
                .collect();
            assert_eq!(listed, expected(pattern), "{name}: listed by {pattern:?}");
            let removed = manager
                .clear_matching_blocking(name, pattern)
                .expect("clears");
            assert_eq!(removed as usize, listed.len(), "{name}: {pattern:?}");
            let left: BTreeSet<String> = all_keys().difference(&listed).cloned().collect();
            assert_eq!(present(handle), left, "{name}: left by {pattern:?}");
        }
    }
}

#[test]
fn number_keys_match_by_their_text_on_every_tier() {
    let scratch = Scratch::new("mglob", "ids");
    let manager = CacheManager::builder()
        .disk_root(scratch.path())
        .write_behind(0)
        .background_stats(false)
        .build()
        .expect("manager");
    let ids: [u64; 6] = [1, 2, 10, 12, 21, 100];
    let handles = [
        manager.region::<MemoryIds>().expect("memory region"),
        manager.region::<DiskIds>().expect("disk region"),
        manager.region::<HybridIds>().expect("hybrid region"),
    ];
    for pattern in ["1*", "?", "[12]", "*0", "1?", "*"] {
        let glob = Glob::key(pattern);
        let expected: BTreeSet<u64> = ids
            .iter()
            .copied()
            .filter(|id| glob.matches(&id.to_string()))
            .collect();
        for handle in &handles {
            let name = handle.name().to_owned();
            handle.clear_blocking().expect("clear");
            for id in ids {
                assert!(handle.insert_blocking(id, id * 10));
            }
            assert_eq!(handle.key_text(&12).as_deref(), Some("12"));
            let listed: BTreeSet<u64> = manager
                .entries_blocking(&name, &EntryQuery::first(100).matching(pattern))
                .expect("entries")
                .entries
                .iter()
                .map(|entry| entry.key.parse().expect("a number"))
                .collect();
            assert_eq!(listed, expected, "{name}: entries matching {pattern:?}");
            assert_eq!(
                handle
                    .clear_matching_blocking(pattern)
                    .expect("clear_matching"),
                expected.len() as u64,
                "{name}: {pattern:?}"
            );
            handle.run_pending_tasks();
            for id in ids {
                assert_eq!(
                    handle.get_blocking(&id).is_some(),
                    !expected.contains(&id),
                    "{name}: {id} after clear_matching({pattern:?})"
                );
            }
        }
    }
}
