//! Where a Redis region's operations are driven: on a connection of the
//! caller's own tokio runtime when it has its IO and time drivers (no hop
//! to the manager's I/O thread), else through the I/O thread — blocking
//! calls, runtimes without drivers, `io_thread_only`. A runtime that shuts
//! down takes its connection with it; the next runtime opens its own.

#![cfg(feature = "redis")]

mod support;

use std::time::Duration;

use cache_runtime::{CacheManager, cache_region, redis::RedisConfig};
use support::Scratch;
use support::redis::RedisServer;

#[cache_region(name = "rr-users", key = String, value = String, tier = "redis", ttl = "1h")]
struct Users;

fn manager(redis: RedisConfig, scratch: &Scratch) -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path().join("regions"))
        .redis(
            redis
                .prefix("rr")
                .backplane(false)
                .response_timeout(Duration::from_secs(2)),
        )
        .build()
        .expect("manager")
}

fn connections(manager: &CacheManager) -> u64 {
    manager.redis_health().expect("redis").connections
}

fn full_runtime(multi_thread: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn each_runtime_drives_its_own_connection_and_blocking_calls_use_the_io_thread() {
    let server = RedisServer::start();
    let scratch = Scratch::new("redis-runtimes", "own");
    let manager = manager(RedisConfig::new(server.url()), &scratch);
    let users = manager.region::<Users>().expect("region");

    // A blocking call: the I/O thread's connection.
    users.insert_blocking("ada".into(), "lovelace".into());
    assert_eq!(connections(&manager), 1);

    // A multi-thread runtime: one connection of its own, kept for every
    // call and every task on it.
    let runtime = full_runtime(true);
    let read = runtime.block_on(async {
        let first = users.try_get(&"ada".into()).await.expect("get");
        let spawned = {
            let users = users.clone();
            tokio::spawn(async move { users.try_get(&"ada".into()).await })
        };
        let second = spawned.await.expect("task").expect("get");
        (first, second)
    });
    assert_eq!(read.0.as_deref(), Some("lovelace"));
    assert_eq!(read.1.as_deref(), Some("lovelace"));
    assert_eq!(connections(&manager), 2, "one more, for the runtime");

    // A blocking call from inside that runtime's thread does not wait on
    // the runtime it blocks: it goes through the I/O thread.
    let from_inside = runtime
        .block_on(async { tokio::task::block_in_place(|| users.get_blocking(&"ada".into())) });
    assert_eq!(from_inside.as_deref(), Some("lovelace"));
    assert_eq!(connections(&manager), 2);

    // The runtime shuts down, its connection with it; another one (here a
    // current-thread runtime) opens its own and reads what was written.
    drop(runtime);
    let other = full_runtime(false);
    let value = other.block_on(users.try_get(&"ada".into())).expect("get");
    assert_eq!(value.as_deref(), Some("lovelace"));
    assert_eq!(connections(&manager), 3);
    other
        .block_on(users.try_insert("grace".into(), "hopper".into()))
        .expect("insert");
    assert_eq!(
        users.get_blocking(&"grace".into()).as_deref(),
        Some("hopper")
    );
    assert_eq!(connections(&manager), 3);
}

#[test]
fn runtimes_without_drivers_and_io_thread_only_go_through_the_io_thread() {
    let server = RedisServer::start();
    let scratch = Scratch::new("redis-runtimes", "io-thread");

    // A runtime without IO or timers: the call works, through the I/O
    // thread, and nothing panics.
    let manager_a = manager(RedisConfig::new(server.url()), &scratch);
    let users = manager_a.region::<Users>().expect("region");
    users.insert_blocking("k".into(), "v".into());
    let bare = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let value = bare.block_on(users.try_get(&"k".into())).expect("get");
    assert_eq!(value.as_deref(), Some("v"));
    assert_eq!(connections(&manager_a), 1);

    // io_thread_only: a runtime with its drivers still goes through the
    // I/O thread.
    let manager_b = manager(RedisConfig::new(server.url()).io_thread_only(), &scratch);
    let users_b = manager_b.region::<Users>().expect("region");
    let runtime = full_runtime(true);
    let value = runtime.block_on(users_b.try_get(&"k".into())).expect("get");
    assert_eq!(value.as_deref(), Some("v"));
    assert_eq!(users_b.get_blocking(&"k".into()).as_deref(), Some("v"));
    assert_eq!(connections(&manager_b), 1);
}
