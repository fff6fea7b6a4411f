//! The Redis tier (feature `redis`): how the manager reaches Redis and lays
//! out regions in it.
//!
//! - `io.rs`: the tier's own I/O thread (connections, timers, backplane);
//! - `breaker.rs`: the circuit breaker;
//! - `link.rs`: [`RedisLink`], the connection opened on first use and
//!   reopened after it breaks;
//! - `local.rs`: connections driven by the callers' own tokio runtimes
//!   (no hop to the I/O thread);
//! - `level.rs`: `RedisLevel`, one region's bytes (keys, batches, clearing
//!   with `SCAN` + `UNLINK`);
//! - `backend.rs`: [`RedisConnection`] and [`RedisBackend`], the level as a
//!   storage backend (the Redis tier's second level, or a named backend);
//! - `backplane.rs`: pub/sub invalidation of other instances' memory levels;
//! - `tls.rs`: the client for `redis://` or `rediss://` (feature `redis-tls`);
//! - `cluster.rs`: Redis Cluster (feature `redis-cluster`): the seed nodes'
//!   client, hash slots, the masters;
//! - `connection.rs`: `Connection`, one server's
//!   multiplexed connection or a cluster's, as one type;
//! - `scan.rs`: `SCAN` over every key, on one server or every master;
//! - `error.rs`: [`RedisError`].

mod backend;
mod backplane;
mod breaker;
mod cluster;
mod connection;
mod error;
mod fleet;
mod fleet_clear;
mod io;
mod level;
mod link;
mod local;
mod scan;
mod shared;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

pub use self::backend::{RedisBackend, RedisConnection};
pub use self::backplane::BackplaneStats;
pub(crate) use self::backplane::instance_id as holder_id;
pub(crate) use self::backplane::{Backplane, Invalidation, LocalLevel};
pub(crate) use self::breaker::BreakerSettings;
pub(crate) use self::cluster::companion_key;
#[cfg(test)]
pub(crate) use self::cluster::slot;
pub use self::error::RedisError;
pub(crate) use self::fleet::Fleet;
pub use self::fleet::FleetStats;
pub use self::fleet_clear::{FleetAnswer, FleetClear};
pub use self::link::RedisHealth;
pub(crate) use self::link::RedisLink;
pub(crate) use self::local::BlockingCall;
pub use self::shared::{Member, SharedDocument, SharedDocuments};

/// How many keys each `SCAN` call asks Redis to look at.
pub(crate) const SCAN_COUNT: usize = 500;

/// The default of [`RedisConfig::max_value_size`]: 8 MiB.
const DEFAULT_MAX_VALUE: usize = 8 * 1024 * 1024;

/// How a manager reaches Redis: the server's URL, the key prefix, time
/// limits, pipelining, the backplane and the circuit breaker.
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::redis::RedisConfig;
///
/// let redis = RedisConfig::new("redis://app:secret@127.0.0.1:6379/0")
///     .prefix("shop")
///     .response_timeout(Duration::from_millis(250));
/// assert_eq!(redis.url_masked(), "redis://app:***@127.0.0.1:6379/0");
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) hash_tag: bool,
    pub(crate) batch: usize,
    pub(crate) max_value: usize,
    pub(crate) backplane: bool,
    pub(crate) ping_every: Duration,
    pub(crate) breaker: BreakerSettings,
    pub(crate) fleet_every: Option<Duration>,
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    pub(crate) io_thread_only: bool,
    pub(crate) tls: TlsFiles,
    /// The seed nodes of a Redis Cluster (`None`: one server, `url`).
    pub(crate) cluster: Option<Vec<String>>,
    /// A cluster's reads (`GET`, `MGET`) go to a random replica of the
    /// slot's master.
    pub(crate) read_from_replicas: bool,
}

/// The certificate files of a `rediss://` connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsFiles {
    /// PEM CA certificates to trust instead of the system's roots.
    pub(crate) ca: Option<PathBuf>,
    /// PEM client certificate chain and its private key, for mutual TLS.
    pub(crate) client: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    pub(crate) fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url_masked())
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("hash_tag", &self.hash_tag)
            .field("batch", &self.batch)
            .field("backplane", &self.backplane)
            .field("ping_every", &self.ping_every)
            .field("fleet_every", &self.fleet_every)
            .field("own_runtime", &self.runtime.is_none())
            .field("io_thread_only", &self.io_thread_only)
            .field("tls", &self.tls)
            .field("read_from_replicas", &self.read_from_replicas)
            .field(
                "cluster",
                &self
                    .cluster
                    .iter()
                    .flatten()
                    .map(|seed| mask_password(seed))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl RedisConfig {
    /// The server at `url`: `redis://[user[:password]@]host[:port][/db]`,
    /// or `rediss://...` for TLS (feature `redis-tls`: rustls on the ring
    /// provider, the server's certificate checked against the system's
    /// roots or [`tls_ca_file`](RedisConfig::tls_ca_file), SNI from the
    /// host name). Defaults: prefix
    /// `cache`, 1 s to connect, 500 ms per reply, pipelines of 256
    /// commands, the backplane on (checked every second), the breaker
    /// opening after 3 failures in a row for 500 ms (up to 2 s, each opening
    /// shortened by up to a quarter at random).
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            prefix: "cache".into(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
            hash_tag: false,
            batch: 256,
            max_value: DEFAULT_MAX_VALUE,
            backplane: true,
            ping_every: Duration::from_secs(1),
            breaker: BreakerSettings::default(),
            fleet_every: None,
            runtime: None,
            io_thread_only: false,
            tls: TlsFiles::default(),
            cluster: None,
            read_from_replicas: false,
        }
    }

    /// A Redis Cluster reached through `seeds` (feature `redis-cluster`):
    /// `redis://host:port` URLs of some of its nodes (one that answers is
    /// enough; the others are learnt from it). Every region's keys spread
    /// over the cluster's slots; the client follows `MOVED` and `ASK`
    /// redirections and the slot map after a failover. Clearing and
    /// browsing scan every master; `get_many` reads each slot's keys with
    /// one `MGET`; the backplane and configuration channels are plain
    /// pub/sub on one of the seed nodes (the cluster forwards every plain
    /// `PUBLISH` to all its nodes, so one subscription hears the whole
    /// fleet; the next seed is tried when that node goes away). Without
    /// the feature, `build()` refuses the configuration naming it.
    /// `rediss://` seeds (feature `redis-tls`) reach a cluster over TLS
    /// (`tls-cluster yes`), with the CA and client certificate files of
    /// [`tls_ca_file`](RedisConfig::tls_ca_file) and
    /// [`tls_client_cert`](RedisConfig::tls_client_cert).
    ///
    /// ```
    /// use cache_runtime::redis::RedisConfig;
    ///
    /// let redis = RedisConfig::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .prefix("shop");
    /// assert!(redis.is_cluster());
    /// ```
    pub fn cluster<S: Into<String>>(seeds: impl IntoIterator<Item = S>) -> RedisConfig {
        let seeds: Vec<String> = seeds.into_iter().map(Into::into).collect();
        let mut config = RedisConfig::new(seeds.first().cloned().unwrap_or_default());
        config.cluster = Some(seeds);
        config
    }

    /// Sends a cluster's reads (`get`, `get_many`) to a random replica of
    /// each slot's master (writes, clears and browsing stay on the
    /// masters); a shard without replicas is read from its master. Spreads
    /// read load over the replicas at a price: replication is
    /// asynchronous, so a read just after a write or an invalidation may
    /// still see the value from before it on a replica that lags (a miss
    /// goes to the loader; a stale hit lives until the replica catches
    /// up). The replicas are those in the client's slot map: one that
    /// joined later is used after the next refresh (a `MOVED`, a
    /// reconnection), and while a replica's connection is being opened
    /// its master serves the read. Only for [`RedisConfig::cluster`]:
    /// `build()` refuses it for one server.
    #[must_use]
    pub fn read_from_replicas(mut self) -> RedisConfig {
        self.read_from_replicas = true;
        self
    }

    /// Whether this is a Redis Cluster's configuration
    /// ([`RedisConfig::cluster`]).
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// Trusts the CA certificates in this PEM file for a `rediss://` URL,
    /// instead of the system's roots (a private CA, a managed service's
    /// bundle). Read when the manager is built; a file that cannot be read
    /// or holds no certificate is an error then.
    #[must_use]
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> RedisConfig {
        self.tls.ca = Some(path.into());
        self
    }

    /// Presents this client certificate (PEM chain) and private key (PEM)
    /// to a `rediss://` server that requires mutual TLS
    /// (`tls-auth-clients yes`).
    #[must_use]
    pub fn tls_client_cert(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> RedisConfig {
        self.tls.client = Some((certificate.into(), key.into()));
        self
    }

    /// The first part of every key: `{prefix}:{region}:{key}`, and of the
    /// backplane's channel `{prefix}:backplane`. Instances share entries
    /// when they share the prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisConfig {
        self.prefix = prefix.into();
        self
    }

    /// The longest wait for a connection (TCP and handshake).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.connect_timeout = timeout;
        self
    }

    /// The longest wait for one reply (or one pipelined chunk's replies):
    /// no call on a Redis region waits longer for Redis.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> RedisConfig {
        self.response_timeout = timeout;
        self
    }

    /// Makes each region a Redis Cluster hash tag — `{prefix}:{{region}}:{key}`
    /// — so a region's keys live on one slot and multi-key commands work
    /// on them in a cluster.
    #[must_use]
    pub fn hash_tag(mut self, on: bool) -> RedisConfig {
        self.hash_tag = on;
        self
    }

    /// The most commands in one pipeline: batches are sent in chunks this
    /// big, each within the response timeout (`get_many` reads four times
    /// this many keys with each `MGET`).
    #[must_use]
    pub fn batch(mut self, commands: usize) -> RedisConfig {
        self.batch = commands.max(1);
        self
    }

    /// The largest value (its envelope, after compression) a region writes
    /// to Redis: 8 MiB by default. Every call of a manager shares one
    /// multiplexed connection, so one huge value in flight would hold up
    /// the small calls behind it past their response timeout; a larger
    /// value is refused instead (`try_insert` returns
    /// `CacheError::Redis` with `RedisError::Encode`, a hybrid region keeps
    /// it in memory). Raise it together with `response_timeout`.
    #[must_use]
    pub fn max_value_size(mut self, bytes: usize) -> RedisConfig {
        self.max_value = bytes.max(1);
        self
    }

    /// Whether hybrid regions keep their memory levels coherent across
    /// instances through pub/sub (on by default).
    #[must_use]
    pub fn backplane(mut self, on: bool) -> RedisConfig {
        self.backplane = on;
        self
    }

    /// How often the backplane checks its subscription with a `PING` (a
    /// stalled server is noticed within this plus the response timeout).
    #[must_use]
    pub fn backplane_ping_every(mut self, every: Duration) -> RedisConfig {
        self.ping_every = every.max(Duration::from_millis(10));
        self
    }

    /// The circuit breaker: open after `failures` timeouts or broken
    /// connections in a row, refusing operations at once for `open_for`
    /// (doubling after each failed probe, up to `max_open`).
    #[must_use]
    pub fn circuit_breaker(
        mut self,
        failures: u32,
        open_for: Duration,
        max_open: Duration,
    ) -> RedisConfig {
        self.breaker = BreakerSettings {
            threshold: failures.max(1),
            open_for,
            max_open,
        };
        self
    }

    /// Adds this instance's counters to fleet-wide ones in Redis every
    /// `every` (off by default): `CacheManager::fleet_stats` then reads a
    /// region's hits, misses and hit rate across every instance.
    #[must_use]
    pub fn fleet_stats(mut self, every: Duration) -> RedisConfig {
        self.fleet_every = Some(every.max(Duration::from_millis(10)));
        self
    }

    /// Sends every operation through the manager's own I/O thread, even
    /// when the caller awaits it on a tokio runtime. By default an
    /// operation awaited on a tokio runtime with its IO and time drivers
    /// goes out on a connection that runtime drives (one per runtime, at
    /// most 16 runtimes, forgotten when the runtime shuts down), saving the
    /// hop to the I/O thread and back; `_blocking` forms, other executors
    /// and runtimes without drivers use the I/O thread. Turn this on when
    /// a thread that runs a tokio runtime blocks on a Redis region's
    /// future with another executor's `block_on` (the runtime's
    /// connection could not be driven meanwhile).
    #[must_use]
    pub fn io_thread_only(mut self) -> RedisConfig {
        self.io_thread_only = true;
        self
    }

    /// Drives the connection, its timers and the backplane on `runtime`
    /// instead of the manager's own I/O thread, for every caller (async
    /// ones on other runtimes and executors too). `runtime` must be a
    /// multi-thread runtime that outlives the manager, and `_blocking`
    /// forms must not be called from its worker threads.
    #[must_use]
    pub fn runtime(mut self, runtime: tokio::runtime::Handle) -> RedisConfig {
        self.runtime = Some(runtime);
        self
    }

    /// The URL with its password masked (a cluster's: its seeds, with
    /// commas between them).
    pub fn url_masked(&self) -> String {
        if self.is_cluster() {
            let seeds: Vec<String> = self
                .cluster
                .iter()
                .flatten()
                .map(|seed| mask_password(seed))
                .collect();
            return seeds.join(",");
        }
        mask_password(&self.url)
    }

    /// The backplane's channel.
    pub(crate) fn channel(&self) -> String {
        format!("{}:backplane", self.prefix)
    }
}

/// `url` with the password (between `:` and `@` after the scheme) masked.
pub(crate) fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.into();
    };
    let masked = match rest[..at].split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        // A lone part before `@` may still be a secret.
        None => "***".into(),
    };
    format!("{scheme}://{masked}{}", &rest[at..])
}
