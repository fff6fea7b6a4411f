//! [`RedisLink`]: the manager's connection to one Redis server or one
//! Redis Cluster — opened on first use, reopened after it breaks, guarded
//! by a circuit breaker.
//!
//! Every operation clones the current connection (cheap: a channel
//! sender) and sends its command on it directly; the connection is
//! never held behind a lock across an await. When the connection is
//! broken, the failing operation drops it and the next one opens a new one
//! (one caller connects, the others wait for it, each within the connect
//! timeout). Timeouts and broken connections count towards the breaker,
//! which then refuses operations at once until a probe succeeds.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use redis::{AsyncConnectionConfig, Client};

use super::RedisConfig;
use super::breaker::Breaker;
use super::connection::Connection;
use super::error::RedisError;
use super::io::{InIo, Io};
use super::local::{Local, Locals};
use crate::future::BoxFuture;

/// What connections are opened from.
#[derive(Debug)]
// One per link: the size of either variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Clients {
    /// One server.
    Server(Client),
    /// A cluster, and a client per seed node for the backplane's
    /// subscription (plain pub/sub reaches every node of a cluster).
    #[cfg(feature = "redis-cluster")]
    Cluster {
        cluster: redis::cluster::ClusterClient,
        seeds: Vec<Client>,
    },
}

/// One Redis server or cluster, as the manager reaches it.
#[derive(Debug)]
pub(crate) struct RedisLink {
    clients: Clients,
    /// The URL with its password masked, for messages.
    server: String,
    config: RedisConfig,
    io: Io,
    current: Mutex<Option<Connection>>,
    /// Connections driven by callers' runtimes (`None`: every operation
    /// goes through the I/O thread).
    locals: Option<Arc<Locals>>,
    connecting: tokio::sync::Mutex<()>,
    breaker: Breaker,
    /// Connections opened so far (the first is 1).
    connections: AtomicU64,
}

impl RedisLink {
    /// A link to the server `config` names; nothing is opened yet.
    ///
    /// # Errors
    ///
    /// [`RedisError::Url`] for a URL that does not parse,
    /// [`RedisError::Setup`] when the I/O thread cannot start or the TLS
    /// settings cannot be used (or this build lacks TLS, or a cluster is
    /// configured and this build lacks the `redis-cluster` feature).
    pub(crate) fn open(config: RedisConfig) -> Result<RedisLink, RedisError> {
        let server = config.url_masked();
        let clients = if config.is_cluster() {
            cluster_clients(&config, &server)?
        } else if config.read_from_replicas {
            return Err(RedisError::Setup(format!(
                "{server}: read_from_replicas needs a cluster (RedisConfig::cluster with its seed nodes); one server has no replicas this tier reads from"
            )));
        } else {
            Clients::Server(super::tls::client(&config, &server)?)
        };
        let io = match &config.runtime {
            Some(handle) => Io::on(handle.clone()),
            None => Io::start().map_err(|error| {
                RedisError::Setup(format!("cannot start the I/O thread: {error}"))
            })?,
        };
        let locals = (config.runtime.is_none() && !config.io_thread_only)
            .then(|| Arc::new(Locals::default()));
        Ok(RedisLink {
            clients,
            server,
            breaker: Breaker::new(config.breaker),
            config,
            io,
            current: Mutex::new(None),
            locals,
            connecting: tokio::sync::Mutex::new(()),
            connections: AtomicU64::new(0),
        })
    }

    /// The settings it was opened with.
    pub(crate) fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// The client the backplane's subscriber connection is opened from on
    /// its `attempt`th try: the server's, or a cluster's seeds in turn.
    #[cfg_attr(not(feature = "redis-cluster"), allow(unused_variables))]
    pub(crate) fn subscriber_client(&self, attempt: u64) -> Client {
        match &self.clients {
            Clients::Server(client) => client.clone(),
            #[cfg(feature = "redis-cluster")]
            Clients::Cluster { seeds, .. } => {
                let at = usize::try_from(attempt).unwrap_or(0) % seeds.len().max(1);
                seeds[at].clone()
            }
        }
    }

    /// `future` polled in the I/O thread's context: how every operation on
    /// this link is awaited.
    pub(crate) fn enter<F: std::future::Future>(&self, future: F) -> InIo<'_, F> {
        self.io.enter(self.locals.as_deref(), future)
    }

    /// Spawns a task on the I/O thread.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.io.spawn(task)
    }

    /// The connection to send a command on: the current one, or a new one.
    /// Must be called and awaited in the I/O context ([`RedisLink::enter`]).
    ///
    /// # Errors
    ///
    /// [`RedisError::Unavailable`] while the breaker is open, else the
    /// connection's failure or timeout.
    pub(crate) fn connection(&self) -> Connecting<'_> {
        if let Err(retry_in) = self.breaker.admit() {
            return Connecting::Ready(Some(Err(RedisError::Unavailable {
                server: self.server.clone(),
                retry_in,
            })));
        }
        // The open connection is found without an await; opening one is
        // boxed, so an operation's future does not carry its state.
        let local = self
            .locals
            .as_deref()
            .and_then(|locals| Some((locals, locals.current(self.io.handle())?)));
        match local {
            Some((
                _,
                Local {
                    connection: Some(connection),
                    ..
                },
            )) => Connecting::Ready(Some(Ok(connection))),
            Some((locals, Local { runtime, .. })) => {
                let kept = runtime.clone();
                Connecting::Opening(Box::pin(self.reuse_or_open(
                    move || locals.connection(&runtime),
                    move |connection| locals.keep(&kept, connection),
                )))
            }
            None => match self.current() {
                Some(connection) => Connecting::Ready(Some(Ok(connection))),
                None => Connecting::Opening(Box::pin(self.reuse_or_open(
                    || self.current(),
                    |connection| {
                        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some(connection);
                    },
                ))),
            },
        }
    }

    /// The connection `find` gives, or a new one (one opening at a time,
    /// counted) handed to `keep`.
    async fn reuse_or_open(
        &self,
        find: impl Fn() -> Option<Connection>,
        keep: impl FnOnce(Connection),
    ) -> Result<Connection, RedisError> {
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(connection) = find() {
            return Ok(connection);
        }
        match self.open_connection().await {
            Ok(connection) => {
                keep(connection.clone());
                self.connections.fetch_add(1, Ordering::Relaxed);
                Ok(connection)
            }
            Err(source) => Err(RedisError::classify(
                "connect to",
                self.server.clone(),
                self.config.connect_timeout,
                source,
            )),
        }
    }

    /// A new connection, within the connect timeout.
    async fn open_connection(&self) -> redis::RedisResult<Connection> {
        match &self.clients {
            Clients::Server(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.config.connect_timeout))
                    .set_response_timeout(Some(self.config.response_timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Single)
            }
            #[cfg(feature = "redis-cluster")]
            Clients::Cluster { cluster, .. } => {
                // Each node's connection has the connect timeout; so has
                // the whole (asking for the slot map included).
                match tokio::time::timeout(
                    self.config.connect_timeout,
                    cluster.get_async_connection(),
                )
                .await
                {
                    Ok(opened) => opened.map(Connection::Cluster),
                    Err(_elapsed) => Err(redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no seed node gave the cluster's slot map in time",
                    ))),
                }
            }
        }
    }

    /// Sends one command or pipeline (`send`, given a connection) and
    /// settles the outcome: what the tier's own commands (PUBLISH, the
    /// fleet's HINCRBY and HGETALL) go through. A failure names
    /// `operation` and `target`.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        target: impl FnOnce() -> String,
        send: F,
    ) -> Result<T, RedisError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let outcome = async {
            let connection = self.connection().await?;
            send(connection).await.map_err(|error| {
                RedisError::classify(operation, target(), self.config.response_timeout, error)
            })
        }
        .await;
        self.settle(&outcome);
        outcome
    }

    fn current(&self) -> Option<Connection> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records how an operation (including its connecting) went: a success closes the breaker; a
    /// timeout or broken connection counts towards opening it, and a
    /// broken connection is dropped so the next operation opens another.
    pub(crate) fn settle<T>(&self, outcome: &Result<T, RedisError>) {
        match outcome {
            Ok(_) => self.breaker.success(),
            Err(error) if error.is_connection() => {
                self.drop_connection();
                self.breaker.failure();
            }
            Err(error) if error.is_timeout() => self.breaker.failure(),
            Err(_) => {}
        }
    }

    /// Forgets the current connections (the I/O thread's and the
    /// callers' runtimes').
    pub(crate) fn drop_connection(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if let Some(locals) = &self.locals {
            locals.forget();
        }
    }

    /// How the link is doing, for health checks and statistics.
    pub(crate) fn health(&self) -> RedisHealth {
        RedisHealth {
            server: self.server.clone(),
            connected: self.current().is_some()
                || self.locals.as_ref().is_some_and(|locals| locals.any_open()),
            breaker_open: self.breaker.is_open(),
            breaker_opened: self.breaker.times_opened(),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

/// The clients of a cluster's seeds.
#[cfg(feature = "redis-cluster")]
fn cluster_clients(config: &RedisConfig, server: &str) -> Result<Clients, RedisError> {
    if config
        .cluster
        .iter()
        .flatten()
        .all(|seed| seed.trim().is_empty())
    {
        return Err(RedisError::Setup(String::from(
            "RedisConfig::cluster was given no seed node: give at least one redis://host:port",
        )));
    }
    let state = format!("{}:config", config.prefix);
    if super::cluster::companion_key(&state, ":history").is_none() {
        return Err(RedisError::Setup(format!(
            "{server}: the prefix `{}` cannot be used on a Redis Cluster: the configuration's keys `{state}` and its history must share a hash slot, and no key name after this prefix can (an empty `{{}}` makes each key's whole name its tag); drop the braces from the prefix",
            config.prefix
        )));
    }
    let cluster = super::cluster::client(config, server)?;
    // The backplane's subscriber connects to one seed at a time, over TLS
    // for rediss:// seeds, with the same certificate files.
    let seeds = config
        .cluster
        .iter()
        .flatten()
        .map(|seed| {
            let mut one = config.clone();
            one.url = seed.clone();
            one.cluster = None;
            super::tls::client(&one, &super::mask_password(seed))
        })
        .collect::<Result<Vec<Client>, RedisError>>()?;
    Ok(Clients::Cluster { cluster, seeds })
}

/// Without the `redis-cluster` feature, a cluster is refused.
#[cfg(not(feature = "redis-cluster"))]
fn cluster_clients(_config: &RedisConfig, server: &str) -> Result<Clients, RedisError> {
    Err(RedisError::Setup(format!(
        "{server}: RedisConfig::cluster needs cache-runtime's `redis-cluster` feature, which this build does not have"
    )))
}

/// [`RedisLink::connection`]'s answer: the open connection at once, or
/// the opening of a new one.
pub(crate) enum Connecting<'a> {
    /// Known without waiting (taken by the first poll).
    Ready(Option<Result<Connection, RedisError>>),
    /// A connection being opened.
    Opening(BoxFuture<'a, Result<Connection, RedisError>>),
}

impl Future for Connecting<'_> {
    type Output = Result<Connection, RedisError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Connecting::Ready(ready) => Poll::Ready(
                ready
                    .take()
                    .expect("`Connecting` polled after it was ready"),
            ),
            Connecting::Opening(opening) => opening.as_mut().poll(cx),
        }
    }
}

/// The state of a manager's Redis connection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RedisHealth {
    /// The server, password masked.
    pub server: String,
    /// Whether a connection is open (it may still be stalled).
    pub connected: bool,
    /// Whether the circuit breaker refuses operations now.
    pub breaker_open: bool,
    /// How many times the breaker opened.
    pub breaker_opened: u64,
    /// How many connections were opened (1 + reconnections).
    pub connections: u64,
}

#[cfg(all(test, feature = "redis-cluster"))]
mod cluster_tests {
    use super::*;

    fn refusal(config: RedisConfig) -> String {
        match RedisLink::open(config) {
            Ok(_) => panic!("opened"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn unusable_cluster_settings_are_refused_by_name() {
        let none: [&str; 0] = [];
        let message = refusal(RedisConfig::cluster(none));
        assert!(message.contains("no seed node"), "{message}");
        let message = refusal(RedisConfig::cluster([
            "rediss://127.0.0.1:7000",
            "redis://127.0.0.1:7001",
        ]));
        assert!(message.contains("mix redis:// and rediss://"), "{message}");
        let message =
            refusal(RedisConfig::cluster(["redis://127.0.0.1:7000"]).tls_ca_file("/tmp/ca.pem"));
        assert!(message.contains("write rediss:// seeds"), "{message}");
        let message = refusal(RedisConfig::cluster(["redis://127.0.0.1:7000"]).prefix("x{}y"));
        assert!(
            message.contains("prefix `x{}y` cannot be used on a Redis Cluster"),
            "{message}"
        );
        let message = refusal(RedisConfig::cluster(["not a url"]));
        assert!(message.contains("not a url"), "{message}");
    }

    #[test]
    fn a_cluster_shows_its_seeds_without_passwords() {
        let config = RedisConfig::cluster(["redis://:pw@10.0.0.1:7000", "redis://10.0.0.2:7000"]);
        assert!(config.is_cluster());
        assert_eq!(
            config.url_masked(),
            "redis://:***@10.0.0.1:7000,redis://10.0.0.2:7000"
        );
        assert!(!format!("{config:?}").contains("pw"));
    }
}
