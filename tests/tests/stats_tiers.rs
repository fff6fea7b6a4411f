//! One seeded workload on every tier — memory, disk, Redis, hybrid over
//! Redis, hybrid over disk — and the same counters from each: hits,
//! misses, inserts, updates, removals, cleared, loads, and no evictions
//! (nothing expires and no limit is reached). The one figure that differs
//! is the one a tier cannot know: a Redis or hybrid-over-Redis region's
//! entry count is `None`, never a wrong 0.
//!
//! Redis runs as a real `redis-server` on a free loopback port, killed when
//! the test ends.

#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use cache_runtime::{
    CacheManager, RegionHandle, cache_region, redis::RedisConfig, stats::StatsSnapshot,
};
use support::Scratch;
use support::redis::RedisServer;

#[cache_region(name = "st-memory", key = String, value = u64)]
struct OnMemory;

#[cache_region(name = "st-disk", key = String, value = u64, tier = "disk")]
struct OnDisk;

#[cache_region(name = "st-redis", key = String, value = u64, tier = "redis")]
struct OnRedis;

#[cache_region(name = "st-hybrid", key = String, value = u64, tier = "hybrid")]
struct Hybrid;

/// A small deterministic generator (xorshift64), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the workload itself saw, to check the counters against.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    found: u64,
    not_found: u64,
    removed: u64,
    cleared: u64,
}

/// The same operations, in the same order, on `handle`.
fn workload(handle: &RegionHandle<String, u64>) -> Seen {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut seen = Seen::default();
    for round in 0..1_500u64 {
        let key = format!("k{}", rng.below(40));
        match rng.below(10) {
            0..=2 => {
                assert!(handle.insert_blocking(key, round), "stored");
            }
            3..=5 => match handle.get_blocking(&key) {
                Some(_) => seen.found += 1,
                None => seen.not_found += 1,
            },
            6 => seen.removed += u64::from(handle.remove_blocking(&key)),
            7 | 8 => {
                handle.get_or_insert_with_blocking(key, || round);
            }
            _ if round % 7 == 0 => {
                seen.cleared += handle
                    .clear_matching_blocking("k1*")
                    .expect("clear_matching");
            }
            _ => {}
        }
    }
    seen.cleared += handle.clear_blocking().expect("clear");
    handle.flush().expect("flush");
    handle.run_pending_tasks();
    seen
}

/// The counters every tier must agree on.
fn counters(s: &StatsSnapshot) -> [(&'static str, u64); 11] {
    [
        ("hits", s.hits),
        ("misses", s.misses),
        ("coalesced", s.coalesced),
        ("inserts", s.inserts),
        ("updates", s.updates),
        ("removals", s.removals),
        ("cleared", s.cleared),
        ("evictions", s.evictions.total()),
        ("loads_succeeded", s.loads_succeeded),
        ("loads_failed", s.loads_failed),
        ("errors", s.errors.total()),
    ]
}

#[test]
fn one_workload_counts_the_same_on_every_tier() {
    let server = RedisServer::start();
    let scratch = Scratch::new("stats-tiers", "workload");
    let with_redis = CacheManager::builder()
        .disk_root(scratch.join("with-redis"))
        .background_stats(false)
        .redis(
            RedisConfig::new(server.url())
                .prefix("stats-tiers")
                .response_timeout(Duration::from_secs(2)),
        )
        .build()
        .expect("manager with Redis");
    let without_redis = CacheManager::builder()
        .disk_root(scratch.join("disk-only"))
        .write_behind(0)
        .background_stats(false)
        .build()
        .expect("manager without Redis");

    let tiers: [(&str, RegionHandle<String, u64>); 5] = [
        ("memory", with_redis.region::<OnMemory>().expect("memory")),
        ("disk", without_redis.region::<OnDisk>().expect("disk")),
        ("redis", with_redis.region::<OnRedis>().expect("redis")),
        (
            "hybrid over Redis",
            with_redis.region::<Hybrid>().expect("hybrid"),
        ),
        (
            "hybrid over disk",
            without_redis.region::<Hybrid>().expect("hybrid"),
        ),
    ];
    let mut reference: Option<(Seen, [(&str, u64); 11])> = None;
    for (tier, handle) in &tiers {
        let seen = workload(handle);
        let snapshot = handle.snapshot();
        let counted = counters(&snapshot);
        // Against what the workload saw.
        assert_eq!(snapshot.removals, seen.removed, "{tier}: removals");
        assert_eq!(snapshot.cleared, seen.cleared, "{tier}: cleared");
        assert!(snapshot.hits >= seen.found, "{tier}: hits");
        assert_eq!(snapshot.evictions.total(), 0, "{tier}: no eviction");
        assert!(snapshot.updates > 0, "{tier}: replacements are counted");
        match &reference {
            None => reference = Some((seen, counted)),
            Some((first_seen, first)) => {
                assert_eq!(&seen, first_seen, "{tier}: the workload saw the same");
                assert_eq!(&counted, first, "{tier}: the same counters as memory");
            }
        }
        // The entry count: known where the tier can count, else unknown.
        match *tier {
            "redis" | "hybrid over Redis" => {
                assert_eq!(snapshot.entries, None, "{tier}: unknown, not 0");
                assert_eq!(handle.len(), None, "{tier}");
            }
            _ => assert_eq!(snapshot.entries, Some(0), "{tier}: cleared at the end"),
        }
    }
    let (_, counted) = reference.expect("five tiers ran");
    println!("every tier: {counted:?}");
}
