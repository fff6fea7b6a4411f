//! An ephemeral `memcached` for tests: one process per [`MemcachedServer`],
//! on a free loopback port, with 4 MiB items (the conformance suite writes
//! 1 MiB values), killed and reaped on drop (and restartable on the same
//! port, for outage tests).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server::{self, free_port, wait_until_ready};

const START_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 5;

/// A `memcached` child process this test started.
pub(crate) struct MemcachedServer {
    child: Option<Child>,
    port: u16,
}

impl MemcachedServer {
    /// Starts one on a free loopback port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `memcached` is not installed (the message says how to install
    /// it), or when no server answers in time.
    pub(crate) fn start() -> MemcachedServer {
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            match spawn_and_wait(port) {
                Ok(child) => {
                    return MemcachedServer {
                        child: Some(child),
                        port,
                    };
                }
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "could not start memcached after {PORT_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server (its entries are gone).
    pub(crate) fn kill(&mut self) {
        server::kill(&mut self.child);
    }

    /// Starts it again on the same port, empty.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.child = Some(server::restart(
            "memcached",
            self.port,
            START_TIMEOUT,
            spawn_and_wait,
        ));
    }
}

impl Drop for MemcachedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_and_wait(port: u16) -> Result<Child, String> {
    let mut command = Command::new("memcached");
    command
        .args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"])
        .args(["-I", "4m", "-m", "64", "-t", "2"]);
    // memcached refuses to run as root without naming the user.
    if std::env::var("USER").as_deref() == Ok("root") || is_root() {
        command.args(["-u", "root"]);
    }
    let child = match command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => panic!(
            "memcached is not installed: run scripts/test.sh (which installs it) \
             or `apt-get install memcached`"
        ),
        Err(error) => panic!("cannot run memcached: {error}"),
    };
    wait_until_ready(child, "memcached", START_TIMEOUT, || {
        version(port, Duration::from_millis(250))
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

/// Sends `version` over a fresh connection and expects `VERSION ...`.
fn version(port: u16, timeout: Duration) -> io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"version\r\n")?;
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply)?;
    if &reply == b"VERSION " {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "version answered {:?}",
            String::from_utf8_lossy(&reply)
        )))
    }
}
