//! [`RedisLink`]: the manager's connection to one Redis server — opened on
//! first use, reopened after it breaks, guarded by a circuit breaker.
//!
//! Every operation clones the current multiplexed connection (cheap: a
//! channel sender) and sends its command on it directly; the connection is
//! never held behind a lock across an await. When the connection is
//! broken, the failing operation drops it and the next one opens a new one
//! (one caller connects, the others wait for it, each within the connect
//! timeout). Timeouts and broken connections count towards the breaker,
//! which then refuses operations at once until a probe succeeds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use super::RedisConfig;
use super::breaker::Breaker;
use super::error::RedisError;
use super::io::{InIo, Io};

/// One Redis server, as the manager reaches it.
#[derive(Debug)]
pub(crate) struct RedisLink {
    client: Client,
    /// The URL with its password masked, for messages.
    server: String,
    config: RedisConfig,
    io: Io,
    current: Mutex<Option<MultiplexedConnection>>,
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
    /// settings cannot be used (or this build lacks TLS).
    pub(crate) fn open(config: RedisConfig) -> Result<RedisLink, RedisError> {
        let server = super::mask_password(&config.url);
        let client = super::tls::client(&config, &server)?;
        let io = match &config.runtime {
            Some(handle) => Io::on(handle.clone()),
            None => Io::start().map_err(|error| {
                RedisError::Setup(format!("cannot start the I/O thread: {error}"))
            })?,
        };
        Ok(RedisLink {
            client,
            server,
            breaker: Breaker::new(config.breaker),
            config,
            io,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            connections: AtomicU64::new(0),
        })
    }

    /// The settings it was opened with.
    pub(crate) fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// The client, for the backplane's own subscriber connection.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// `future` polled in the I/O thread's context: how every operation on
    /// this link is awaited.
    pub(crate) fn enter<F: std::future::Future>(&self, future: F) -> InIo<F> {
        self.io.enter(future)
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
    /// Must be awaited in the I/O context ([`RedisLink::enter`]).
    ///
    /// # Errors
    ///
    /// [`RedisError::Unavailable`] while the breaker is open, else the
    /// connection's failure or timeout.
    pub(crate) async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        self.breaker
            .admit()
            .map_err(|retry_in| RedisError::Unavailable {
                server: self.server.clone(),
                retry_in,
            })?;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(connection) = self.current() {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout))
            .set_response_timeout(Some(self.config.response_timeout));
        match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(connection) => {
                *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(connection.clone());
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
        F: FnOnce(MultiplexedConnection) -> Fut,
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

    fn current(&self) -> Option<MultiplexedConnection> {
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

    /// Forgets the current connection.
    pub(crate) fn drop_connection(&self) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// How the link is doing, for health checks and statistics.
    pub(crate) fn health(&self) -> RedisHealth {
        RedisHealth {
            server: self.server.clone(),
            connected: self.current().is_some(),
            breaker_open: self.breaker.is_open(),
            breaker_opened: self.breaker.times_opened(),
            connections: self.connections.load(Ordering::Relaxed),
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
