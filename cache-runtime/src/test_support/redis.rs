//! An ephemeral `redis-server` for tests: one process per [`RedisServer`],
//! on a free loopback port, with persistence off and a folder of its own
//! under the system temp folder, killed and reaped on drop.
//!
//! Std only (no redis crate), so the same file serves cache-runtime's unit
//! tests (`test_support::redis`) and the workspace's integration tests
//! (`tests/tests/support/mod.rs` includes it by path).
//!
//! Nothing outlives the test process in the ordinary cases: `Drop` kills
//! the server (also while a panicking test unwinds, since tests build with
//! `panic = "unwind"`). A test process that is itself SIGKILLed (or aborts)
//! leaves its server running; such a server is easy to spot and safe to
//! kill: `ps -ef | grep 'redis-server 127.0.0.1'` shows its port, and its
//! folder is `$TMPDIR/cache-redis-<test pid>-<n>` (`--dir`).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::server::{self, free_port, wait_until_ready};

/// How long a server may take to answer `PING` after it is spawned.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How many free ports to try when another process takes the one we picked.
const PORT_ATTEMPTS: u32 = 5;

/// Numbers this process's servers, for their folders' names.
static NEXT_SERVER: AtomicU32 = AtomicU32::new(0);

/// A `redis-server` child process this test started.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// The TLS port and its settings (`--tls-*` arguments), if any.
    tls: Option<(u16, Vec<String>)>,
    /// More arguments (a cluster node's), kept for restarts.
    extra: Vec<String>,
}

/// Certificates for a TLS test server, made with `openssl` in a folder:
/// a CA, a server certificate it signed for 127.0.0.1 and localhost, a
/// client certificate it signed, and another CA that signed nothing here.
pub(crate) struct TestCertificates {
    /// The CA that signed the server's and the client's certificates.
    pub(crate) ca: PathBuf,
    /// The server's certificate and key.
    pub(crate) server: (PathBuf, PathBuf),
    /// A client certificate and key (for mutual TLS).
    pub(crate) client: (PathBuf, PathBuf),
    /// A CA that did not sign the server's certificate.
    pub(crate) other_ca: PathBuf,
}

impl TestCertificates {
    /// Makes them in `dir` (created if missing).
    ///
    /// # Panics
    ///
    /// When `openssl` is missing or fails.
    pub(crate) fn generate(dir: &Path) -> TestCertificates {
        fs::create_dir_all(dir).expect("certificates folder");
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stdin(Stdio::null())
                .output()
                .expect("openssl is installed (apt-get install openssl)");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        for ca in ["ca", "other-ca"] {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=cache tests {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ]);
        }
        for (name, extensions) in [
            (
                "server",
                // clientAuth too: a TLS cluster's nodes present it to each
                // other on the cluster bus.
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
            ),
            ("client", "extendedKeyUsage=clientAuth\n"),
        ] {
            fs::write(dir.join(format!("{name}.ext")), extensions).expect("extensions file");
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN=cache tests {name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ]);
        }
        TestCertificates {
            ca: dir.join("ca.pem"),
            server: (dir.join("server.pem"), dir.join("server.key")),
            client: (dir.join("client.pem"), dir.join("client.key")),
            other_ca: dir.join("other-ca.pem"),
        }
    }
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits (at most 5 s)
    /// until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (the message says how to
    /// install it), or when no server answers in time.
    pub(crate) fn start() -> RedisServer {
        RedisServer::start_with(None, |_| Vec::new())
    }

    /// Starts a server that also listens for TLS on another free port,
    /// with `certificates`' server certificate; `mutual` makes it require
    /// a client certificate signed by their CA. The plain port stays (the
    /// readiness probe uses it).
    pub(crate) fn start_tls(certificates: &TestCertificates, mutual: bool) -> RedisServer {
        let path = |path: &Path| path.display().to_string();
        let arguments = vec![
            String::from("--tls-cert-file"),
            path(&certificates.server.0),
            String::from("--tls-key-file"),
            path(&certificates.server.1),
            String::from("--tls-ca-cert-file"),
            path(&certificates.ca),
            String::from("--tls-auth-clients"),
            String::from(if mutual { "yes" } else { "no" }),
        ];
        RedisServer::start_with(Some(arguments), |_| Vec::new())
    }

    /// Starts a Redis Cluster node (not yet part of a cluster): cluster
    /// mode on, its node file in its folder (so a restart keeps its
    /// identity and slots), its cluster bus on another free port, and a
    /// node timeout of `node_timeout_ms`.
    pub(crate) fn start_cluster_node(node_timeout_ms: u64) -> RedisServer {
        RedisServer::start_cluster_node_with(node_timeout_ms, None)
    }

    /// [`RedisServer::start_cluster_node`], also listening for TLS with
    /// `certificates`' server certificate, its cluster bus over TLS
    /// (`tls-cluster yes`): TLS clients are told the nodes' TLS ports.
    pub(crate) fn start_cluster_node_tls(
        node_timeout_ms: u64,
        certificates: &TestCertificates,
    ) -> RedisServer {
        RedisServer::start_cluster_node_with(node_timeout_ms, Some(certificates))
    }

    fn start_cluster_node_with(
        node_timeout_ms: u64,
        certificates: Option<&TestCertificates>,
    ) -> RedisServer {
        let tls = certificates.map(|certificates| {
            let path = |path: &Path| path.display().to_string();
            vec![
                String::from("--tls-cert-file"),
                path(&certificates.server.0),
                String::from("--tls-key-file"),
                path(&certificates.server.1),
                String::from("--tls-ca-cert-file"),
                path(&certificates.ca),
                String::from("--tls-auth-clients"),
                String::from("no"),
                String::from("--tls-cluster"),
                String::from("yes"),
            ]
        });
        RedisServer::start_with(tls, |_| {
            [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                &node_timeout_ms.to_string(),
                "--cluster-port",
                &free_port().to_string(),
            ]
            .map(String::from)
            .to_vec()
        })
    }

    fn start_with(tls: Option<Vec<String>>, extra: impl Fn(u16) -> Vec<String>) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "cache-redis-{}-{}",
            std::process::id(),
            NEXT_SERVER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("redis test folder");
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let tls = tls.clone().map(|arguments| (free_port(), arguments));
            let extra = extra(port);
            match spawn_and_wait(port, &dir, tls.as_ref(), &extra) {
                Ok(child) => {
                    return RedisServer {
                        child: Some(child),
                        port,
                        dir,
                        tls,
                        extra,
                    };
                }
                // Most likely the port was taken between our probe and the
                // server's bind: try another.
                Err(failure) => failures.push(format!("port {port}: {failure}")),
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!(
            "could not start redis-server after {PORT_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    /// The server's URL, `redis://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's TLS URL, `rediss://127.0.0.1:<tls port>/`.
    ///
    /// # Panics
    ///
    /// When it was not started with [`RedisServer::start_tls`].
    pub(crate) fn tls_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("a TLS server");
        format!("rediss://127.0.0.1:{port}/")
    }

    /// The server's port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (SIGSTOP): connections stay open but nothing is
    /// answered until [`RedisServer::resume`].
    pub(crate) fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal("CONT");
    }

    /// Kills the server (SIGKILL) and reaps it; [`RedisServer::restart`]
    /// starts it again on the same port. Its data is lost (persistence is
    /// off).
    pub(crate) fn kill(&mut self) {
        server::kill(&mut self.child);
    }

    /// Kills the server if it runs, then starts a new one on the same port
    /// and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When the new server does not answer within 5 s (for instance another
    /// process took the port meanwhile).
    pub(crate) fn restart(&mut self) {
        self.kill();
        let dir = self.dir.clone();
        let tls = self.tls.clone();
        let extra = self.extra.clone();
        self.child = Some(server::restart(
            "redis-server",
            self.port,
            START_TIMEOUT,
            |port| spawn_and_wait(port, &dir, tls.as_ref(), &extra),
        ));
    }

    /// Whether the server answers `PING` within `timeout`.
    pub(crate) fn answers(&self, timeout: Duration) -> bool {
        ping(self.port, timeout).is_ok()
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server was killed");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", child.id());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Spawns `redis-server` on `port` with `dir` as its folder and waits until
/// it answers `PING`; on failure the child is killed and reaped and the
/// error says why (with the end of the server's log).
fn spawn_and_wait(
    port: u16,
    dir: &Path,
    tls: Option<&(u16, Vec<String>)>,
    extra: &[String],
) -> Result<Child, String> {
    let log = dir.join(format!("redis-{port}.log"));
    let mut command = Command::new("redis-server");
    if let Some((tls_port, arguments)) = tls {
        command
            .args(["--tls-port", &tls_port.to_string()])
            .args(arguments);
    }
    let child = match command
        // redis-server titles itself `redis-server 127.0.0.1:<port>`, so a
        // leftover server is easy to spot in `ps`.
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(extra)
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => panic!(
            "redis-server is not installed: run scripts/test.sh (which installs it) \
             or `apt-get install redis-server`"
        ),
        Err(error) => panic!("cannot run redis-server: {error}"),
    };
    let ready = wait_until_ready(child, "redis-server", START_TIMEOUT, || {
        ping(port, Duration::from_millis(250))
    });
    let failure = match ready {
        Ok(child) => return Ok(child),
        Err(failure) => failure,
    };
    let log_tail = fs::read_to_string(&log).unwrap_or_default();
    let log_tail: Vec<&str> = log_tail.lines().rev().take(5).collect();
    Err(format!("{failure}; log: {}", log_tail.join(" | ")))
}

/// A local Redis Cluster for tests: masters on free loopback ports (no
/// replicas), their slots assigned by `redis-cli --cluster create`; every
/// node is killed and its folder removed on drop.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes, makes them one cluster and waits (at most
    /// 20 s) until every node says `cluster_state:ok`.
    ///
    /// # Panics
    ///
    /// When `redis-server` or `redis-cli` is missing or the cluster does not
    /// form in time.
    pub(crate) fn start(masters: usize) -> RedisCluster {
        RedisCluster::form(
            (0..masters)
                .map(|_| RedisServer::start_cluster_node(1_000))
                .collect(),
            0,
        )
    }

    /// `masters` masters with one replica each (`masters * 2` nodes,
    /// `--cluster-replicas 1`), waiting until every replica has its
    /// master's data stream (`master_link_status:up`) and every node
    /// knows every replica. A killed master's
    /// replica takes over after the node timeout (1 s).
    pub(crate) fn start_with_replicas(masters: usize) -> RedisCluster {
        let cluster = RedisCluster::form(
            (0..masters * 2)
                .map(|_| RedisServer::start_cluster_node(1_000))
                .collect(),
            1,
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let replicas = (0..cluster.nodes.len())
                .filter(|&node| {
                    cluster
                        .cli(node, &["info", "replication"])
                        .contains("master_link_status:up")
                })
                .count();
            // Every node's `CLUSTER SLOTS` (a client's slot map) lists
            // every replica: Redis leaves out a replica until gossip has
            // told the node its replication offset.
            let replica_ports: Vec<String> = (0..cluster.nodes.len())
                .filter(|&node| cluster.cli(node, &["role"]).starts_with("slave"))
                .map(|node| cluster.nodes[node].port.to_string())
                .collect();
            let known = replica_ports.len() == masters
                && (0..cluster.nodes.len()).all(|node| {
                    let slots = cluster.cli(node, &["cluster", "slots"]);
                    replica_ports
                        .iter()
                        .all(|port| slots.lines().any(|line| line == port))
                });
            if replicas == masters && known {
                return cluster;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{replicas} of {masters} replicas in sync after 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// [`RedisCluster::start`] with every node also listening for TLS and
    /// its cluster bus over TLS ([`RedisServer::start_cluster_node_tls`]).
    pub(crate) fn start_tls(masters: usize, certificates: &TestCertificates) -> RedisCluster {
        RedisCluster::form(
            (0..masters)
                .map(|_| RedisServer::start_cluster_node_tls(1_000, certificates))
                .collect(),
            0,
        )
    }

    /// Assigns the slots of `nodes` (through their plain ports), with
    /// `replicas` replicas per master, and waits until the cluster is
    /// whole.
    fn form(nodes: Vec<RedisServer>, replicas: usize) -> RedisCluster {
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let mut child = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("redis-cli is installed (apt-get install redis-tools)");
        // redis-cli waits for the nodes to meet; nodes that cannot (a
        // cluster bus refusing their certificates) would hold it forever.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("watch redis-cli").is_none() {
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("redis-cli output");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed (or did not finish in 30 s): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok(Duration::from_secs(20));
        cluster
    }

    /// Its nodes' URLs (`redis://127.0.0.1:<port>/`), the seeds to give.
    pub(crate) fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Its nodes' TLS URLs (`rediss://127.0.0.1:<tls port>/`).
    pub(crate) fn tls_seeds(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::tls_url).collect()
    }

    /// Which nodes are masters now (`ROLE` asked of each running node).
    pub(crate) fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&node| self.nodes[node].child.is_some())
            .filter(|&node| self.cli(node, &["role"]).starts_with("master"))
            .collect()
    }

    /// The replica of master `master` (the running node whose `ROLE`
    /// names its port).
    pub(crate) fn replica_of(&self, master: usize) -> Option<usize> {
        let port = self.nodes[master].port.to_string();
        (0..self.nodes.len())
            .filter(|&node| self.nodes[node].child.is_some())
            .find(|&node| {
                let role = self.cli(node, &["role"]);
                let mut lines = role.lines();
                lines.next() == Some("slave") && lines.nth(1) == Some(port.as_str())
            })
    }

    /// How many nodes it has (running or not).
    pub(crate) fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Node `node`'s port.
    pub(crate) fn port(&self, node: usize) -> u16 {
        self.nodes[node].port
    }

    /// Kills node `node` (SIGKILL); its slots cannot be served until
    /// [`RedisCluster::restart`].
    pub(crate) fn kill(&mut self, node: usize) {
        self.nodes[node].kill();
    }

    /// Starts node `node` again on its port with its node file (it
    /// rejoins with its slots, its data lost) and waits until the cluster
    /// is whole again.
    pub(crate) fn restart(&mut self, node: usize) {
        self.nodes[node].restart();
        self.wait_until_ok(Duration::from_secs(20));
    }

    /// Runs `redis-cli` against node `node` with `arguments`; its output.
    pub(crate) fn cli(&self, node: usize, arguments: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.nodes[node].port.to_string()])
            .args(arguments)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until every running node says `cluster_state:ok` and knows
    /// every other node.
    ///
    /// # Panics
    ///
    /// When that does not happen within `timeout`.
    pub(crate) fn wait_until_ok(&self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let states: Vec<String> = (0..self.nodes.len())
                .filter(|&node| self.nodes[node].child.is_some())
                .map(|node| self.cli(node, &["cluster", "info"]))
                .collect();
            let whole = states.iter().all(|info| {
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
            });
            if whole {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the cluster did not become whole within {timeout:?}: {states:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Sends `PING` over a fresh connection (RESP written by hand) and expects
/// `+PONG`.
fn ping(port: u16, timeout: Duration) -> io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") && reply.len() < 256 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        reply.push(byte[0]);
    }
    if reply == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "PING answered {:?}",
            String::from_utf8_lossy(&reply)
        )))
    }
}
