//! `rediss://`: the manager over TLS to a real `redis-server` listening
//! with `--tls-port` (Debian's build has TLS), with certificates `openssl`
//! makes for each test: the data connection, the backplane's subscription
//! and the configuration store all go over TLS; a server whose CA is not
//! trusted is refused with an error that says so; a server that requires
//! client certificates takes the manager's and refuses a manager without.

#![cfg(feature = "redis-tls")]

mod support;

use std::time::{Duration, Instant};

use cache_runtime::{
    CacheError, CacheManager, cache_region, config::ConfigChange, redis::RedisConfig,
};
use support::Scratch;
use support::redis::{RedisServer, TestCertificates};

#[cache_region(name = "rtls-users", key = String, value = String, tier = "redis", ttl = "1h")]
struct Users;

#[cache_region(name = "rtls-hybrid", key = String, value = String, tier = "hybrid", ttl = "1h")]
struct Hybrid;

fn config(url: String) -> RedisConfig {
    RedisConfig::new(url)
        .prefix("rtls")
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .backplane_ping_every(Duration::from_millis(100))
}

fn manager(redis: RedisConfig, scratch: &Scratch) -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path().join("regions"))
        .redis(redis)
        .build()
        .expect("manager")
}

/// `future` run to its end on a runtime of its own (the manager drives
/// Redis on its own I/O thread).
fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn data_backplane_and_configuration_go_over_tls() {
    let scratch = Scratch::new("redis-tls", "all");
    let certificates = TestCertificates::generate(&scratch.path().join("certs"));
    let server = RedisServer::start_tls(&certificates, false);
    let a = manager(
        config(server.tls_url()).tls_ca_file(&certificates.ca),
        &scratch,
    );
    let b = manager(
        config(server.tls_url()).tls_ca_file(&certificates.ca),
        &scratch,
    );

    // The data connection: what one instance writes the other reads.
    let users_a = a.region::<Users>().expect("region");
    let users_b = b.region::<Users>().expect("region");
    run(users_a.try_insert("ada".into(), "lovelace".into())).expect("insert over TLS");
    assert_eq!(
        run(users_b.try_get(&"ada".into())).expect("get over TLS"),
        Some(String::from("lovelace"))
    );
    assert!(a.redis_health().expect("redis").connected);

    // The backplane: b's memory copy is dropped when a writes.
    wait_for("both subscribed", || {
        [&a, &b]
            .iter()
            .all(|m| m.backplane_stats().is_some_and(|s| s.subscribed))
    });
    let hybrid_a = a.region::<Hybrid>().expect("region");
    let hybrid_b = b.region::<Hybrid>().expect("region");
    hybrid_a.insert_blocking("k".into(), "first".into());
    assert_eq!(hybrid_b.get_blocking(&"k".into()).as_deref(), Some("first"));
    hybrid_a.insert_blocking("k".into(), "second".into());
    wait_for("b seeing the new value", || {
        hybrid_b.get_blocking(&"k".into()).as_deref() == Some("second")
    });
    assert!(b.backplane_stats().expect("backplane").received > 0);

    // The configuration store: a change made on a reaches b.
    a.configure_blocking(ConfigChange::new("ops", "tls").set("rtls-users", "ttl", "10m"))
        .expect("change over TLS");
    wait_for("b taking the change", || {
        b.settings("rtls-users").expect("settings").ttl == Some(Duration::from_secs(600))
    });
}

#[test]
fn an_untrusted_server_certificate_is_a_clear_error() {
    let scratch = Scratch::new("redis-tls", "wrong-ca");
    let certificates = TestCertificates::generate(&scratch.path().join("certs"));
    let server = RedisServer::start_tls(&certificates, false);
    let manager = manager(
        config(server.tls_url()).tls_ca_file(&certificates.other_ca),
        &scratch,
    );
    let users = manager.region::<Users>().expect("region");
    let error = run(users.try_get(&"ada".into())).expect_err("the certificate is not trusted");
    let message = error.to_string();
    assert!(matches!(error, CacheError::Redis { .. }), "{message}");
    assert!(message.contains(&server.tls_url()), "{message}");
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "{message}"
    );
    // The same server over plain TCP answers: nothing else was wrong.
    assert!(server.answers(Duration::from_secs(1)));
}

#[test]
fn mutual_tls_takes_the_client_certificate_and_refuses_none() {
    let scratch = Scratch::new("redis-tls", "mutual");
    let certificates = TestCertificates::generate(&scratch.path().join("certs"));
    let server = RedisServer::start_tls(&certificates, true);
    let (certificate, key) = &certificates.client;
    let with = manager(
        config(server.tls_url())
            .tls_ca_file(&certificates.ca)
            .tls_client_cert(certificate, key),
        &scratch,
    );
    let users = with.region::<Users>().expect("region");
    run(users.try_insert("ada".into(), "lovelace".into()))
        .expect("insert with a client certificate");
    assert_eq!(
        run(users.try_get(&"ada".into())).expect("get"),
        Some(String::from("lovelace"))
    );

    let without = manager(
        config(server.tls_url()).tls_ca_file(&certificates.ca),
        &scratch,
    );
    let users_without = without.region::<Users>().expect("region");
    let refused = run(users_without.try_get(&"ada".into())).expect_err("no client certificate");
    assert!(matches!(refused, CacheError::Redis { .. }), "{refused}");
    // rustls reports the server's alert: "received fatal alert:
    // CertificateRequired".
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );
}

#[test]
fn unusable_certificate_files_fail_the_build_and_name_the_file() {
    let scratch = Scratch::new("redis-tls", "files");
    let missing = scratch.path().join("missing-ca.pem");
    let error = CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .redis(config(String::from("rediss://127.0.0.1:1/")).tls_ca_file(&missing))
        .build()
        .expect_err("the CA file is missing");
    let message = error.to_string();
    assert!(
        message.contains("cannot read the CA file") && message.contains("missing-ca.pem"),
        "{message}"
    );
}
