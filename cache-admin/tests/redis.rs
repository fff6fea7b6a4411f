//! The admin API over Redis regions, against a real `redis-server` started
//! here: browsing and statistics of a Redis region, readiness while Redis
//! is paused, and a fleet clear across two managers sharing one Redis.

#![cfg(feature = "redis")]

mod support;

/// What the ephemeral servers share (a free port, waiting until ready).
#[path = "../../cache-runtime/src/test_support/server.rs"]
#[allow(dead_code)]
mod server;

/// An ephemeral `redis-server`, killed on drop.
#[path = "../../cache-runtime/src/test_support/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::time::{Duration, Instant};

use cache_runtime::CacheManager;
use cache_runtime::RegionDescriptor;
use cache_runtime::config::Tier;
use cache_runtime::manager::RegionCodecs;
use cache_runtime::redis::RedisConfig;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use redis_server::RedisServer;
use support::{Admin, config};

const BASE: &str = "/api/config/caching";

/// A manager on `server` with a memory region, a Redis region and a hybrid
/// one (prefix `prefix`, shared by the managers of one test).
fn manager(server: &RedisServer, prefix: &str) -> CacheManager {
    CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .background_stats(false)
        .redis(
            RedisConfig::new(server.url())
                .prefix(prefix)
                .backplane_ping_every(Duration::from_millis(200)),
        )
        .region_with(
            RegionDescriptor::builder("fleet-users")
                .max_entries(10_000)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .region_with(
            RegionDescriptor::builder("fleet-shared")
                .tier(Tier::Redis)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .region_with(
            RegionDescriptor::builder("fleet-hybrid")
                .tier(Tier::Hybrid)
                .build()
                .expect("descriptor"),
            RegionCodecs::<String, String>::serde(),
        )
        .build()
        .expect("manager")
}

async fn until_subscribed(managers: &[&CacheManager]) {
    let start = Instant::now();
    while !managers.iter().all(|manager| {
        manager
            .backplane_stats()
            .is_some_and(|stats| stats.subscribed)
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "backplanes never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn fill(manager: &CacheManager, region: &str, keys: impl Iterator<Item = String>) {
    let handle = manager
        .region_named::<String, String>(region)
        .expect("region");
    for key in keys {
        handle.insert(key.clone(), format!("value of {key}")).await;
    }
}

fn len(manager: &CacheManager, region: &str) -> Option<u64> {
    let handle = manager
        .region_named::<String, String>(region)
        .expect("region");
    handle.run_pending_tasks();
    handle.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_clear_reaches_every_instance_and_counts_their_answers() {
    let server = RedisServer::start();
    let one = manager(&server, "admin-fleet");
    let two = manager(&server, "admin-fleet");
    until_subscribed(&[&one, &two]).await;
    fill(&one, "fleet-users", (0..50).map(|i| format!("user:{i}"))).await;
    fill(&two, "fleet-users", (0..30).map(|i| format!("user:{i}"))).await;
    let admin = Admin::start(one.clone(), config()).await;

    // By pattern: user:1, user:10..19 on each instance.
    let reply = admin
        .admin(
            Method::POST,
            &format!("{BASE}/fleet-users/clear?scope=fleet"),
            Some(json!({"pattern": "user:1*", "reason": "test", "wait_ms": 5000})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["scope"], "fleet");
    assert_eq!(body["removed"], 11);
    assert_eq!(body["fleet"]["reached"], 1, "{body}");
    assert_eq!(body["fleet"]["answered"], 1, "{body}");
    assert_eq!(body["fleet"]["removed"], 11, "{body}");
    assert_eq!(len(&one, "fleet-users"), Some(39));
    assert_eq!(len(&two, "fleet-users"), Some(19));

    // The whole region.
    let reply = admin
        .admin(
            Method::POST,
            &format!("{BASE}/fleet-users/clear?scope=fleet"),
            Some(json!({"reason": "test"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["fleet"]["removed"], 19);
    assert_eq!(len(&one, "fleet-users"), Some(0));
    assert_eq!(len(&two, "fleet-users"), Some(0));

    // A hybrid region: the shared Redis level is cleared once, and the
    // other instance's memory level too.
    fill(&one, "fleet-hybrid", (0..5).map(|i| format!("h:{i}"))).await;
    let hybrid_two = two
        .region_named::<String, String>("fleet-hybrid")
        .expect("region");
    assert_eq!(
        hybrid_two.get(&String::from("h:1")).await.as_deref(),
        Some("value of h:1"),
        "read through from Redis into the second instance's memory"
    );
    let reply = admin
        .admin(
            Method::POST,
            &format!("{BASE}/fleet-hybrid/clear?scope=fleet"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(hybrid_two.get(&String::from("h:1")).await, None);

    // The trail says it was every instance.
    let audit = admin.read(&format!("{BASE}/audit")).await.json();
    let details: Vec<&str> = audit
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|record| record["detail"].as_str())
        .collect();
    assert!(
        details
            .iter()
            .any(|detail| detail.ends_with("every instance")),
        "{details:?}"
    );

    // Bad waits are refused before anything is cleared.
    let reply = admin
        .admin(
            Method::POST,
            &format!("{BASE}/fleet-users/clear?scope=fleet"),
            Some(json!({"wait_ms": 0})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"]["field"], "wait_ms");
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_figures_sum_every_instance() {
    let server = RedisServer::start();
    let one = manager(&server, "admin-fleet-stats");
    let two = manager(&server, "admin-fleet-stats");
    for (manager, gets) in [(&one, 3), (&two, 4)] {
        fill(manager, "fleet-users", (0..2).map(|i| format!("user:{i}"))).await;
        let users = manager
            .region_named::<String, String>("fleet-users")
            .expect("region");
        for _ in 0..gets {
            assert!(users.get(&String::from("user:0")).await.is_some());
        }
        assert!(users.get(&String::from("absent")).await.is_none());
        manager.flush_fleet_stats().await.expect("flushed");
    }
    let admin = Admin::start(one.clone(), config()).await;
    let reply = admin.read(&format!("{BASE}/fleet")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let users = body
        .as_array()
        .and_then(|views| views.iter().find(|view| view["region"] == "fleet-users"))
        .cloned()
        .expect("the region's fleet figures");
    assert_eq!(
        (users["hits"].as_u64(), users["misses"].as_u64()),
        (Some(7), Some(2)),
        "{users}"
    );
    assert_eq!(users["inserts"], 4);
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_clear_without_redis_is_a_conflict() {
    let scratch = support::Scratch::new("no-redis-fleet");
    let admin = Admin::start(support::manager(&scratch), config()).await;
    let reply = admin
        .admin(
            Method::POST,
            &format!("{BASE}/admin-users/clear?scope=fleet"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"]["code"], "tier_unavailable");
    assert_eq!(body["error"]["region"], "admin-users");
    let fleet = admin.read(&format!("{BASE}/fleet")).await;
    assert_eq!(fleet.status, StatusCode::CONFLICT, "{}", fleet.text());
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_regions_are_browsed_counted_and_survive_a_paused_server() {
    let server = RedisServer::start();
    let manager = manager(&server, "admin-redis");
    fill(
        &manager,
        "fleet-shared",
        (0..120).map(|i| format!("k:{i:03}")),
    )
    .await;
    let shared = manager
        .region_named::<String, String>("fleet-shared")
        .expect("region");
    assert!(shared.get(&String::from("k:007")).await.is_some());
    assert!(shared.get(&String::from("absent")).await.is_none());
    let admin = Admin::start(manager.clone(), config()).await;

    let regions = admin.read(&format!("{BASE}/regions")).await.json();
    let view = regions
        .as_array()
        .expect("regions")
        .iter()
        .find(|region| region["name"] == "fleet-shared")
        .cloned()
        .expect("the Redis region is listed");
    assert_eq!(view["tier"], "redis");

    // Cursor paging over Redis' SCAN: every key once.
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!("{BASE}/fleet-shared/entries?limit=25&match=k:*");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = admin.admin(Method::GET, &path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let page = page.json();
        for entry in page["entries"].as_array().expect("entries") {
            assert_eq!(entry["tier"], "redis", "{entry}");
            seen.insert(entry["key"].as_str().expect("key").to_owned());
        }
        cursor = page["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 120);

    let entry = admin
        .admin(
            Method::GET,
            &format!("{BASE}/fleet-shared/entries/k:042"),
            None,
        )
        .await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.text());
    assert_eq!(entry.json()["value"], "value of k:042");
    let deleted = admin
        .admin(
            Method::DELETE,
            &format!("{BASE}/fleet-shared/entries/k:042"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    assert_eq!(shared.get(&String::from("k:042")).await, None);

    // Per-tier figures, in the statistics and the metrics.
    let stats = admin
        .read(&format!("{BASE}/statistics/fleet-shared"))
        .await
        .json();
    assert!(
        stats["totals"]["tiers"]["l2_hits"].as_u64() >= Some(1),
        "{stats}"
    );
    let metrics = admin.read("/metrics").await.text();
    assert!(
        metrics.contains(
            "cache_tier_gets_total{region=\"fleet-shared\",tier=\"redis\",result=\"hit\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "cache_region_info{region=\"fleet-shared\",tier=\"redis\",second_level=\"redis\",sensitive=\"false\"} 1"
    ));

    // Redis paused: the service stays ready (its regions degrade), and the
    // Redis component says why.
    let ready = admin.read("/health/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body = ready.json();
    let named = |name: &str| {
        body["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} component in {body}"))
    };
    assert!(
        named("redis")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("PING ")),
        "{body}"
    );
    let backplane = named("backplane");
    assert_eq!(backplane["status"], "up", "{backplane}");
    assert!(
        backplane["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("subscribed")),
        "{backplane}"
    );
    server.pause();
    let start = Instant::now();
    let degraded = loop {
        // A Redis read fails, so the manager notices.
        let _ = shared.try_get(&String::from("k:001")).await;
        let ready = admin.read("/health/ready").await;
        let body: Value = ready.json();
        let redis = body["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == "redis"))
            .cloned();
        if redis
            .as_ref()
            .is_some_and(|redis| redis["status"] == "degraded")
        {
            assert_eq!(
                ready.status,
                StatusCode::OK,
                "a cache outage is not unready"
            );
            break true;
        }
        if start.elapsed() > Duration::from_secs(20) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    server.resume();
    assert!(degraded, "the Redis component never reported the pause");
    admin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_a_redis_region_to_the_end_lists_every_key_once() {
    let server = RedisServer::start();
    let manager = manager(&server, "admin-paging");
    fill(
        &manager,
        "fleet-shared",
        (0..300).map(|i| format!("s:{i:03}")),
    )
    .await;
    let admin = Admin::start(manager.clone(), config()).await;
    let mut seen = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut path = format!("{BASE}/fleet-shared/entries?limit=50");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = admin.admin(Method::GET, &path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
        let page = page.json();
        let entries = page["entries"].as_array().expect("entries").len();
        pages.push(entries);
        for entry in page["entries"].as_array().expect("entries") {
            *seen
                .entry(entry["key"].as_str().expect("key").to_owned())
                .or_insert(0) += 1;
        }
        cursor = page["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
        assert!(pages.len() < 100, "{pages:?}");
    }
    assert_eq!(seen.len(), 300, "pages {pages:?}");
    println!("pages of a 300-key Redis region, limit 50: {pages:?}");
    admin.stop().await;
}

/// Alert rules for the fleet test: memory above 0.01 % of the limit on
/// `fleet-users` (a few entries of 10,000), firing at once, to `hook`.
fn fleet_rules(hook: &str) -> cache_admin::alerts::AlertRules {
    use cache_admin::alerts::{AlertRules, ChannelConfig, ChannelTarget, Override};
    let mut rules = AlertRules::default();
    for rule in &mut rules.rules {
        rule.enabled = rule.id == "memory_high";
        rule.for_secs = 0;
        rule.keep_firing_for_secs = 0;
        rule.regions = vec![String::from("fleet-users")];
        if rule.id == "memory_high" {
            rule.overrides.insert(
                String::from("fleet-users"),
                Override {
                    threshold: Some(0.01),
                    recover: Some(0.005),
                    enabled: None,
                },
            );
        }
    }
    rules.channels.push(ChannelConfig {
        id: String::from("ops-hook"),
        target: ChannelTarget::Webhook {
            url: hook.to_owned(),
            hmac_key: None,
            timeout_secs: 5,
            retries: 0,
            ca_pem: None,
        },
    });
    rules
}

async fn until_json(admin: &Admin, path: &str, what: &str, test: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let body = admin.read(path).await.json();
        if test(&body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never {what}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_pages_for_the_fleet_and_a_takeover_does_not_page_again() {
    let server = RedisServer::start();
    let (hook, received, _receiver) = support::receiver(0).await;
    let one = manager(&server, "admin-fleet-alerts");
    let two = manager(&server, "admin-fleet-alerts");
    for manager in [&one, &two] {
        fill(manager, "fleet-users", (0..5).map(|i| format!("user:{i}"))).await;
    }
    let settings = || {
        cache_admin::AlertSettings::new()
            .rules(fleet_rules(&hook))
            .evaluate_every(Duration::from_millis(50))
    };
    let first = Admin::start(one.clone(), config().alerts(settings())).await;
    let second = Admin::start(two.clone(), config().alerts(settings())).await;
    let alerts = format!("{BASE}/alerts");
    let firing = |body: &Value| body["firing"].as_array().is_some_and(|f| f.len() == 1);

    // Both show the alert; one of them notifies; exactly one page.
    for admin in [&first, &second] {
        until_json(admin, &alerts, "firing on both", firing).await;
    }
    let start = Instant::now();
    while received.all().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "never paged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.all().len(), 1, "paged once for the fleet");
    let views = [
        first.read(&alerts).await.json(),
        second.read(&alerts).await.json(),
    ];
    let notifiers = views.iter().filter(|v| v["notifying"] == true).count();
    assert_eq!(notifiers, 1, "{views:?}");
    assert_ne!(views[0]["fleet_member"], views[1]["fleet_member"]);

    // A silence made on one instance is the other's too.
    let made = second
        .admin(
            Method::POST,
            &format!("{BASE}/alerts/silences"),
            Some(json!({
                "matchers": [{"name": "alertname", "value": "backend_down"}],
                "duration_secs": 600,
                "comment": "shared silence"
            })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    until_json(&first, &alerts, "the silence shared", |body| {
        body["silences"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["comment"] == "shared silence"))
    })
    .await;
    // So is a rules change, versioned once for the fleet.
    let rules = first.read(&format!("{BASE}/alerts/rules")).await;
    let etag = rules
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let changed = first
        .call(
            Some(support::ADMIN_SECRET),
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(rules.json()["rules"].clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let stale = second
        .call(
            Some(support::ADMIN_SECRET),
            Method::PUT,
            &format!("{BASE}/alerts/rules"),
            Some(rules.json()["rules"].clone()),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text()
    );

    // The notifier stops; the other takes over and, the alert still
    // firing, does not page again.
    let (notifier, other) = if views[0]["notifying"] == true {
        (first, second)
    } else {
        (second, first)
    };
    let remaining = other.manager.clone();
    notifier.stop().await;
    until_json(&other, &alerts, "the takeover", |body| {
        body["notifying"] == true
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.all().len(), 1, "a takeover pages nothing again");
    let still = other.read(&alerts).await.json();
    assert!(firing(&still), "{still}");
    assert_eq!(still["firing"][0]["notified"], true);

    // Resolved on the remaining instance: one resolved page.
    remaining
        .clear_region("fleet-users")
        .await
        .expect("cleared");
    until_json(&other, &alerts, "resolved", |body| {
        body["firing"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let start = Instant::now();
    while received.all().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "never resolved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pages = received.all();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].1["status"], "resolved");
    other.stop().await;
}

/// `redis-cli` against `server` with `args`; its output.
fn redis_cli(server: &RedisServer, args: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli")
        .arg("-u")
        .arg(server.url())
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_instance_is_missing_and_a_clean_stop_is_not() {
    use cache_admin::alerts::{AlertRules, ChannelConfig, ChannelTarget};

    let server = RedisServer::start();
    let (hook, received, _receiver) = support::receiver(0).await;
    let mut rules = AlertRules::default();
    for rule in &mut rules.rules {
        rule.enabled = rule.id == "fleet_instance_missing";
        if rule.enabled {
            rule.threshold = 3.0;
            rule.recover = Some(3.0);
        }
    }
    rules.channels.push(ChannelConfig {
        id: String::from("ops-hook"),
        target: ChannelTarget::Webhook {
            url: hook,
            hmac_key: None,
            timeout_secs: 5,
            retries: 0,
            ca_pem: None,
        },
    });
    let settings = || {
        cache_admin::AlertSettings::new()
            .rules(rules.clone())
            .evaluate_every(Duration::from_millis(50))
    };
    let first = Admin::start(
        manager(&server, "admin-fleet-missing"),
        config().alerts(settings()),
    )
    .await;
    let second = Admin::start(
        manager(&server, "admin-fleet-missing"),
        config().alerts(settings()),
    )
    .await;
    let alerts = format!("{BASE}/alerts");
    let overview = second.read(&alerts).await.json();
    assert_eq!(
        overview["warnings"],
        json!([]),
        "the rules are the test's own"
    );
    let member = overview["fleet_member"]
        .as_str()
        .expect("a fleet member")
        .to_owned();
    assert!(member.contains('@'), "program@host:pid/id: {member}");

    // A clean stop leaves the group: nobody is missing, nothing is paged.
    second.stop().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let body = first.read(&alerts).await.json();
    assert!(
        body["firing"].as_array().is_some_and(Vec::is_empty),
        "{body}"
    );
    assert!(received.all().is_empty());

    // An instance last heard from two minutes ago (it crashed): firing,
    // paged with its name.
    let now: u64 = redis_cli(&server, &["TIME"])
        .lines()
        .next()
        .and_then(|seconds| seconds.trim().parse().ok())
        .expect("the server's time");
    let seen = (now - 120) * 1000;
    redis_cli(
        &server,
        &[
            "HSET",
            "admin-fleet-missing:members:alerts",
            "crashed@host:1/0",
            &seen.to_string(),
        ],
    );
    let body = until_json(&first, &alerts, "the missing instance", |body| {
        body["firing"].as_array().is_some_and(|f| f.len() == 1)
    })
    .await;
    assert_eq!(
        body["firing"][0]["labels"]["instance"], "crashed@host:1/0",
        "{body}"
    );
    let start = Instant::now();
    while received.all().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "never paged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pages = received.all();
    assert_eq!(
        pages[0].1["alerts"][0]["labels"]["alertname"],
        "fleet_instance_missing"
    );
    assert!(
        pages[0].1["alerts"][0]["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("instance crashed@host:1/0")),
        "{:?}",
        pages[0].1
    );
    // Taken out of the group by hand: resolved.
    redis_cli(
        &server,
        &[
            "HDEL",
            "admin-fleet-missing:members:alerts",
            "crashed@host:1/0",
        ],
    );
    until_json(&first, &alerts, "resolved", |body| {
        body["firing"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    first.stop().await;
}
