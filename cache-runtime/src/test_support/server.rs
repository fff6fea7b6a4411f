//! What the tests' ephemeral servers share: a free loopback port, and a
//! spawned child watched until it answers (or killed, with the reason).

use std::net::{Ipv4Addr, TcpListener};
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

/// A port nothing listens on right now (the OS picks it; the listener is
/// closed again before the server binds it, hence the callers' retries).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// Waits until `probe` succeeds against `child` (at most `timeout`); on
/// failure the child is killed and reaped and the error says why.
pub(crate) fn wait_until_ready<E: std::fmt::Display>(
    mut child: Child,
    name: &str,
    timeout: Duration,
    probe: impl Fn() -> Result<(), E>,
) -> Result<Child, String> {
    let deadline = Instant::now() + timeout;
    let failure = loop {
        match child.try_wait() {
            Ok(Some(status)) => break format!("{name} exited with {status}"),
            Ok(None) => {}
            Err(error) => break format!("cannot watch {name}: {error}"),
        }
        match probe() {
            Ok(()) => return Ok(child),
            Err(error) if Instant::now() >= deadline => {
                break format!("no answer from {name} within {timeout:?}: {error}");
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(failure)
}

/// Kills and reaps `child`, if any.
pub(crate) fn kill(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Starts a server again on `port` with `spawn` (retrying while the old
/// socket lingers, at most `timeout`).
///
/// # Panics
///
/// When no new server answers in time (another process took the port).
pub(crate) fn restart(
    name: &str,
    port: u16,
    timeout: Duration,
    spawn: impl Fn(u16) -> Result<Child, String>,
) -> Child {
    let deadline = Instant::now() + timeout;
    loop {
        match spawn(port) {
            Ok(child) => return child,
            Err(failure) if Instant::now() >= deadline => {
                panic!("could not restart {name} on port {port}: {failure}")
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}
