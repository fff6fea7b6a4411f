//! The ephemeral `redis-server` helper the Redis tests rely on: it starts,
//! pauses, resumes, dies and comes back on its port, and it never outlives
//! its test, a panicking one included.

#![allow(clippy::unwrap_used)]

mod support;

use std::panic;
use std::time::{Duration, Instant};

use support::redis::RedisServer;

const QUICK: Duration = Duration::from_millis(200);

#[test]
fn a_server_starts_pauses_resumes_dies_and_restarts_on_its_port() {
    let mut server = RedisServer::start();
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}/"));
    assert!(server.answers(QUICK));

    server.pause();
    let started = Instant::now();
    assert!(!server.answers(QUICK));
    assert!(started.elapsed() < Duration::from_secs(2));
    server.resume();
    assert!(server.answers(QUICK));

    server.kill();
    assert!(!server.answers(QUICK));
    server.restart();
    assert_eq!(server.port(), port);
    assert!(server.answers(QUICK));
}

#[test]
fn two_servers_get_two_ports() {
    let first = RedisServer::start();
    let second = RedisServer::start();
    assert_ne!(first.port(), second.port());
    assert!(first.answers(QUICK) && second.answers(QUICK));
}

#[test]
fn a_dropped_server_is_gone_even_when_its_test_panics() {
    let mut port = 0;
    let outcome = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        let server = RedisServer::start();
        port = server.port();
        server.pause(); // killed even while stopped
        panic!("the test fails");
    }));
    assert!(outcome.is_err());
    assert_ne!(port, 0);
    // Nothing accepts on the port any more.
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert!(std::net::TcpStream::connect_timeout(&address, QUICK).is_err());
}
