//! Dynamic configuration shared through Redis: two managers on one
//! `redis-server` (started per test on a free loopback port) see each
//! other's changes, share one history and version sequence, and a manager
//! started later takes the overrides from Redis.

#![cfg(feature = "redis")]

mod support;

use std::time::{Duration, Instant};

use cache_runtime::{CacheManager, cache_region, config::ConfigChange, redis::RedisConfig};
use support::Scratch;
use support::redis::RedisServer;

#[cache_region(name = "cfgr-shared", key = String, value = String, tier = "hybrid", ttl = "1h", max_entries = 1000)]
struct Shared;

fn manager(server: &RedisServer, scratch: &Scratch, backplane: bool) -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path().join("regions"))
        .config_state_file(scratch.path().join("never-written.json"))
        .redis(
            RedisConfig::new(server.url())
                .prefix("cfgr")
                .backplane(backplane)
                .backplane_ping_every(Duration::from_millis(200))
                .connect_timeout(Duration::from_millis(500)),
        )
        .build()
        .expect("manager")
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_managers_sharing_redis_see_each_others_changes() {
    let server = RedisServer::start();
    let scratch = Scratch::new("config-redis", "two");
    let a = manager(&server, &scratch, true);
    let b = manager(&server, &scratch, true);
    let b_region = b.region::<Shared>().expect("region");
    b_region.insert_blocking("kept".into(), "v".into());

    a.configure_blocking(ConfigChange::new("ops:a", "shorter").set("cfgr-shared", "ttl", "10m"))
        .expect("a's change");
    wait_for("b taking a's change", || {
        b.settings("cfgr-shared").expect("settings").ttl == Some(Duration::from_secs(600))
    });
    assert_eq!(b.config_version(), 1);
    assert_eq!(b_region.get_blocking(&"kept".into()).as_deref(), Some("v"));

    let record = b
        .configure_blocking(ConfigChange::new("ops:b", "bigger").set(
            "cfgr-shared",
            "max_entries",
            5000,
        ))
        .expect("b's change");
    assert_eq!(record.version, 2, "one version sequence for both");
    wait_for("a taking b's change", || {
        a.settings("cfgr-shared").expect("settings").max_entries == Some(5000)
    });
    assert_eq!(
        a.history_blocking().expect("a"),
        b.history_blocking().expect("b")
    );
    assert!(
        !scratch.path().join("never-written.json").exists(),
        "with Redis, the state lives there"
    );

    a.rollback_blocking(0, "ops:a", "back").expect("rollback");
    wait_for("b taking the rollback", || {
        b.settings("cfgr-shared").expect("settings").ttl == Some(Duration::from_secs(3600))
    });
    drop((a, b));

    // A manager started later takes the shared overrides at once.
    let c = manager(&server, &scratch, true);
    assert_eq!(c.config_version(), 3);
    assert_eq!(c.history_blocking().expect("history").len(), 3);
}

#[test]
fn without_the_backplane_changes_arrive_by_polling() {
    let server = RedisServer::start();
    let scratch = Scratch::new("config-redis", "poll");
    let a = manager(&server, &scratch, false);
    let b = manager(&server, &scratch, false);
    a.configure_blocking(ConfigChange::new("ops:a", "poll").set("cfgr-shared", "eviction", "lru"))
        .expect("change");
    wait_for("b polling a's change", || {
        b.settings("cfgr-shared").expect("settings").eviction
            == cache_runtime::config::Eviction::Lru
    });
}
