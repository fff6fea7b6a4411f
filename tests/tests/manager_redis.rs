//! The manager over Redis, against a real `redis-server` per test (started
//! on a free loopback port by `support::redis`, killed when the test ends):
//! every operation of `redis` regions, TTLs, unusable values, glob parity
//! with the memory tier, two instances kept coherent by the backplane, and
//! Redis killed, paused and restarted under load.
//!
//! Time limits here are hang guards (several times the configured
//! timeouts), not performance targets.

#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_runtime::{
    CacheError, CacheManager, RegionDescriptor, RegionHandle, cache_region,
    config::Tier,
    manager::{EntryQuery, RegionCodecs},
    redis::RedisConfig,
};
use serde::{Deserialize, Serialize};
use support::redis::RedisServer;

#[cache_region(name = "mredis-users", key = String, value = String, tier = "redis", ttl = "1h")]
struct Users;

#[cache_region(name = "mredis-memory", key = String, value = String, ttl = "1h")]
struct MemoryTwin;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u32,
}

#[cache_region(name = "mredis-profiles", key = u64, value = Profile, tier = "hybrid", ttl = "1h")]
struct Profiles;

#[cache_region(name = "mredis-fail-safe", key = String, value = String, tier = "hybrid", ttl = "300ms")]
struct FailSafe;

/// The response timeout every test configures.
const TIMEOUT: Duration = Duration::from_millis(300);

/// The longest any single call may take: the timeouts plus scheduling
/// slack on a loaded machine (a hang guard, not a target).
const HARD_LIMIT: Duration = Duration::from_secs(3);

fn config(server: &RedisServer, prefix: &str) -> RedisConfig {
    RedisConfig::new(server.url())
        .prefix(prefix)
        .response_timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(500))
        .backplane_ping_every(Duration::from_millis(200))
        .circuit_breaker(3, Duration::from_millis(200), Duration::from_secs(1))
}

fn manager(server: &RedisServer, prefix: &str) -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .redis(config(server, prefix))
        .fail_safe("mredis-fail-safe", Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A raw connection, for what the manager never does.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Polls `check` every 20 ms until it holds, or panics after `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the manager's backplane to subscribe (its first subscription
/// clears the memory levels: what they held might have missed messages).
async fn subscribed(manager: &CacheManager) {
    eventually(
        "the backplane subscribes",
        Duration::from_secs(10),
        || async { manager.backplane_stats().unwrap().subscribed },
    )
    .await;
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// Every key a region lists, page by page.
async fn listed(handle: &RegionHandle<String, String>, pattern: Option<&str>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut query = EntryQuery::first(7);
    if let Some(pattern) = pattern {
        query = query.matching(pattern);
    }
    loop {
        let page = handle.entries(&query).await.unwrap();
        keys.extend(page.entries.into_iter().map(|entry| entry.key));
        match page.next {
            Some(next) => query = query.after(next),
            None => return keys,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trips_through_redis() {
    let server = RedisServer::start();
    let manager = manager(&server, "rt");
    let users = manager.region::<Users>().unwrap();

    assert_eq!(users.get(&s("ada")).await, None);
    assert!(users.insert(s("ada"), s("Lovelace")).await);
    assert_eq!(
        users.try_get(&s("ada")).await.unwrap().as_deref(),
        Some("Lovelace")
    );
    assert_eq!(users.get_blocking(&s("ada")).as_deref(), Some("Lovelace"));
    // It is in Redis, under {prefix}:{region}:{key}.
    let mut raw = raw(&server).await;
    let exists: u64 = redis::cmd("EXISTS")
        .arg("rt:mredis-users:ada")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(exists, 1);
    // A second manager (another instance) sees it.
    let other = self::manager(&server, "rt");
    let other_users = other.region::<Users>().unwrap();
    assert_eq!(
        other_users.get(&s("ada")).await.as_deref(),
        Some("Lovelace")
    );

    assert!(users.try_insert(s("bob"), s("Babbage")).await.unwrap());
    assert!(users.insert_blocking(s("cy"), s("Cyan")));
    let batch: Vec<(String, String)> = (0..600)
        .map(|i| (format!("n:{i}"), format!("v{i}")))
        .collect();
    assert_eq!(users.insert_many(batch).await.unwrap(), 600);
    let keys: Vec<String> = (0..600)
        .map(|i| format!("n:{i}"))
        .chain([s("nope")])
        .collect();
    let before = users.snapshot();
    let found = users.get_many(&keys).await.unwrap();
    assert_eq!(found.len(), 601);
    assert_eq!(found[599].as_deref(), Some("v599"));
    assert_eq!(found[600], None);
    // A batch counts each of its lookups, as single gets would.
    let after = users.snapshot();
    assert_eq!(after.hits - before.hits, 600);
    assert_eq!(after.misses - before.misses, 1);

    assert_eq!(
        manager
            .get_json("mredis-users", &serde_json::json!("bob"))
            .await
            .unwrap(),
        Some(serde_json::json!("Babbage"))
    );
    assert!(users.remove(&s("bob")).await);
    assert!(!users.try_remove(&s("bob")).await.unwrap());
    assert!(
        manager
            .remove("mredis-users", &serde_json::json!("cy"))
            .await
            .unwrap()
    );
    assert_eq!(users.get(&s("cy")).await, None);

    let numbered = listed(&users, Some("n:1*")).await;
    assert_eq!(numbered.len(), 111, "n:1, n:10..19, n:100..199");
    assert_eq!(users.clear_matching("n:1*").await.unwrap(), 111);
    assert_eq!(users.clear_matching_blocking("n:2*").unwrap(), 111);
    assert_eq!(manager.clear_region("mredis-users").await.unwrap(), 379);
    assert_eq!(listed(&users, None).await, BTreeSet::new());

    // Refresh reloads what Redis holds through the loader.
    users.insert(s("x"), s("old")).await;
    users.set_loader(|key: String| async move { Ok(format!("new {key}")) });
    let report = users.refresh(None).await;
    assert_eq!(report.reloaded, 1);
    assert_eq!(other_users.get(&s("x")).await.as_deref(), Some("new x"));
    assert_eq!(users.get_or_load(s("y")).await.unwrap(), "new y");

    let stats = users.snapshot();
    let tiers = stats.tiers.expect("per-tier counts for a Redis region");
    assert_eq!(tiers.l1_hits, 0, "a Redis-only region has no memory level");
    assert!(tiers.l2_hits >= 3 && tiers.l2_writes >= 600, "{tiers:?}");
    assert!(tiers.l2_latency.count > 0);
    assert!(manager.prometheus().contains("mredis-users"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_are_redis_ttls() {
    let server = RedisServer::start();
    let manager = manager(&server, "ttl");
    let users = manager.region::<Users>().unwrap();
    users
        .insert_with_ttl(s("brief"), s("v"), Duration::from_millis(250))
        .await;
    users.insert(s("long"), s("v")).await;
    let mut raw = raw(&server).await;
    let brief: i64 = redis::cmd("PTTL")
        .arg("ttl:mredis-users:brief")
        .query_async(&mut raw)
        .await
        .unwrap();
    let long: i64 = redis::cmd("PTTL")
        .arg("ttl:mredis-users:long")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(brief > 0 && brief <= 250, "{brief}");
    assert!(
        long > 3_500_000 && long <= 3_600_000,
        "the region's hour: {long}"
    );
    eventually(
        "the brief entry expires",
        Duration::from_secs(5),
        || async { users.get(&s("brief")).await.is_none() },
    )
    .await;
    assert_eq!(users.get(&s("long")).await.as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_values_are_counted_misses_and_left_alone() {
    let server = RedisServer::start();
    let manager = manager(&server, "bad");
    let users = manager.region::<Users>().unwrap();
    let mut raw = raw(&server).await;
    users.insert(s("good"), s("v")).await;
    let good: Vec<u8> = redis::cmd("GET")
        .arg("bad:mredis-users:good")
        .query_async(&mut raw)
        .await
        .unwrap();

    // Garbage, a truncated envelope, a flipped byte, another key's value,
    // a list instead of a string.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"not an envelope".to_vec()),
        ("truncated", good[..good.len() - 3].to_vec()),
        ("flipped", flipped),
        ("copied", good.clone()),
    ];
    for (key, bytes) in &cases {
        let _: () = redis::cmd("SET")
            .arg(format!("bad:mredis-users:{key}"))
            .arg(bytes)
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("RPUSH")
        .arg("bad:mredis-users:list")
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    for key in ["garbage", "truncated", "flipped", "copied", "list"] {
        assert_eq!(users.try_get(&s(key)).await.unwrap(), None, "{key}");
    }
    let tiers = users.snapshot().tiers.unwrap();
    assert_eq!(tiers.l2_rejected, 5, "{tiers:?}");
    assert!(users.snapshot().errors.corrupt >= 4);
    // Left in place (another version may be using them) until replaced.
    let still: Vec<u8> = redis::cmd("GET")
        .arg("bad:mredis-users:garbage")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(still, b"not an envelope");
    users.insert(s("garbage"), s("fixed")).await;
    assert_eq!(users.get(&s("garbage")).await.as_deref(), Some("fixed"));

    // An older schema version of the region: a counted miss for the newer.
    let versioned = |version| {
        let descriptor = RegionDescriptor::builder("mredis-versioned")
            .tier(Tier::Redis)
            .version(version)
            .build()
            .unwrap();
        CacheManager::builder()
            .without_linked_regions()
            .background_stats(false)
            .redis(config(&server, "bad"))
            .region_with(descriptor, RegionCodecs::<String, String>::serde())
            .build()
            .unwrap()
    };
    let (v1, v2) = (versioned(1), versioned(2));
    let old = v1
        .region_named::<String, String>("mredis-versioned")
        .unwrap();
    let new = v2
        .region_named::<String, String>("mredis-versioned")
        .unwrap();
    old.insert(s("k"), s("v1")).await;
    assert_eq!(new.try_get(&s("k")).await.unwrap(), None);
    assert_eq!(new.snapshot().tiers.unwrap().l2_rejected, 1);
    assert_eq!(old.get(&s("k")).await.as_deref(), Some("v1"));
}

use support::{GLOB_KEYS as KEYS, GLOB_PATTERNS as PATTERNS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patterns_select_the_same_keys_as_on_the_memory_tier() {
    let server = RedisServer::start();
    let manager = manager(&server, "glob");
    let users = manager.region::<Users>().unwrap();
    let twin = manager.region::<MemoryTwin>().unwrap();
    for pattern in PATTERNS {
        for key in KEYS {
            users.insert(s(key), s("v")).await;
            twin.insert(s(key), s("v")).await;
        }
        assert_eq!(
            listed(&users, Some(pattern)).await,
            listed(&twin, Some(pattern)).await,
            "entries matching {pattern:?}"
        );
        let removed = users.clear_matching(pattern).await.unwrap();
        let twin_removed = twin.clear_matching(pattern).await.unwrap();
        assert_eq!(removed, twin_removed, "removed by {pattern:?}");
        assert_eq!(
            listed(&users, None).await,
            listed(&twin, None).await,
            "left by {pattern:?}"
        );
    }
    // Redis' own reading of an unclosed class: `user:` then one byte.
    assert_eq!(
        users.clear_matching("user:[").await.unwrap(),
        twin.clear_matching("user:[").await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_keep_their_memory_levels_coherent() {
    let server = RedisServer::start();
    let (a, b) = (manager(&server, "bp"), manager(&server, "bp"));
    let (pa, pb) = (
        a.region::<Profiles>().unwrap(),
        b.region::<Profiles>().unwrap(),
    );
    eventually("both subscribed", Duration::from_secs(10), || async {
        a.backplane_stats().unwrap().subscribed && b.backplane_stats().unwrap().subscribed
    })
    .await;
    let ada = |visits| Profile {
        name: s("Ada"),
        visits,
    };

    pa.insert(7, ada(1)).await;
    assert_eq!(
        pb.get(&7).await,
        Some(ada(1)),
        "from Redis, now in B's memory"
    );
    assert_eq!(pb.get(&7).await, Some(ada(1)), "from B's memory");
    let tiers = pb.snapshot().tiers.unwrap();
    assert_eq!((tiers.l2_hits, tiers.l1_hits), (1, 1));

    // A write on A evicts B's copy: B's next read goes to Redis.
    pa.insert(7, ada(2)).await;
    eventually("B sees A's write", Duration::from_secs(5), || async {
        pb.get(&7).await == Some(ada(2))
    })
    .await;
    pa.remove(&7).await;
    eventually("B sees A's removal", Duration::from_secs(5), || async {
        pb.get(&7).await.is_none()
    })
    .await;
    for id in 0..20 {
        pa.insert(id, ada(0)).await;
        assert_eq!(pb.get(&id).await, Some(ada(0)));
    }
    pa.clear_matching("1*").await.unwrap();
    eventually(
        "B sees A's pattern clear",
        Duration::from_secs(5),
        || async { pb.get(&15).await.is_none() && pb.get(&1).await.is_none() },
    )
    .await;
    assert_eq!(pb.get(&2).await, Some(ada(0)));
    pa.clear().await.unwrap();
    eventually("B sees A's clear", Duration::from_secs(5), || async {
        pb.get(&2).await.is_none()
    })
    .await;
    pa.insert_many((100..110).map(|id| (id, ada(1))).collect())
        .await
        .unwrap();
    for id in 100..110 {
        assert_eq!(pb.get(&id).await, Some(ada(1)));
    }
    pa.insert_many((100..110).map(|id| (id, ada(2))).collect())
        .await
        .unwrap();
    eventually("B sees A's batch", Duration::from_secs(5), || async {
        pb.get(&105).await == Some(ada(2))
    })
    .await;

    let (sa, sb) = (a.backplane_stats().unwrap(), b.backplane_stats().unwrap());
    assert!(sa.sent >= 6 && sb.received >= 6, "{sa:?} {sb:?}");
    assert!(sa.own_ignored >= 6, "A ignores its own messages: {sa:?}");
    assert!(pb.snapshot().tiers.unwrap().backplane_received >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_then_restarted() {
    let mut server = RedisServer::start();
    let (a, b) = (manager(&server, "kill"), manager(&server, "kill"));
    subscribed(&a).await;
    subscribed(&b).await;
    let (pa, pb) = (
        a.region::<Profiles>().unwrap(),
        b.region::<Profiles>().unwrap(),
    );
    let users = a.region::<Users>().unwrap();
    let ada = |visits| Profile {
        name: s("Ada"),
        visits,
    };
    for id in 0..50 {
        pa.insert(id, ada(1)).await;
    }
    users.insert(s("u"), s("v")).await;

    let loads = Arc::new(AtomicU64::new(0));
    let slowest = std::sync::Mutex::new(Duration::ZERO);
    let mut redis_errors = 0;
    for round in 0..300u64 {
        if round == 100 {
            server.kill();
        }
        // Known keys, then (Redis dead) new ones the loader answers.
        let id = if round < 100 {
            round % 80
        } else {
            1_000 + round
        };
        let started = Instant::now();
        let loads = Arc::clone(&loads);
        // Hybrid callers never see an error: memory, Redis, or the loader.
        let value = pa
            .try_get_or_insert_with(id, || async move {
                loads.fetch_add(1, Ordering::Relaxed);
                Ok::<_, std::io::Error>(ada(9))
            })
            .await
            .unwrap();
        assert!(value.visits == 1 || value.visits == 9);
        // Redis-only callers see a typed error, within the timeout.
        match users.try_get(&s("u")).await {
            Ok(found) => assert!(round < 100 && found.is_some()),
            Err(CacheError::Redis { region, source }) => {
                assert!(round >= 100);
                assert_eq!(region, "mredis-users");
                assert!(source.is_unreachable(), "{source}");
                redis_errors += 1;
            }
            Err(other) => panic!("{other}"),
        }
        let took = started.elapsed();
        let mut slowest = slowest.lock().unwrap();
        *slowest = (*slowest).max(took);
    }
    let slowest = *slowest.lock().unwrap();
    assert!(slowest < HARD_LIMIT, "slowest call {slowest:?}");
    assert_eq!(redis_errors, 200);
    assert!(
        loads.load(Ordering::Relaxed) == 230,
        "keys 50..80, then 200 new ones"
    );
    let tiers = pa.snapshot().tiers.unwrap();
    assert!(
        tiers.l2_writes_skipped > 0 && tiers.l2_errors > 0,
        "{tiers:?}"
    );
    // The breaker: most calls failed fast rather than waiting.
    let health = a.redis_health().unwrap();
    assert!(health.breaker_opened > 0, "{health:?}");
    assert!(!a.backplane_stats().unwrap().subscribed);

    // Redis comes back (empty): everything recovers by itself.
    server.restart();
    eventually(
        "Redis-only region answers again",
        Duration::from_secs(10),
        || async { users.try_insert(s("u"), s("again")).await.is_ok() },
    )
    .await;
    assert_eq!(
        users.try_get(&s("u")).await.unwrap().as_deref(),
        Some("again")
    );
    eventually("both resubscribed", Duration::from_secs(10), || async {
        let (sa, sb) = (a.backplane_stats().unwrap(), b.backplane_stats().unwrap());
        sa.subscribed && sb.subscribed && sa.subscriptions >= 2 && sb.subscriptions >= 2
    })
    .await;
    assert!(
        b.backplane_stats().unwrap().resyncs >= 2,
        "B's memory level was resynced"
    );
    pa.insert(1, ada(5)).await;
    assert_eq!(pb.get(&1).await, Some(ada(5)));
    pa.insert(1, ada(6)).await;
    eventually(
        "the backplane works again",
        Duration::from_secs(5),
        || async { pb.get(&1).await == Some(ada(6)) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_never_holds_a_caller_past_the_timeout() {
    let server = RedisServer::start();
    let manager = manager(&server, "pause");
    subscribed(&manager).await;
    let profiles = manager.region::<Profiles>().unwrap();
    let users = manager.region::<Users>().unwrap();
    profiles
        .insert(
            1,
            Profile {
                name: s("Ada"),
                visits: 1,
            },
        )
        .await;
    users.insert(s("u"), s("v")).await;

    server.pause();
    let mut slowest = Duration::ZERO;
    for round in 0..40u64 {
        let started = Instant::now();
        assert!(profiles.get(&1).await.is_some(), "served from memory");
        assert!(profiles.get(&(100 + round)).await.is_none());
        profiles
            .insert(
                200 + round,
                Profile {
                    name: s("B"),
                    visits: 0,
                },
            )
            .await;
        assert!(users.try_get(&s("u")).await.is_err());
        assert!(users.try_insert(s("w"), s("v")).await.is_err());
        assert!(users.get_blocking(&s("u")).is_none());
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < HARD_LIMIT, "slowest round {slowest:?}");
    let error = users.try_get(&s("u")).await.unwrap_err();
    assert!(
        error.to_string().contains("circuit breaker") || error.to_string().contains("timed out"),
        "{error}"
    );

    server.resume();
    eventually("Redis answers again", Duration::from_secs(10), || async {
        users
            .try_get(&s("u"))
            .await
            .is_ok_and(|found| found.as_deref() == Some("v"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_safe_serves_an_expired_value_while_redis_is_down() {
    let mut server = RedisServer::start();
    let manager = manager(&server, "fs");
    subscribed(&manager).await;
    let safe = manager.region::<FailSafe>().unwrap();
    safe.insert(s("k"), s("kept")).await;
    // Expired in memory (300 ms) and in Redis.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        safe.get(&s("k")).await,
        None,
        "Redis answers: expired is a miss"
    );

    safe.insert(s("k"), s("kept")).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.kill();
    assert_eq!(
        safe.get(&s("k")).await.as_deref(),
        Some("kept"),
        "stale, served"
    );
    let loaded = safe
        .try_get_or_insert_with(s("k"), || async { Err::<String, _>("backend down") })
        .await;
    assert_eq!(loaded.unwrap(), "kept", "a failing loader falls back too");
    assert_eq!(safe.get(&s("never")).await, None);
    assert!(safe.snapshot().tiers.unwrap().stale_served >= 2);
}

#[tokio::test]
async fn configuration_mistakes_are_clear_errors() {
    let error = CacheManager::builder()
        .background_stats(false)
        .redis(RedisConfig::new("http://app:hunter2@cache/"))
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, CacheError::RedisSetup { .. }), "{message}");
    assert!(
        message.contains("app:***@cache") && !message.contains("hunter2"),
        "{message}"
    );

    // TLS: built (connected on first use) with the `redis-tls` feature,
    // else refused with the feature to enable.
    let built = CacheManager::builder()
        .background_stats(false)
        .redis(RedisConfig::new("rediss://u:pw@cache:6380/"))
        .build();
    if cfg!(feature = "redis-tls") {
        assert!(built.is_ok(), "{:?}", built.err());
    } else {
        let error = built.unwrap_err();
        assert!(error.to_string().contains("`redis-tls` feature"), "{error}");
        assert!(!error.to_string().contains("pw@"), "{error}");
    }

    let without = CacheManager::builder()
        .background_stats(false)
        .build()
        .unwrap();
    let error = without.region::<Users>().unwrap_err();
    assert!(
        matches!(error, CacheError::TierUnavailable { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("RedisConfig"), "{error}");

    // Nothing listens: the manager builds, a Redis region fails in time.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let manager = CacheManager::builder()
        .background_stats(false)
        .redis(RedisConfig::new(format!("redis://127.0.0.1:{port}/")).connect_timeout(TIMEOUT))
        .build()
        .unwrap();
    let users = manager.region::<Users>().unwrap();
    let started = Instant::now();
    assert!(matches!(
        users.try_get(&s("u")).await,
        Err(CacheError::Redis { .. })
    ));
    assert!(started.elapsed() < HARD_LIMIT);
    let health = manager.redis_health().unwrap();
    assert!(!health.connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_statistics_add_up_every_instance() {
    let server = RedisServer::start();
    let fleet = |every| {
        CacheManager::builder()
            .background_stats(false)
            .redis(config(&server, "fleet").fleet_stats(every))
            .build()
            .unwrap()
    };
    // One flushes on its own every 50 ms, the other only when asked.
    let (a, b) = (
        fleet(Duration::from_millis(50)),
        fleet(Duration::from_secs(3600)),
    );
    let (ua, ub) = (a.region::<Users>().unwrap(), b.region::<Users>().unwrap());
    ua.insert(s("k"), s("v")).await;
    for _ in 0..3 {
        assert!(ua.get(&s("k")).await.is_some());
    }
    for _ in 0..5 {
        assert!(ub.get(&s("k")).await.is_some());
    }
    assert!(ub.get(&s("missing")).await.is_none());
    b.flush_fleet_stats().await.unwrap();
    b.flush_fleet_stats().await.unwrap(); // nothing new: nothing added twice
    eventually("A's periodic flush", Duration::from_secs(5), || async {
        b.fleet_stats("mredis-users").await.unwrap().hits == 8
    })
    .await;
    let stats = a.fleet_stats("mredis-users").await.unwrap();
    assert_eq!((stats.hits, stats.misses, stats.inserts), (8, 1, 1));
    assert_eq!(stats.l2_hits, 8);
    assert_eq!(stats.hit_rate, Some(8.0 / 9.0));
    assert!(matches!(
        a.fleet_stats("mredis-user").await,
        Err(CacheError::UnknownRegion { .. })
    ));
}

/// With Redis paused (SIGSTOP), a get-or-load waits for Redis once (its
/// read's timeout), runs the loader and does not wait again to write what
/// it loaded: the write is counted as skipped. Two such calls are two
/// failed lookups and no write attempt. (The breaker is not the measure:
/// the manager's own background work — the configuration watcher polling
/// the version when the backplane reconnects — may time out during the
/// pause too and count towards it. The time is printed, not asserted: the
/// bound is the response timeout plus the loader.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_or_load_waits_for_a_paused_redis_once() {
    let server = RedisServer::start();
    let manager = manager(&server, "once");
    let users = manager.region::<Users>().unwrap();
    users.insert("warm".into(), "up".into()).await;
    server.pause();
    let mut slowest = Duration::ZERO;
    for key in ["k1", "k2"] {
        let started = Instant::now();
        let value = users
            .get_or_insert_with(key.into(), || async { String::from("loaded") })
            .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(value, "loaded");
    }
    let health = manager.redis_health().expect("a Redis tier");
    server.resume();
    let tiers = users.snapshot().tiers.expect("Redis tier counters");
    assert_eq!(
        (tiers.l2_errors, tiers.l2_writes, tiers.l2_writes_skipped),
        (2, 1, 2),
        "one failed lookup per call, no write attempted: {tiers:?} {health:?}"
    );
    println!(
        "get_or_insert_with against a paused Redis: {slowest:?} (response timeout {TIMEOUT:?})"
    );
    assert!(slowest < HARD_LIMIT, "hang guard: {slowest:?}");
}

/// A value over `max_value_size` is refused before it reaches the shared
/// connection (where it would hold up every small call behind it), with
/// an error that names the limit; nothing is stored and small calls go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_over_the_size_limit_is_refused_not_sent() {
    let server = RedisServer::start();
    let manager = CacheManager::builder()
        .background_stats(false)
        .redis(config(&server, "big").max_value_size(1024 * 1024))
        .build()
        .unwrap();
    let users = manager.region::<Users>().unwrap();
    let huge = "x".repeat(2 * 1024 * 1024);
    let error = users
        .try_insert("huge".into(), huge.clone())
        .await
        .expect_err("over the limit");
    let message = error.to_string();
    assert!(
        message.contains("max_value_size") && message.contains("too large"),
        "{message}"
    );
    assert!(!users.insert("huge".into(), huge).await);
    assert_eq!(users.get(&"huge".into()).await, None);
    let mut raw = raw(&server).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("big:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    // Under the limit, and small calls, as ever.
    assert!(users.insert("fits".into(), "y".repeat(512 * 1024)).await);
    assert!(users.insert("small".into(), "z".into()).await);
    assert_eq!(users.get(&"small".into()).await.as_deref(), Some("z"));
}

/// After Redis was down long enough for the breaker to reach its longest
/// opening, a Redis region and the backplane work again soon after the
/// server answers: the breaker opens for at most 2 s (default settings),
/// the backplane backs off for at most 2 s. The times are printed (the
/// closing figures of the change), the assertion is only a hang guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_the_backplane_come_back_soon_after_a_restart() {
    let mut server = RedisServer::start();
    let manager = CacheManager::builder()
        .background_stats(false)
        .redis(
            RedisConfig::new(server.url())
                .prefix("recover")
                .response_timeout(TIMEOUT)
                .connect_timeout(Duration::from_millis(500)),
        )
        .build()
        .unwrap();
    let users = manager.region::<Users>().unwrap();
    assert!(users.try_insert("a".into(), "1".into()).await.unwrap());
    server.kill();
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(6) {
        let _ = users.try_get(&"a".into()).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(manager.redis_health().unwrap().breaker_opened > 0);
    server.restart();
    let answering = Instant::now();
    let mut region_back = None;
    let mut backplane_back = None;
    while (region_back.is_none() || backplane_back.is_none())
        && answering.elapsed() < Duration::from_secs(10)
    {
        if region_back.is_none() && users.try_insert("b".into(), "2".into()).await.is_ok() {
            region_back = Some(answering.elapsed());
        }
        if backplane_back.is_none() && manager.backplane_stats().unwrap().subscribed {
            backplane_back = Some(answering.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "after 6 s down: the Redis region answered {region_back:?} and the backplane was subscribed {backplane_back:?} after the server did"
    );
    assert!(
        region_back.is_some() && backplane_back.is_some(),
        "hang guard"
    );
}
