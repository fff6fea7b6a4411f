//! Redis as a storage backend registered by name: the public conformance
//! suite against a real `redis-server`, a killed server (errors, not
//! panics), and a region declared on it end to end.

#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use cache_runtime::backend::{Backend, conformance};
use cache_runtime::manager::{EntryQuery, RegionCodecs};
use cache_runtime::redis::{RedisConfig, RedisConnection};
use cache_runtime::{CacheError, CacheManager, RegionDescriptor};
use support::redis::RedisServer;
use support::{Scratch, block_on};

fn connection(server: &RedisServer) -> RedisConnection {
    RedisConnection::open(RedisConfig::new(server.url()).response_timeout(Duration::from_secs(2)))
        .expect("connection")
}

#[test]
fn redis_passes_the_conformance_suite() {
    let server = RedisServer::start();
    let redis = connection(&server);
    let report = block_on(conformance::check(move |region: &str| {
        Ok(Arc::new(redis.backend(region)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    // Redis counts no region's keys without a scan of the whole server.
    assert_eq!(
        report.skipped,
        [("count", "no count capability")],
        "{report}"
    );
    println!("redis backend: {report}");
}

#[test]
fn a_stopped_redis_gives_errors_not_panics() {
    let mut server = RedisServer::start();
    let redis = connection(&server);
    server.kill();
    block_on(conformance::check_outage(move |region: &str| {
        Ok(Arc::new(redis.backend(region)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn a_region_on_the_redis_backend_works_through_a_manager() {
    let server = RedisServer::start();
    let scratch = Scratch::new("redis-backend", "manager");
    let manager = CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path())
        .backend("shared-redis", connection(&server).factory())
        .region_with(
            RegionDescriptor::builder("rb-sessions")
                .backend("shared-redis")
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, u64>::serde(),
        )
        .build()
        .expect("manager");
    let sessions = manager
        .region_named::<String, u64>("rb-sessions")
        .expect("region");
    sessions.insert_blocking("s1".to_owned(), 7);
    assert_eq!(sessions.get_blocking(&"s1".to_owned()), Some(7));
    assert_eq!(sessions.len(), None, "unknown, never 0");
    let error = sessions
        .entries_blocking(&EntryQuery::first(10).after("not-a-cursor"))
        .expect_err("a cursor Redis never handed out");
    assert!(
        matches!(&error, CacheError::BadCursor { cursor, .. } if cursor == "not-a-cursor"),
        "{error:?}"
    );
    assert_eq!(sessions.clear_matching_blocking("s*").expect("clear"), 1);
    assert_eq!(sessions.get_blocking(&"s1".to_owned()), None);
}
