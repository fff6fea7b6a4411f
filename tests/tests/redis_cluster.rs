//! Redis Cluster: a local cluster of three masters (Debian's
//! `redis-server --cluster-enabled yes`, slots assigned by `redis-cli
//! --cluster create --cluster-replicas 0`) under the backend conformance
//! suite and two managers: data, batches, browsing and clearing over
//! every master, the backplane and configuration channels, fleet
//! statistics; a slot moved mid-run (`ASK`, then `MOVED`); a master killed
//! mid-load (errors, not panics) and back (every slot served again). With
//! a replica per master (`--cluster-replicas 1`): reads sent to the
//! replicas when asked, and a killed master's replica taking over with its
//! data.

#![cfg(feature = "redis-cluster")]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_runtime::backend::{Backend, conformance};
use cache_runtime::manager::EntryQuery;
use cache_runtime::redis::{RedisConfig, RedisConnection};
use cache_runtime::{CacheManager, cache_region, config::ConfigChange};
use support::Scratch;
use support::redis::RedisCluster;

#[cache_region(name = "rc-users", key = String, value = String, tier = "redis", ttl = "1h")]
struct Users;

#[cache_region(name = "rc-hybrid", key = String, value = String, tier = "hybrid", ttl = "1h")]
struct Hybrid;

fn config(cluster: &RedisCluster) -> RedisConfig {
    RedisConfig::cluster(cluster.seeds())
        .prefix("rc")
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .backplane_ping_every(Duration::from_millis(100))
}

/// [`config`] with a short response timeout and a quick circuit breaker,
/// for tests that kill a node mid-load.
fn quick_to_fail(cluster: &RedisCluster) -> RedisConfig {
    config(cluster)
        .response_timeout(Duration::from_millis(300))
        .circuit_breaker(3, Duration::from_millis(100), Duration::from_millis(400))
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

/// `future` run to its end on a runtime of its own.
fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many keys each node holds (`DBSIZE` on each).
fn keys_per_node(cluster: &RedisCluster, nodes: usize) -> Vec<u64> {
    (0..nodes)
        .map(|node| {
            cluster
                .cli(node, &["dbsize"])
                .trim()
                .parse()
                .expect("DBSIZE answers a number")
        })
        .collect()
}

#[test]
fn a_cluster_passes_the_conformance_suite() {
    let cluster = RedisCluster::start(3);
    let redis = RedisConnection::open(config(&cluster)).expect("connection");
    let report = support::block_on(conformance::check(move |region: &str| {
        Ok(Arc::new(redis.backend(region)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(
        report.skipped,
        [("count", "no count capability")],
        "{report}"
    );
    println!("redis cluster backend: {report}");
}

#[test]
fn managers_share_a_cluster_across_every_master() {
    let cluster = RedisCluster::start(3);
    let scratch = Scratch::new("redis-cluster", "managers");
    let a = manager(
        config(&cluster).fleet_stats(Duration::from_secs(3600)),
        &scratch,
    );
    let b = manager(config(&cluster), &scratch);
    let users_a = a.region::<Users>().expect("region");
    let users_b = b.region::<Users>().expect("region");

    // A batch spreads over every master; the other instance reads it all,
    // one key at a time and with get_many.
    let entries: Vec<(String, String)> = (0..600)
        .map(|n| (format!("user:{n}"), format!("value {n}")))
        .collect();
    let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(
        run(users_a.insert_many(entries.clone())).expect("batch"),
        600
    );
    let spread = keys_per_node(&cluster, 3);
    assert!(
        spread.iter().all(|&held| held > 100),
        "each master holds a share: {spread:?}"
    );
    let read = run(users_b.get_many(&keys)).expect("get_many");
    let expected: Vec<Option<String>> = entries.iter().map(|(_, v)| Some(v.clone())).collect();
    assert_eq!(read, expected);
    assert_eq!(
        run(users_b.try_get(&"user:7".into())).expect("get"),
        Some(String::from("value 7"))
    );
    // Writing a batch again: each key says it replaced a value.
    assert_eq!(
        run(users_a.insert_many(entries[..10].to_vec())).expect("again"),
        10
    );

    // Browsing walks every master, page by page, and lists each key.
    let mut seen = BTreeSet::new();
    let mut query = EntryQuery::first(97);
    let mut pages = 0;
    loop {
        let page = users_b.entries_blocking(&query).expect("page");
        pages += 1;
        seen.extend(page.entries.into_iter().map(|entry| entry.key));
        match page.next {
            Some(next) => query = EntryQuery::first(97).after(next),
            None => break,
        }
        assert!(pages < 200, "the scan ends");
    }
    assert_eq!(seen, keys.iter().cloned().collect::<BTreeSet<String>>());
    assert!(pages > 3, "several pages: {pages}");

    // Clearing by pattern and then the whole region reaches every master.
    assert_eq!(
        users_a.clear_matching_blocking("user:1*").expect("clear"),
        111
    );
    assert_eq!(run(users_b.try_get(&"user:150".into())).expect("get"), None);
    assert_eq!(users_a.clear_blocking().expect("clear"), 489);
    let after = run(users_b.get_many(&keys)).expect("get_many");
    assert!(after.iter().all(Option::is_none));

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

    // The configuration store: a commit (one script over the state and
    // its history, in one slot) made on a reaches b.
    a.configure_blocking(ConfigChange::new("ops", "cluster").set("rc-users", "ttl", "10m"))
        .expect("change on a cluster");
    wait_for("b taking the change", || {
        b.settings("rc-users").expect("settings").ttl == Some(Duration::from_secs(600))
    });
    b.configure_blocking(ConfigChange::new("ops", "cluster").set("rc-users", "ttl", "20m"))
        .expect("a second change");
    wait_for("a taking the second change", || {
        a.settings("rc-users").expect("settings").ttl == Some(Duration::from_secs(1200))
    });

    // Fleet statistics: one hash per region, in different slots.
    run(a.flush_fleet_stats()).expect("flush");
    let fleet = run(a.fleet_stats("rc-users")).expect("fleet stats");
    assert_eq!(fleet.inserts, 610, "{fleet:?}");
}

#[test]
fn a_moved_slot_is_followed() {
    let cluster = RedisCluster::start(3);
    let scratch = Scratch::new("redis-cluster", "moved");
    let manager = manager(config(&cluster), &scratch);
    let users = manager.region::<Users>().expect("region");
    run(users.try_insert("moving".into(), "along".into())).expect("insert");
    assert_eq!(
        run(users.try_get(&"moving".into())).expect("get"),
        Some(String::from("along"))
    );

    // Where the entry lives, and a node to move its slot to.
    let key = "rc:rc-users:moving";
    let slot = cluster
        .cli(0, &["cluster", "keyslot", key])
        .trim()
        .to_owned();
    let owner = (0..3)
        .find(|&node| {
            cluster
                .cli(node, &["cluster", "countkeysinslot", &slot])
                .trim()
                == "1"
        })
        .expect("a node holds the key");
    let target = (owner + 1) % 3;
    let id = |node: usize| cluster.cli(node, &["cluster", "myid"]).trim().to_owned();
    let (owner_id, target_id) = (id(owner), id(target));

    // Mid-migration the key is on the target already: the owner answers
    // ASK, and the manager reads it there.
    let ok = |reply: String| assert_eq!(reply.trim(), "OK", "{reply}");
    ok(cluster.cli(
        target,
        &["cluster", "setslot", &slot, "importing", &owner_id],
    ));
    ok(cluster.cli(
        owner,
        &["cluster", "setslot", &slot, "migrating", &target_id],
    ));
    let port = cluster.port(target).to_string();
    ok(cluster.cli(
        owner,
        &["migrate", "127.0.0.1", &port, "", "0", "5000", "keys", key],
    ));
    assert_eq!(
        run(users.try_get(&"moving".into())).expect("get through ASK"),
        Some(String::from("along"))
    );

    // Migration done: the owner answers MOVED, the manager follows.
    for node in 0..3 {
        ok(cluster.cli(node, &["cluster", "setslot", &slot, "node", &target_id]));
    }
    assert_eq!(
        run(users.try_get(&"moving".into())).expect("get through MOVED"),
        Some(String::from("along"))
    );
    run(users.try_insert("moving".into(), "on".into())).expect("write through MOVED");
    assert_eq!(
        cluster
            .cli(target, &["cluster", "countkeysinslot", &slot])
            .trim(),
        "1"
    );
    assert_eq!(
        run(users.try_get(&"moving".into())).expect("get"),
        Some(String::from("on"))
    );
}

#[test]
fn a_killed_master_gives_errors_then_every_slot_recovers() {
    let mut cluster = RedisCluster::start(3);
    let scratch = Scratch::new("redis-cluster", "killed");
    let manager = manager(quick_to_fail(&cluster), &scratch);
    let users = manager.region::<Users>().expect("region");
    let keys: Vec<String> = (0..200).map(|n| format!("load:{n}")).collect();

    // A load on every slot's keys, through the kill and the restart.
    let stop = Arc::new(AtomicBool::new(false));
    let (succeeded, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (users, keys) = (users.clone(), keys.clone());
        let (stop, succeeded, failed) = (stop.clone(), succeeded.clone(), failed.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let key = keys[n % keys.len()].clone();
                n += 1;
                let outcome = runtime.block_on(async {
                    users.try_insert(key.clone(), format!("v{n}")).await?;
                    users.try_get(&key).await
                });
                match outcome {
                    Ok(_) => succeeded.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    wait_for("some load", || succeeded.load(Ordering::Relaxed) > 200);

    // The first seed: also the node the backplane subscribed on.
    wait_for("subscribed", || {
        manager.backplane_stats().is_some_and(|s| s.subscribed)
    });
    cluster.kill(0);
    wait_for("failures while a master is down", || {
        failed.load(Ordering::Relaxed) > 20
    });
    // The backplane subscribes on the next seed meanwhile.
    wait_for("subscribed again", || {
        manager
            .backplane_stats()
            .is_some_and(|s| s.subscribed && s.subscriptions >= 2)
    });
    cluster.restart(0);

    // Back: every key is written and read again, on every master.
    wait_for("every key served again", || {
        keys.iter().all(|key| {
            run(async {
                users.try_insert(key.clone(), "back".into()).await?;
                users.try_get(key).await
            })
            .is_ok_and(|value| value.as_deref() == Some("back"))
        })
    });
    stop.store(true, Ordering::Relaxed);
    load.join().expect("the load ran without panicking");
    let spread = keys_per_node(&cluster, 3);
    assert!(spread.iter().all(|&held| held > 0), "{spread:?}");
    println!(
        "killed master: {} operations succeeded, {} failed",
        succeeded.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
}

/// How many times node `node` ran `command` since its statistics were
/// last reset (`INFO commandstats`).
fn calls(cluster: &RedisCluster, node: usize, command: &str) -> u64 {
    let prefix = format!("cmdstat_{command}:calls=");
    cluster
        .cli(node, &["info", "commandstats"])
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a call count"))
}

/// Waits until the replicas hold as many keys as their masters.
fn wait_for_replication(cluster: &RedisCluster) {
    wait_for("every write replicated", || {
        cluster.masters().into_iter().all(|master| {
            let replica = cluster.replica_of(master).expect("a replica");
            let held = keys_per_node(cluster, cluster.nodes());
            held[master] == held[replica]
        })
    });
}

#[test]
fn reads_go_to_the_replicas_when_asked() {
    let cluster = RedisCluster::start_with_replicas(3);
    let scratch = Scratch::new("redis-cluster", "replica-reads");
    let writer = manager(config(&cluster), &scratch);
    let reader = manager(config(&cluster).read_from_replicas(), &scratch);
    let (users_w, users_r) = (
        writer.region::<Users>().expect("region"),
        reader.region::<Users>().expect("region"),
    );
    let entries: Vec<(String, String)> = (0..300)
        .map(|n| (format!("replica:{n}"), format!("value {n}")))
        .collect();
    let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
    run(users_w.insert_many(entries.clone())).expect("batch");
    wait_for_replication(&cluster);

    // One runtime, so one connection: while a replica's connection is
    // still opening, the client reads that shard from its master; a first
    // round opens them all.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let read_all = || {
        for (key, value) in &entries {
            assert_eq!(
                runtime
                    .block_on(users_r.try_get(key))
                    .expect("get")
                    .as_ref(),
                Some(value)
            );
        }
    };
    read_all();
    for node in 0..cluster.nodes() {
        cluster.cli(node, &["config", "resetstat"]);
    }
    read_all();
    let expected: Vec<Option<String>> = entries.iter().map(|(_, v)| Some(v.clone())).collect();
    assert_eq!(
        runtime.block_on(users_r.get_many(&keys)).expect("get_many"),
        expected
    );

    // Every GET and MGET went to a replica; the masters served none.
    let masters = cluster.masters();
    let replicas: Vec<usize> = (0..cluster.nodes())
        .filter(|node| !masters.contains(node))
        .collect();
    let on = |nodes: &[usize], command: &str| -> u64 {
        nodes
            .iter()
            .map(|&node| calls(&cluster, node, command))
            .sum()
    };
    assert_eq!(on(&masters, "get"), 0, "GETs on the masters");
    assert_eq!(on(&masters, "mget"), 0, "MGETs on the masters");
    assert!(on(&replicas, "get") >= 300, "{} GETs", on(&replicas, "get"));
    assert!(
        on(&replicas, "mget") >= 3,
        "{} MGETs",
        on(&replicas, "mget")
    );
    // The writer (default settings) reads from the masters.
    assert_eq!(
        run(users_w.try_get(&keys[0])).expect("get").as_deref(),
        Some("value 0")
    );
    assert_eq!(on(&masters, "get"), 1);

    // One server has no replicas to read from: refused at build.
    let error = CacheManager::builder()
        .without_config_env()
        .disk_root(scratch.path().join("one"))
        .redis(RedisConfig::new(cluster.seeds()[0].clone()).read_from_replicas())
        .build()
        .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("read_from_replicas needs a cluster"),
        "{error}"
    );
}

#[test]
fn a_replica_takes_over_a_killed_master_with_its_data() {
    let mut cluster = RedisCluster::start_with_replicas(3);
    let scratch = Scratch::new("redis-cluster", "failover");
    let manager = manager(quick_to_fail(&cluster), &scratch);
    let users = manager.region::<Users>().expect("region");
    let entries: Vec<(String, String)> = (0..300)
        .map(|n| (format!("failover:{n}"), format!("value {n}")))
        .collect();
    run(users.insert_many(entries.clone())).expect("batch");
    wait_for_replication(&cluster);

    let master = cluster.masters()[0];
    let replica = cluster.replica_of(master).expect("a replica");
    let held = keys_per_node(&cluster, cluster.nodes())[master];
    assert!(held > 50, "the master holds {held} keys");
    cluster.kill(master);

    // Its replica is promoted (node timeout 1 s) and serves the slots; the
    // master is not started again.
    let failed = std::cell::Cell::new(0u64);
    let started = Instant::now();
    wait_for("every key readable again", || {
        entries
            .iter()
            .all(|(key, value)| match run(users.try_get(key)) {
                Ok(read) => read.as_ref() == Some(value),
                Err(_) => {
                    failed.set(failed.get() + 1);
                    false
                }
            })
    });
    let took = started.elapsed();
    assert!(cluster.cli(replica, &["role"]).starts_with("master"));
    let failed = failed.get();
    assert!(failed > 0, "reads failed while no node served the slots");
    // Writes and batches go to the new master too.
    run(users.insert_many(entries.clone())).expect("writes after the failover");
    let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
    let expected: Vec<Option<String>> = entries.iter().map(|(_, v)| Some(v.clone())).collect();
    assert_eq!(run(users.get_many(&keys)).expect("get_many"), expected);
    println!("failover: {failed} reads failed, every key back after {took:?}");
}

#[cfg(feature = "redis-tls")]
mod over_tls {
    use super::*;
    use support::redis::TestCertificates;

    #[test]
    fn a_cluster_over_tls_serves_data_and_the_backplane_and_refuses_an_untrusted_ca() {
        let scratch = Scratch::new("redis-cluster", "tls");
        let certificates = TestCertificates::generate(&scratch.path().join("certs"));
        let cluster = RedisCluster::start_tls(3, &certificates);
        let tls_config = || {
            RedisConfig::cluster(cluster.tls_seeds())
                .prefix("rc")
                .connect_timeout(Duration::from_secs(2))
                .response_timeout(Duration::from_secs(2))
                .backplane_ping_every(Duration::from_millis(100))
                .tls_ca_file(&certificates.ca)
        };
        let a = manager(tls_config(), &scratch);
        let b = manager(tls_config(), &scratch);

        // Keys on every master, written and read over TLS.
        let users_a = a.region::<Users>().expect("region");
        let users_b = b.region::<Users>().expect("region");
        let entries: Vec<(String, String)> = (0..300)
            .map(|n| (format!("tls:{n}"), format!("v{n}")))
            .collect();
        let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
        assert_eq!(
            run(users_a.insert_many(entries.clone())).expect("batch"),
            300
        );
        let spread = keys_per_node(&cluster, 3);
        assert!(spread.iter().all(|&held| held > 50), "{spread:?}");
        let read = run(users_b.get_many(&keys)).expect("get_many over TLS");
        assert!(read.iter().all(Option::is_some));

        // The backplane subscribes on a seed over TLS.
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

        // A CA that did not sign the nodes' certificates: a clear error.
        let untrusted = manager(
            RedisConfig::cluster(cluster.tls_seeds())
                .prefix("rc")
                .tls_ca_file(&certificates.other_ca),
            &scratch,
        );
        let users = untrusted.region::<Users>().expect("region");
        let error = run(users.try_get(&"tls:1".into())).expect_err("untrusted");
        let message = error.to_string();
        assert!(
            message.contains("certificate") || message.contains("UnknownIssuer"),
            "{message}"
        );
    }
}
