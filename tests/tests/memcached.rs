//! A third-party storage backend registered by name: Memcached, against a
//! real `memcached` started per test. The public conformance suite, a
//! region declared with `backend = "memcached"` end to end, a killed
//! server (errors, not panics; back once it is), and one region moved
//! between memory, disk, Redis and Memcached by configuration alone.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cache_memcached::{Memcached, MemcachedConfig};
use cache_runtime::backend::{Backend, conformance};
use cache_runtime::{CacheManager, CacheManagerBuilder, manager::EntryQuery};
use cache_runtime::{cache_region, custom_cache_region};
use serde::{Deserialize, Serialize};

use support::memcached::MemcachedServer;
use support::{Scratch, block_on};

fn memcached(server: &MemcachedServer) -> Memcached {
    Memcached::new(
        MemcachedConfig::new(server.address())
            .timeout(Duration::from_secs(2))
            .connect_timeout(Duration::from_millis(500)),
    )
    .expect("client")
}

#[test]
fn memcached_passes_the_conformance_suite() {
    let server = MemcachedServer::start();
    let memcached = memcached(&server);
    let report = block_on(conformance::check(move |region: &str| {
        Ok(Arc::new(memcached.backend(region)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(report.skipped.is_empty(), "{report}");
    println!("memcached: {report}");
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Quota {
    tenant: String,
    limit: u32,
}

#[custom_cache_region(name = "mc-quotas", key = String, value = Quota, backend = "memcached", ttl = "10m")]
struct Quotas;

#[cache_region(name = "mc-moving", key = String, value = String)]
struct Moving;

fn builder(scratch: &Scratch, memcached: &Memcached) -> CacheManagerBuilder {
    CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path())
        .backend("memcached", memcached.factory())
}

fn quota(tenant: &str, limit: u32) -> Quota {
    Quota {
        tenant: tenant.to_owned(),
        limit,
    }
}

#[test]
fn a_region_declared_on_memcached_works_end_to_end() {
    let server = MemcachedServer::start();
    let scratch = Scratch::new("memcached", "end-to-end");
    let memcached = memcached(&server);
    let manager = builder(&scratch, &memcached).build().expect("manager");
    let quotas = manager.region::<Quotas>().expect("region");
    for (tenant, limit) in [("acme", 1), ("apex", 2), ("bolt", 3), ("acme", 4)] {
        quotas.insert_blocking(tenant.to_owned(), quota(tenant, limit));
    }
    assert_eq!(
        quotas.get_blocking(&"acme".to_owned()),
        Some(quota("acme", 4))
    );
    assert_eq!(quotas.get_blocking(&"nobody".to_owned()), None);
    assert_eq!(quotas.len(), Some(3));

    // What another process sees: the sealed bytes under the region's name.
    let direct = memcached.backend("mc-quotas");
    assert!(block_on(direct.get("bolt")).expect("get").is_some());

    let page = quotas
        .entries_blocking(&EntryQuery::first(10).matching("a*"))
        .expect("entries");
    let mut keys: Vec<&str> = page.entries.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["acme", "apex"]);
    assert_eq!(
        page.entries[0].value["tenant"],
        page.entries[0].key.as_str()
    );
    assert!(page.entries[0].expires_in_ms.expect("ttl") > 500_000);

    assert_eq!(quotas.clear_matching_blocking("a*").expect("clear"), 2);
    assert_eq!(quotas.get_blocking(&"apex".to_owned()), None);
    assert_eq!(
        quotas.get_blocking(&"bolt".to_owned()),
        Some(quota("bolt", 3))
    );

    let stats = quotas.snapshot();
    assert_eq!(
        (stats.hits, stats.misses, stats.inserts, stats.updates),
        (2, 2, 4, 1),
        "{stats:?}"
    );
    assert_eq!(stats.entries, Some(1));
    let tiers = stats.tiers.expect("second-level figures are kept");
    assert_eq!((tiers.l2_hits, tiers.l2_misses), (2, 2), "{tiers:?}");
}

#[test]
fn a_killed_server_gives_errors_not_panics_and_recovers() {
    let mut server = MemcachedServer::start();
    let scratch = Scratch::new("memcached", "outage");
    let memcached = memcached(&server);
    let manager = builder(&scratch, &memcached).build().expect("manager");
    let quotas = manager.region::<Quotas>().expect("region");
    quotas.insert_blocking("acme".to_owned(), quota("acme", 1));

    server.kill();
    let for_outage = memcached.clone();
    block_on(conformance::check_outage(move |region: &str| {
        Ok(Arc::new(for_outage.backend(region)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(quotas.get_blocking(&"acme".to_owned()), None, "a miss");
    let error = block_on(quotas.try_get(&"acme".to_owned())).expect_err("an error");
    let text = error.to_string();
    assert!(
        text.contains("mc-quotas") && text.contains("memcached") && text.contains("unavailable"),
        "{text}"
    );
    assert!(block_on(quotas.try_insert("apex".to_owned(), quota("apex", 2))).is_err());
    assert!(quotas.snapshot().errors.backend >= 2);

    server.restart();
    assert!(
        block_on(quotas.try_insert("apex".to_owned(), quota("apex", 2))).expect("back"),
        "stored once the server is back"
    );
    assert_eq!(
        quotas.get_blocking(&"apex".to_owned()),
        Some(quota("apex", 2))
    );
}

/// Where a configuration puts `mc-moving`, told from the outside.
#[derive(Debug, PartialEq)]
enum Found {
    Memory,
    Disk,
    Redis,
    Memcached,
}

#[test]
fn configuration_alone_moves_a_region_between_memory_disk_redis_and_memcached() {
    let server = MemcachedServer::start();
    #[cfg(feature = "redis")]
    let redis = support::redis::RedisServer::start();
    let memcached = memcached(&server);
    let mut cases = vec![
        ("tier = \"memory\"\n", Found::Memory),
        ("tier = \"disk\"\n", Found::Disk),
        (
            "tier = \"backend\"\nbackend = \"memcached\"\n",
            Found::Memcached,
        ),
    ];
    if cfg!(feature = "redis") {
        cases.push(("tier = \"redis\"\n", Found::Redis));
    }
    for (settings, expected) in cases {
        let scratch = Scratch::new("memcached", &format!("moving-{expected:?}"));
        let file = scratch.path().join("cache.toml");
        std::fs::write(&file, format!("[regions.mc-moving]\n{settings}")).expect("config");
        let mut builder = builder(&scratch, &memcached).config_file(&file);
        #[cfg(feature = "redis")]
        {
            builder = builder.redis(cache_runtime::redis::RedisConfig::new(redis.url()));
        }
        let manager = builder.build().expect("manager");
        let moving = manager.region::<Moving>().expect("region");
        moving.insert_blocking("k".to_owned(), "v".to_owned());
        moving.flush().expect("flush");
        assert_eq!(moving.get_blocking(&"k".to_owned()).as_deref(), Some("v"));

        let on_disk = std::fs::read_dir(scratch.path().join("mc-moving"))
            .map(|files| files.count())
            .unwrap_or(0)
            > 0;
        let in_memcached = block_on(memcached.backend("mc-moving").get("k"))
            .expect("memcached")
            .is_some();
        #[cfg(feature = "redis")]
        let in_redis = {
            let client = redis::Client::open(redis.url()).expect("client");
            let mut connection = client.get_connection().expect("connection");
            redis::cmd("EXISTS")
                .arg("cache:mc-moving:k")
                .query::<u64>(&mut connection)
                .expect("EXISTS")
                > 0
        };
        #[cfg(not(feature = "redis"))]
        let in_redis = false;
        let found = match (on_disk, in_redis, in_memcached) {
            (false, false, false) => Found::Memory,
            (true, false, false) => Found::Disk,
            (false, true, false) => Found::Redis,
            (false, false, true) => Found::Memcached,
            other => panic!("{settings}: found in several places: {other:?}"),
        };
        assert_eq!(found, expected, "{settings}");
        assert_eq!(
            manager.settings("mc-moving").expect("settings").tier,
            match expected {
                Found::Memory => cache_runtime::config::Tier::Memory,
                Found::Disk => cache_runtime::config::Tier::Disk,
                Found::Redis => cache_runtime::config::Tier::Redis,
                Found::Memcached => cache_runtime::config::Tier::Backend,
            }
        );
        // Clean up what this case stored, so the next one starts empty.
        moving.clear_blocking().expect("clear");
    }
}

#[test]
fn a_sensitive_region_cannot_be_moved_to_memcached() {
    let server = MemcachedServer::start();
    let scratch = Scratch::new("memcached", "sensitive");
    let file = scratch.path().join("cache.toml");
    std::fs::write(
        &file,
        "[regions.mc-moving]\nsensitive = true\ntier = \"backend\"\nbackend = \"memcached\"\n",
    )
    .expect("config");
    let error = builder(&scratch, &memcached(&server))
        .config_file(&file)
        .build()
        .expect_err("sensitive stays in memory");
    let text = error.to_string();
    assert!(
        text.contains("mc-moving") && text.contains("sensitive") && text.contains("memory"),
        "{text}"
    );
}

#[custom_cache_region(name = "mc-layered", key = String, value = String, backend = "memcached", tier = "hybrid")]
struct Layered;

/// Two instances with a memory level over one Memcached, and a Redis
/// backplane: a write on one drops the other's stale memory copy, as with
/// hybrid over Redis (Memcached says it is shared between processes).
#[cfg(feature = "redis")]
#[test]
fn hybrid_instances_over_memcached_stay_coherent_through_the_backplane() {
    use std::time::Instant;

    let server = MemcachedServer::start();
    let redis = support::redis::RedisServer::start();
    let memcached = memcached(&server);
    let scratch = Scratch::new("memcached", "coherent");
    let instance = || {
        builder(&scratch, &memcached)
            .redis(cache_runtime::redis::RedisConfig::new(redis.url()))
            .build()
            .expect("manager")
    };
    let (a, b) = (instance(), instance());
    for manager in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !manager.backplane_stats().expect("backplane").subscribed {
            assert!(Instant::now() < deadline, "the backplane never subscribed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let (la, lb) = (
        a.region::<Layered>().expect("region"),
        b.region::<Layered>().expect("region"),
    );
    la.insert_blocking("k".to_owned(), "v1".to_owned());
    assert_eq!(lb.get_blocking(&"k".to_owned()).as_deref(), Some("v1"));
    la.insert_blocking("k".to_owned(), "v2".to_owned());
    let deadline = Instant::now() + Duration::from_secs(5);
    while lb.get_blocking(&"k".to_owned()).as_deref() != Some("v2") {
        assert!(
            Instant::now() < deadline,
            "b kept its stale memory copy: no invalidation arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let tiers = la.snapshot().tiers.expect("tiers");
    assert!(tiers.backplane_sent >= 2, "{tiers:?}");
    assert!(lb.snapshot().tiers.expect("tiers").backplane_received >= 1);
}
