//! The admin API's request latency over loopback (real HTTP, a real
//! manager): `GET /statistics` over 100 regions, a page of 100 entries,
//! the region list; then, once, what a fleet clear of 100,000 keys costs
//! across two managers sharing a real `redis-server` (started here on a
//! free loopback port). Reports only: nothing asserts a timing.
//!
//! `scripts/bench-admin.sh` runs it.

/// What the ephemeral servers share (a free port, waiting until ready).
#[path = "../../cache-runtime/src/test_support/server.rs"]
#[allow(dead_code, unreachable_pub)]
mod server;

/// An ephemeral `redis-server`, killed on drop.
#[path = "../../cache-runtime/src/test_support/redis.rs"]
#[allow(dead_code, unreachable_pub)]
mod redis_server;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cache_admin::client::Client;
use cache_admin::{AdminConfig, AdminServer, Role, Token};
use cache_runtime::config::Tier;
use cache_runtime::manager::RegionCodecs;
use cache_runtime::redis::RedisConfig;
use cache_runtime::{CacheManager, CacheManagerBuilder, RegionDescriptor};

const SECRET: &str = "bench-secret-0123456789";
const BASE: &str = "/api/config/caching";

/// A served API over 100 memory regions (each with some activity) and a
/// region of 1,000 entries to page through.
struct Served {
    runtime: tokio::runtime::Runtime,
    client: Client,
    _server: AdminServer,
    _manager: CacheManager,
}

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut builder = bare();
        for i in 0..100 {
            builder = builder.region_with(
                RegionDescriptor::builder(format!("bench-{i:03}"))
                    .max_entries(10_000)
                    .build()
                    .expect("descriptor"),
                RegionCodecs::<String, String>::serde(),
            );
        }
        let manager = builder.build().expect("manager");
        for i in 0..100 {
            let region = manager
                .region_named::<String, String>(&format!("bench-{i:03}"))
                .expect("region");
            let entries = if i == 0 { 1_000 } else { 10 };
            for key in 0..entries {
                region.insert_blocking(format!("key:{key:04}"), format!("value {key}"));
            }
            for key in 0..20 {
                region.get_blocking(&format!("key:{key:04}"));
            }
        }
        let server = runtime
            .block_on(cache_admin::serve(manager.clone(), admin_config()))
            .expect("serves");
        let client = Client::new(&server.url(), Some(SECRET.to_owned())).expect("client");
        Served {
            runtime,
            client,
            _server: server,
            _manager: manager,
        }
    })
}

fn bare() -> CacheManagerBuilder {
    CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
}

fn admin_config() -> AdminConfig {
    AdminConfig::new()
        .bind("127.0.0.1:0".parse().expect("address"))
        .mutations_per_minute(std::num::NonZeroU32::new(1_000_000).expect("non-zero"))
        .token(Token::new("bench", Role::Admin, SECRET).expect("token"))
}

fn get(path: &str) -> usize {
    let served = served();
    let reply = served
        .runtime
        .block_on(served.client.get(path))
        .expect("an answer");
    assert!(reply.status.is_success(), "{path}: {}", reply.status);
    reply.body.len()
}

#[divan::bench]
fn statistics_100_regions() -> usize {
    get(&format!("{BASE}/statistics"))
}

#[divan::bench]
fn entries_page_of_100() -> usize {
    get(&format!("{BASE}/bench-000/entries?limit=100"))
}

#[divan::bench]
fn regions_100() -> usize {
    get(&format!("{BASE}/regions"))
}

#[divan::bench]
fn health_live() -> usize {
    get("/health/live")
}

/// One fleet clear of 100,000 keys per instance, on two managers sharing a
/// Redis: a memory region, then a Redis region (one shared copy).
fn fleet_clear_report() {
    let server = redis_server::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let manager = || {
        bare()
            .redis(RedisConfig::new(server.url()).prefix("bench-fleet"))
            .region_with(
                RegionDescriptor::builder("fleet-memory")
                    .max_entries(1_000_000)
                    .build()
                    .expect("descriptor"),
                RegionCodecs::<String, String>::serde(),
            )
            .region_with(
                RegionDescriptor::builder("fleet-redis")
                    .tier(Tier::Redis)
                    .build()
                    .expect("descriptor"),
                RegionCodecs::<String, String>::serde(),
            )
            .build()
            .expect("manager")
    };
    let one = manager();
    let two = manager();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ![&one, &two]
        .iter()
        .all(|m| m.backplane_stats().is_some_and(|s| s.subscribed))
    {
        assert!(Instant::now() < deadline, "backplanes never subscribed");
        std::thread::sleep(Duration::from_millis(20));
    }
    const KEYS: usize = 100_000;
    for manager in [&one, &two] {
        let region = manager
            .region_named::<String, String>("fleet-memory")
            .expect("region");
        for key in 0..KEYS {
            region.insert_blocking(format!("user:{key}"), String::from("v"));
        }
    }
    let redis = one
        .region_named::<String, String>("fleet-redis")
        .expect("region");
    let batch: Vec<(String, String)> = (0..KEYS)
        .map(|key| (format!("user:{key}"), String::from("v")))
        .collect();
    for chunk in batch.chunks(5_000) {
        runtime
            .block_on(redis.insert_many(chunk.to_vec()))
            .expect("insert_many");
    }
    let admin = runtime
        .block_on(cache_admin::serve(one.clone(), admin_config()))
        .expect("serves");
    let client = Client::new(&admin.url(), Some(SECRET.to_owned())).expect("client");
    println!("\nfleet clear over HTTP, two instances on one redis-server (loopback):");
    for region in ["fleet-memory", "fleet-redis"] {
        let body = serde_json::json!({"reason": "bench", "wait_ms": 30000});
        let start = Instant::now();
        let reply = runtime
            .block_on(client.send(
                hyper::Method::POST,
                &format!("{BASE}/{region}/clear?scope=fleet"),
                Some(&body),
                &[],
            ))
            .expect("an answer");
        let took = start.elapsed();
        let json = reply.json();
        println!(
            "  {region}: {took:.2?} for {} removed here + {} on {} of {} other instance(s) (HTTP {})",
            json["removed"],
            json["fleet"]["removed"],
            json["fleet"]["answered"],
            json["fleet"]["reached"],
            reply.status
        );
    }
    runtime.block_on(admin.shutdown());
}

fn main() {
    divan::main();
    if std::env::var_os("BENCH_SKIP_FLEET").is_none() {
        fleet_clear_report();
    }
}
