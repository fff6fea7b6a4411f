//! The Redis level's tests: pure ones first, then each against its own
//! ephemeral `redis-server` (see `test_support::redis`).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;
use crate::redis_tier::{RedisConfig, mask_password};
use crate::test_support::redis::RedisServer;

fn config(server: &RedisServer) -> RedisConfig {
    RedisConfig::new(server.url()).prefix("test")
}

async fn connect(config: RedisConfig) -> Arc<RedisLink> {
    Arc::new(RedisLink::open(config).unwrap())
}

fn level(link: &Arc<RedisLink>, region: &str) -> RedisLevel {
    RedisLevel::new(link, region)
}

/// A raw command on the level's connection, for what the level never does.
async fn raw<T: redis::FromRedisValue>(link: &RedisLink, command: &redis::Cmd) -> T {
    let mut connection = link.connection().await.unwrap();
    command.query_async(&mut connection).await.unwrap()
}

async fn key_count(connection: &RedisLink) -> u64 {
    raw(connection, &redis::cmd("DBSIZE")).await
}

// ---- without a server ----

#[test]
fn ttls_are_clamped_to_what_px_accepts() {
    assert_eq!(ttl_ms(Duration::ZERO), 1);
    assert_eq!(ttl_ms(Duration::from_micros(10)), 1);
    assert_eq!(ttl_ms(Duration::from_millis(1_500)), 1_500);
    assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
}

#[test]
fn passwords_are_masked_in_messages() {
    assert_eq!(
        mask_password("redis://127.0.0.1:6379/0"),
        "redis://127.0.0.1:6379/0"
    );
    assert_eq!(
        mask_password("redis://app:s3cret@cache:6379/"),
        "redis://app:***@cache:6379/"
    );
    assert_eq!(
        mask_password("rediss://:s3cret@cache/1"),
        "rediss://:***@cache/1"
    );
    assert_eq!(mask_password("redis://lone@cache"), "redis://***@cache");
    assert_eq!(mask_password("not a url"), "not a url");
}

#[test]
fn long_keys_are_cut_in_messages() {
    assert_eq!(key_target("a:b"), "key `a:b`");
    let long = "é".repeat(300);
    assert_eq!(key_target(&long), format!("key `{}`…", "é".repeat(200)));
}

#[tokio::test]
async fn a_bad_url_is_a_typed_error() {
    let error = RedisLink::open(RedisConfig::new("http://app:pw@host/")).unwrap_err();
    assert!(matches!(error, RedisError::Url { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("http://app:***@host/"), "{message}");
    assert!(!message.contains("pw"), "{message}");
}

#[tokio::test]
async fn nothing_listening_is_a_connection_error_not_a_hang() {
    // A port that was free a moment ago: nothing accepts on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let link = RedisLink::open(RedisConfig::new(format!("redis://127.0.0.1:{port}/"))).unwrap();
    let error = link.connection().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(
            error,
            RedisError::Connection { .. } | RedisError::Timeout { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("connect to"), "{error}");
}

// ---- against a server ----

#[tokio::test]
async fn keys_are_prefix_region_and_key_text() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    assert_eq!(users.redis_key("42"), "test:users:42");
    assert_eq!(users.redis_key("a:b*"), "test:users:a:b*");
    users.put("a:b*", b"v", None).await.unwrap();
    let exists: u64 = raw(&connection, redis::cmd("EXISTS").arg("test:users:a:b*")).await;
    assert_eq!(exists, 1);

    let tagged = connect(config(&server).hash_tag(true)).await;
    let tagged_users = level(&tagged, "users");
    assert_eq!(tagged_users.redis_key("42"), "test:{users}:42");
    tagged_users.put("42", b"t", None).await.unwrap();
    assert_eq!(
        tagged_users.get("42").await.unwrap().into_value(),
        Some(b"t".to_vec())
    );
    // The two layouts are different keys, cleared apart.
    assert_eq!(users.get("42").await.unwrap(), RedisLookup::Missing);
    assert_eq!(tagged_users.clear().await.unwrap(), 1);
    assert_eq!(users.clear().await.unwrap(), 1);
}

#[tokio::test]
async fn a_prefix_with_pattern_characters_clears_only_its_keys() {
    let server = RedisServer::start();
    let weird = connect(config(&server).prefix("w?*[x]\\")).await;
    let plain = connect(config(&server).prefix("wAB[x]\\")).await;
    let plain_x = connect(config(&server).prefix("wAx\\")).await;
    for connection in [&weird, &plain, &plain_x] {
        level(connection, "users")
            .put("k1", b"v", None)
            .await
            .unwrap();
    }
    let users = level(&weird, "users");
    assert_eq!(users.clear_matching(&Glob::key("k*")).await.unwrap(), 1);
    assert_eq!(key_count(&weird).await, 2);
    users.put("k1", b"v", None).await.unwrap();
    assert_eq!(users.clear().await.unwrap(), 1);
    assert_eq!(key_count(&weird).await, 2);
}

#[tokio::test]
async fn values_round_trip_and_are_removed() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    assert_eq!(users.get("ada").await.unwrap(), RedisLookup::Missing);
    users.put("ada", b"{\"id\":1}", None).await.unwrap();
    assert_eq!(
        users.get("ada").await.unwrap().into_value(),
        Some(b"{\"id\":1}".to_vec())
    );
    users.put("ada", b"{\"id\":2}", None).await.unwrap();
    assert_eq!(
        users.get("ada").await.unwrap().into_value(),
        Some(b"{\"id\":2}".to_vec())
    );
    assert!(users.remove("ada").await.unwrap());
    assert!(!users.remove("ada").await.unwrap());
    assert_eq!(users.get("ada").await.unwrap(), RedisLookup::Missing);
    // Empty and binary values.
    users.put("", b"", None).await.unwrap();
    users.put("bin", &[0, 255, 13, 10], None).await.unwrap();
    assert_eq!(users.get("").await.unwrap().into_value(), Some(Vec::new()));
    assert_eq!(
        users.get("bin").await.unwrap().into_value(),
        Some(vec![0, 255, 13, 10])
    );
}

#[tokio::test]
async fn ttls_are_native_and_values_expire() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    users
        .put("short", b"v", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    users
        .put("long", b"v", Some(Duration::from_secs(3_600)))
        .await
        .unwrap();
    let pttl: i64 = raw(&connection, redis::cmd("PTTL").arg("test:users:long")).await;
    assert!((3_590_000..=3_600_000).contains(&pttl), "{pttl}");

    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match users.get("short").await.unwrap() {
            RedisLookup::Missing => break,
            RedisLookup::Hit(_) => {}
        }
        assert!(Instant::now() < deadline, "the value never expired");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Gone from Redis itself, not only rejected.
    let exists: u64 = raw(&connection, redis::cmd("EXISTS").arg("test:users:short")).await;
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn a_batch_of_a_thousand_is_pipelined_in_chunks() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    let keys: Vec<String> = (0..1_000).map(|i| format!("user:{i}")).collect();
    let values: Vec<Vec<u8>> = (0..1_000)
        .map(|i| format!("value {i}").into_bytes())
        .collect();
    let entries: Vec<(&str, &[u8], Option<Duration>)> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| (k.as_str(), v.as_slice(), Some(Duration::from_secs(60))))
        .collect();
    users.put_many(&entries).await.unwrap();
    assert_eq!(key_count(&connection).await, 1_000);

    let mut asked: Vec<&str> = keys.iter().map(String::as_str).collect();
    asked.push("user:missing");
    let found = users.get_many(&asked).await.unwrap();
    assert_eq!(found.len(), 1_001);
    for (i, lookup) in found.into_iter().take(1_000).enumerate() {
        assert_eq!(lookup.into_value(), Some(values[i].clone()), "key {i}");
    }
    assert_eq!(
        users.get_many(&["user:missing"]).await.unwrap(),
        vec![RedisLookup::Missing]
    );
    assert!(users.get_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn clear_matching_agrees_with_glob_key() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    let others = level(&connection, "users-archive");
    let keys = [
        "user:1",
        "user:10",
        "user:2",
        "user:*",
        "user:?",
        "user:é",
        "user:日本",
        "admin:1",
        "a[b]",
        "a\\b",
        "ab",
        "",
        "x y",
        "{tag}:1",
        "[",
        "]",
        "^",
        "-",
        "é",
        "日本",
        "*",
        "?",
        "\\",
    ];
    let patterns = [
        "user:*", "user:?", "user:??", "user:\\*", "user:\\?", "[a-c]*", "[!u]*", "[^u]*", "?",
        "??", "*]*", "a\\[b\\]", "[]]", "[é]", "[^é]", "*", "日?", "\\\\", "[\\^-]", "[a-c-]",
        "u*:[0-9]", "*[0-9]", "user:1", "nothing", "a?b", "\\*", "*\\**", "[*?]", "{tag}*", "x y",
    ];
    let entries: Vec<(&str, &[u8], Option<Duration>)> =
        keys.iter().map(|k| (*k, &b"v"[..], None)).collect();
    for pattern in patterns {
        let glob = Glob::key(pattern);
        users.put_many(&entries).await.unwrap();
        others.put_many(&entries).await.unwrap();
        // Keys of the same prefix outside any region of ours.
        let _: () = raw(&connection, redis::cmd("SET").arg("test:usersx").arg("v")).await;
        let _: () = raw(&connection, redis::cmd("SET").arg("test:user").arg("v")).await;

        let removed = users.clear_matching(&glob).await.unwrap();
        let expected: BTreeSet<&str> = keys.iter().copied().filter(|k| glob.matches(k)).collect();
        assert_eq!(removed, expected.len() as u64, "pattern {pattern:?}");
        let found = users.get_many(&keys).await.unwrap();
        for (key, lookup) in keys.iter().zip(found) {
            assert_eq!(
                lookup == RedisLookup::Missing,
                expected.contains(key),
                "pattern {pattern:?} key {key:?}"
            );
        }
        // Nothing outside the region.
        assert_eq!(
            key_count(&connection).await,
            (2 * keys.len() - expected.len() + 2) as u64,
            "pattern {pattern:?}"
        );
        assert_eq!(
            users.clear().await.unwrap(),
            (keys.len() - expected.len()) as u64
        );
        assert_eq!(others.clear().await.unwrap(), keys.len() as u64);
        assert_eq!(key_count(&connection).await, 2);
    }
}

#[tokio::test]
async fn clear_removes_ten_thousand_keys_and_only_them() {
    let server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    let others = level(&connection, "orders");
    let keys: Vec<String> = (0..10_000).map(|i| format!("{i}")).collect();
    let entries: Vec<(&str, &[u8], Option<Duration>)> =
        keys.iter().map(|k| (k.as_str(), &b"v"[..], None)).collect();
    users.put_many(&entries).await.unwrap();
    others.put_many(&entries[..10]).await.unwrap();
    assert_eq!(key_count(&connection).await, 10_010);
    let started = Instant::now();
    assert_eq!(users.clear().await.unwrap(), 10_000);
    eprintln!("cleared 10,000 keys in {:?}", started.elapsed());
    assert_eq!(key_count(&connection).await, 10);
    assert_eq!(users.clear().await.unwrap(), 0);
    assert_eq!(
        others.get("3").await.unwrap().into_value(),
        Some(b"v".to_vec())
    );
}

#[tokio::test]
async fn a_paused_server_is_a_timeout_within_the_response_timeout() {
    let server = RedisServer::start();
    let timeout = Duration::from_millis(300);
    let connection = connect(config(&server).response_timeout(timeout)).await;
    let users = level(&connection, "users");
    users.put("ada", b"v", None).await.unwrap();

    server.pause();
    let started = Instant::now();
    let error = users.get("ada").await.unwrap_err();
    let waited = started.elapsed();
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        waited >= timeout && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("GET") && message.contains("test:users:ada"),
        "{message}"
    );
    let started = Instant::now();
    assert!(users.put("bob", b"v", None).await.unwrap_err().is_timeout());
    assert!(users.clear().await.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(5));

    // Back: the same connection answers again, each reply for its request
    // (the late replies to the timed-out requests are dropped).
    server.resume();
    let deadline = Instant::now() + Duration::from_secs(5);
    let value = loop {
        match users.get("ada").await {
            Ok(lookup) => break lookup.into_value(),
            // Timeouts, then the open breaker, until a probe succeeds.
            Err(error) if error.is_unreachable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(value, Some(b"v".to_vec()));
}

#[tokio::test]
async fn a_killed_server_is_a_connection_error() {
    let mut server = RedisServer::start();
    let connection = connect(config(&server)).await;
    let users = level(&connection, "users");
    users.put("ada", b"v", None).await.unwrap();
    server.kill();
    let started = Instant::now();
    let error = users.get("ada").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            error,
            RedisError::Connection { .. } | RedisError::Timeout { .. }
        ),
        "{error:?}"
    );
    // The broken connection is dropped; once the server is back the same
    // level connects again (after the breaker lets a probe through), and
    // finds it empty (no persistence).
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let lookup = loop {
        match users.get("ada").await {
            Ok(lookup) => break lookup,
            Err(error) if error.is_unreachable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(lookup, RedisLookup::Missing);
    assert!(connection.health().connections >= 2);
}
