//! [`RedisError`]: why an operation on the Redis tier failed.

use std::time::Duration;

use crate::envelope::EncodeError;

/// Why a Redis operation failed (an unusable value is not a failure: that
/// is a counted miss). Each message names the operation
/// and the key or region.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL does not parse (its password, if any, is masked).
    #[error("redis: invalid URL {url}: {source}")]
    Url {
        /// The URL, password masked.
        url: String,
        /// The error.
        #[source]
        source: redis::RedisError,
    },
    /// No answer within the configured timeout.
    #[error("redis: {operation} {target} timed out after {timeout:?}")]
    Timeout {
        /// The command or step (`GET`, `connect`, ...).
        operation: &'static str,
        /// The key, region or server.
        target: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The connection could not be made or is broken.
    #[error("redis: {operation} {target}: connection failed: {source}")]
    Connection {
        /// The command or step.
        operation: &'static str,
        /// The key, region or server.
        target: String,
        /// The error.
        #[source]
        source: redis::RedisError,
    },
    /// The server answered with an error, or with something unexpected.
    #[error("redis: {operation} {target}: {source}")]
    Command {
        /// The command.
        operation: &'static str,
        /// The key or region.
        target: String,
        /// The error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis failed repeatedly and the circuit breaker is open: the
    /// operation was not tried.
    #[error(
        "redis: {server} is unavailable (circuit breaker open after repeated failures; next try in {retry_in:?})"
    )]
    Unavailable {
        /// The server, password masked.
        server: String,
        /// How long until the breaker lets a probe through.
        retry_in: Duration,
    },
    /// The manager was built without a Redis connection, or the feature is
    /// missing for the URL's scheme.
    #[error("redis: {0}")]
    Setup(String),
    /// The value cannot be put in an envelope.
    #[error("redis: {operation} {target}: {source}")]
    Encode {
        /// The command.
        operation: &'static str,
        /// The key.
        target: String,
        /// The error.
        #[source]
        source: EncodeError,
    },
}

impl RedisError {
    /// Sorts a `redis` crate error into timeout, connection or command.
    pub(crate) fn classify(
        operation: &'static str,
        target: String,
        timeout: Duration,
        source: redis::RedisError,
    ) -> RedisError {
        if source.is_timeout() {
            RedisError::Timeout {
                operation,
                target,
                timeout,
            }
        } else if source.is_io_error()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
        {
            RedisError::Connection {
                operation,
                target,
                source,
            }
        } else {
            RedisError::Command {
                operation,
                target,
                source,
            }
        }
    }

    /// Whether the operation ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RedisError::Timeout { .. })
    }

    /// Whether Redis could not be reached (timeout, broken connection, open
    /// breaker): what the fail-safe covers and the breaker counts. A
    /// command error or an unencodable value is not.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RedisError::Timeout { .. }
                | RedisError::Connection { .. }
                | RedisError::Unavailable { .. }
        )
    }

    /// Whether the connection is broken (a new one is needed).
    pub(crate) fn is_connection(&self) -> bool {
        matches!(self, RedisError::Connection { .. })
    }
}
