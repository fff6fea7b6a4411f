//! The Redis level of a region: values in Redis, in the same versioned
//! [`Envelope`] as the disk tier, over one multiplexed async connection.
//!
//! # Keys
//!
//! A region's entry for the key text `k` (a string key is itself, other
//! keys their JSON, as everywhere else) is stored under the Redis key
//! `{prefix}:{region}:{k}`: the configured prefix, the region's name (kebab
//! case, so never a `:`), then the key text's UTF-8 bytes as they are,
//! unescaped. The level strips exactly `{prefix}:{region}:` to get the key
//! text back, so a `:` (or anything else) in the key text is not ambiguous.
//! With [`RedisOptions::hash_tag`] the region is a Redis Cluster hash tag,
//! `{prefix}:{{region}}:{k}`, so all of a region's keys live on one slot
//! (and one node); without it, a `{..}` inside a key text picks that key's
//! slot, which only changes where the key lives.
//!
//! # Values
//!
//! Each value is an [`Envelope`] whose embedded key is the whole Redis key
//! (so a value copied to another key, region or prefix is rejected), under
//! the region's [`Schema`]. Every read decodes and checks it: a value that
//! is not an envelope, damaged, written for another key, under another
//! schema or format, expired, or not even a Redis string is a
//! [`RedisLookup::Rejected`] miss, never a panic and never a wrong value.
//! Rejected values are left in place: during a rolling deploy another
//! version may be using them, and the next write (or their TTL) replaces
//! them.
//!
//! # Time limits
//!
//! The connection is opened with an explicit connect timeout (which covers
//! the TCP connection and the handshake) and response timeout (which covers
//! queueing a request and waiting for its reply). The `redis` crate 1.x
//! defaults to 1 s and 500 ms; we set both from [`RedisOptions`]. The
//! response timeout applies to a whole pipeline, so batches are cut in
//! chunks of [`RedisOptions::batch`] commands. A reply that arrives after
//! its request timed out is dropped by the connection, and the embedded
//! key check would reject it anyway.
//!
//! # Clearing
//!
//! Never `KEYS`: `SCAN` with `MATCH` and `COUNT` [`SCAN_COUNT`], each page's
//! keys removed with `UNLINK` (the memory is freed off Redis' main thread).
//! A pattern means what [`Glob::key`] means on every other tier: the
//! server filters with [`Glob::redis_match`] (which matches at least those
//! keys) and each key text is checked again with [`Glob::matches`].
//!
//! Not handled here yet (issue 5): reconnecting after the connection dies
//! (a `MultiplexedConnection` does not), TLS (`rediss://`), Redis Cluster
//! (`SCAN` reaches one node; multi-key `UNLINK` needs one slot unless
//! [`RedisOptions::hash_tag`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_spec::Compression;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use crate::disk::Glob;
use crate::envelope::{Clock, Decoded, EncodeError, Envelope, EnvelopeError, Schema, SystemClock};

/// How many keys each `SCAN` call asks Redis to look at.
pub(crate) const SCAN_COUNT: usize = 500;

/// The longest TTL sent as `PX`: 100 years (Redis refuses a `PX` that
/// overflows its clock).
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3_600 * 1_000;

/// How to reach Redis and lay out keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RedisOptions {
    /// The first part of every key (`cache` by default).
    pub(crate) prefix: String,
    /// The longest wait for a connection (TCP and handshake).
    pub(crate) connect_timeout: Duration,
    /// The longest wait for one reply, or one pipeline's replies.
    pub(crate) response_timeout: Duration,
    /// Whether the region is a cluster hash tag: `{prefix}:{{region}}:{key}`.
    pub(crate) hash_tag: bool,
    /// The most commands in one pipeline (batches are cut in such chunks).
    pub(crate) batch: usize,
}

impl Default for RedisOptions {
    /// Prefix `cache`, 1 s to connect, 500 ms per reply, no hash tag,
    /// pipelines of 256 commands.
    fn default() -> RedisOptions {
        RedisOptions {
            prefix: "cache".into(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_millis(500),
            hash_tag: false,
            batch: 256,
        }
    }
}

/// Why a Redis operation failed (an unusable value is not a failure: that
/// is a [`RedisLookup::Rejected`] miss). Each message names the operation
/// and the key or region.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RedisError {
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
    fn classify(
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
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(self, RedisError::Timeout { .. })
    }
}

/// What [`RedisLevel::get`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RedisLookup {
    /// The value, with its timestamps.
    Hit(Decoded),
    /// No value under the key.
    Missing,
    /// A value that is not this key's under this schema (see
    /// [`EnvelopeError::cause`] to count it); left in place.
    Rejected(EnvelopeError),
}

impl RedisLookup {
    /// The value of a hit.
    pub(crate) fn into_value(self) -> Option<Vec<u8>> {
        match self {
            RedisLookup::Hit(decoded) => Some(decoded.value),
            RedisLookup::Missing | RedisLookup::Rejected(_) => None,
        }
    }
}

/// An open multiplexed connection and the options it was opened with,
/// shared by every region's [`RedisLevel`] (cloning it is cheap).
#[derive(Clone)]
pub(crate) struct RedisConnection {
    connection: MultiplexedConnection,
    options: Arc<RedisOptions>,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Connects to the server at `url` (`redis://[user[:password]@]host[:port][/db]`)
    /// within `options.connect_timeout`. Needs a tokio runtime with its
    /// time driver: the connection's driver task is spawned on it, and dies
    /// with it.
    ///
    /// # Errors
    ///
    /// [`RedisError::Url`], or the connection's failure or timeout.
    pub(crate) async fn open(url: &str, options: RedisOptions) -> Result<Self, RedisError> {
        let shown = mask_password(url);
        let client = Client::open(url).map_err(|source| RedisError::Url {
            url: shown.clone(),
            source,
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout));
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|source| {
                RedisError::classify("connect to", shown, options.connect_timeout, source)
            })?;
        Ok(RedisConnection {
            connection,
            options: Arc::new(options),
        })
    }

    /// The options it was opened with.
    pub(crate) fn options(&self) -> &RedisOptions {
        &self.options
    }
}

/// One region's entries in Redis.
#[derive(Clone)]
pub(crate) struct RedisLevel {
    connection: MultiplexedConnection,
    options: Arc<RedisOptions>,
    region: Arc<str>,
    /// `{prefix}:{region}:` (or with the hash tag), before every key text.
    key_prefix: Arc<str>,
    schema: Arc<Schema>,
    compression: Compression,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLevel")
            .field("region", &self.region)
            .field("key_prefix", &self.key_prefix)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl RedisLevel {
    /// `region`'s level on `connection`, reading and writing values under
    /// `schema`, compressed as `compression` says.
    pub(crate) fn new(
        connection: &RedisConnection,
        region: &str,
        schema: Schema,
        compression: Compression,
    ) -> RedisLevel {
        let options = &connection.options;
        let key_prefix = if options.hash_tag {
            format!("{}:{{{region}}}:", options.prefix)
        } else {
            format!("{}:{region}:", options.prefix)
        };
        RedisLevel {
            connection: connection.connection.clone(),
            options: Arc::clone(&connection.options),
            region: region.into(),
            key_prefix: key_prefix.into(),
            schema: Arc::new(schema),
            compression,
            clock: Arc::new(SystemClock),
        }
    }

    /// With another clock for the envelopes' timestamps and expiry checks
    /// (Redis' own TTLs still run on the server's clock).
    #[must_use]
    pub(crate) fn with_clock(mut self, clock: impl Clock) -> RedisLevel {
        self.clock = Arc::new(clock);
        self
    }

    /// The Redis key of `key_text`.
    pub(crate) fn redis_key(&self, key_text: &str) -> String {
        let mut key = String::with_capacity(self.key_prefix.len() + key_text.len());
        key.push_str(&self.key_prefix);
        key.push_str(key_text);
        key
    }

    /// `key_text`'s value, or why there is none.
    ///
    /// # Errors
    ///
    /// A [`RedisError`] when Redis cannot be asked (timeout, connection).
    pub(crate) async fn get(&self, key_text: &str) -> Result<RedisLookup, RedisError> {
        let key = self.redis_key(key_text);
        let mut connection = self.connection.clone();
        let reply: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await;
        match reply {
            Ok(bytes) => Ok(self.decode(&key, bytes)),
            Err(error) if is_wrong_type(&error) => Ok(not_a_string()),
            Err(error) => Err(self.fail("GET", key_target(&key), error)),
        }
    }

    /// The values of `key_texts`, in order, read with pipelined `GET`s in
    /// chunks of [`RedisOptions::batch`].
    ///
    /// # Errors
    ///
    /// A [`RedisError`] when a chunk fails (the values read so far are
    /// dropped).
    pub(crate) async fn get_many(
        &self,
        key_texts: &[&str],
    ) -> Result<Vec<RedisLookup>, RedisError> {
        let mut found = Vec::with_capacity(key_texts.len());
        for chunk in key_texts.chunks(self.batch()) {
            let keys: Vec<String> = chunk.iter().map(|k| self.redis_key(k)).collect();
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for key in &keys {
                pipe.cmd("GET").arg(key);
            }
            let mut connection = self.connection.clone();
            let replies: Vec<redis::RedisResult<Option<Vec<u8>>>> = pipe
                .query_async(&mut connection)
                .await
                .map_err(|error| self.fail("GET (pipelined)", self.batch_target(&keys), error))?;
            if replies.len() != keys.len() {
                return Err(RedisError::Command {
                    operation: "GET (pipelined)",
                    target: self.batch_target(&keys),
                    source: redis::RedisError::from((
                        redis::ErrorKind::Parse,
                        "wrong number of replies",
                        format!("{} for {} commands", replies.len(), keys.len()),
                    )),
                });
            }
            for (key, reply) in keys.iter().zip(replies) {
                found.push(match reply {
                    Ok(bytes) => self.decode(key, bytes),
                    Err(error) if is_wrong_type(&error) => not_a_string(),
                    Err(error) => return Err(self.fail("GET (pipelined)", key_target(key), error)),
                });
            }
        }
        Ok(found)
    }

    /// Stores `value` for `key_text`, expiring after `ttl` (Redis' own
    /// `SET .. PX`; a TTL under 1 ms is 1 ms), or never with `None`.
    ///
    /// # Errors
    ///
    /// [`RedisError::Encode`] for a key or value too large, else Redis'
    /// failure.
    pub(crate) async fn put(
        &self,
        key_text: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<(), RedisError> {
        let key = self.redis_key(key_text);
        let mut connection = self.connection.clone();
        self.set_command(&key, value, ttl)?
            .query_async::<()>(&mut connection)
            .await
            .map_err(|error| self.fail("SET", key_target(&key), error))
    }

    /// Stores each `(key text, value, ttl)` as [`RedisLevel::put`] does, with
    /// pipelined `SET`s in chunks of [`RedisOptions::batch`].
    ///
    /// # Errors
    ///
    /// The first failure; the chunks before it are written.
    pub(crate) async fn put_many(
        &self,
        entries: &[(&str, &[u8], Option<Duration>)],
    ) -> Result<(), RedisError> {
        for chunk in entries.chunks(self.batch()) {
            let mut pipe = redis::pipe();
            let mut keys = Vec::with_capacity(chunk.len());
            for (key_text, value, ttl) in chunk {
                let key = self.redis_key(key_text);
                pipe.add_command(self.set_command(&key, value, *ttl)?)
                    .ignore();
                keys.push(key);
            }
            let mut connection = self.connection.clone();
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(|error| self.fail("SET (pipelined)", self.batch_target(&keys), error))?;
        }
        Ok(())
    }

    /// Removes `key_text`'s value; whether there was one.
    ///
    /// # Errors
    ///
    /// Redis' failure.
    pub(crate) async fn remove(&self, key_text: &str) -> Result<bool, RedisError> {
        let key = self.redis_key(key_text);
        let mut connection = self.connection.clone();
        let removed: u64 = redis::cmd("UNLINK")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .map_err(|error| self.fail("UNLINK", key_target(&key), error))?;
        Ok(removed > 0)
    }

    /// Removes every value of the region; how many there were.
    ///
    /// # Errors
    ///
    /// The first failure; what was removed before it stays removed.
    pub(crate) async fn clear(&self) -> Result<u64, RedisError> {
        let pattern = format!("{}*", Glob::escape(&self.key_prefix));
        self.scan_and_unlink(&pattern, None).await
    }

    /// Removes the values whose key text matches `pattern` (a
    /// [`Glob::key`]); how many there were.
    ///
    /// # Errors
    ///
    /// The first failure; what was removed before it stays removed.
    pub(crate) async fn clear_matching(&self, pattern: &Glob) -> Result<u64, RedisError> {
        if let Some(key_text) = pattern.literal() {
            return self.remove(&key_text).await.map(u64::from);
        }
        let server_pattern = format!(
            "{}{}",
            Glob::escape(&self.key_prefix),
            pattern.redis_match()
        );
        self.scan_and_unlink(&server_pattern, Some(pattern)).await
    }

    /// `SCAN`s the keys matching `server_pattern` and `UNLINK`s those under
    /// this region whose key text also matches `check` (all of them without
    /// one), page by page.
    async fn scan_and_unlink(
        &self,
        server_pattern: &str,
        check: Option<&Glob>,
    ) -> Result<u64, RedisError> {
        let mut connection = self.connection.clone();
        let mut cursor: u64 = 0;
        let mut removed = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(server_pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut connection)
                .await
                .map_err(|error| self.fail("SCAN", self.region_target(), error))?;
            let doomed: Vec<Vec<u8>> = keys
                .into_iter()
                .filter(|key| self.belongs(key, check))
                .collect();
            for chunk in doomed.chunks(self.batch()) {
                let count: u64 = redis::cmd("UNLINK")
                    .arg(chunk)
                    .query_async(&mut connection)
                    .await
                    .map_err(|error| self.fail("UNLINK", self.region_target(), error))?;
                removed += count;
            }
            cursor = next;
            if cursor == 0 {
                return Ok(removed);
            }
        }
    }

    /// Whether the Redis key `key` is this region's and its key text matches
    /// `check` (a key text that is not UTF-8 matches no pattern).
    fn belongs(&self, key: &[u8], check: Option<&Glob>) -> bool {
        let Some(key_text) = key.strip_prefix(self.key_prefix.as_bytes()) else {
            return false;
        };
        match check {
            None => true,
            Some(glob) => std::str::from_utf8(key_text).is_ok_and(|text| glob.matches(text)),
        }
    }

    /// The `SET` command storing `value`'s envelope under `key`.
    fn set_command(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<redis::Cmd, RedisError> {
        let now = self.clock.now_ms();
        let ttl_ms = ttl.map(ttl_ms);
        let bytes = Envelope::new(key.as_bytes(), value)
            .written_at_ms(now)
            .expires_at_ms(ttl_ms.map(|ms| now.saturating_add(ms)))
            .encode(&self.schema, self.compression)
            .map_err(|source| RedisError::Encode {
                operation: "SET",
                target: key_target(key),
                source,
            })?;
        let mut command = redis::cmd("SET");
        command.arg(key).arg(bytes);
        if let Some(ms) = ttl_ms {
            command.arg("PX").arg(ms);
        }
        Ok(command)
    }

    /// What the bytes read under `key` are.
    fn decode(&self, key: &str, bytes: Option<Vec<u8>>) -> RedisLookup {
        let Some(bytes) = bytes else {
            return RedisLookup::Missing;
        };
        match Envelope::decode(&bytes, key.as_bytes(), &self.schema, self.clock.now_ms()) {
            Ok(decoded) => RedisLookup::Hit(decoded),
            Err(error) => RedisLookup::Rejected(error),
        }
    }

    fn fail(
        &self,
        operation: &'static str,
        target: String,
        error: redis::RedisError,
    ) -> RedisError {
        RedisError::classify(operation, target, self.options.response_timeout, error)
    }

    fn batch(&self) -> usize {
        self.options.batch.max(1)
    }

    fn region_target(&self) -> String {
        format!("in region `{}` (keys `{}*`)", self.region, self.key_prefix)
    }

    fn batch_target(&self, keys: &[String]) -> String {
        match keys {
            [first, ..] => format!(
                "of {} keys in region `{}`, from {}",
                keys.len(),
                self.region,
                key_target(first)
            ),
            [] => self.region_target(),
        }
    }
}

/// `PX` milliseconds for `ttl`: at least 1, at most [`MAX_TTL_MS`].
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).map_or(MAX_TTL_MS, |ms| ms.clamp(1, MAX_TTL_MS))
}

/// `key` for a message, cut to 200 characters.
fn key_target(key: &str) -> String {
    const SHOWN: usize = 200;
    match key.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("key `{}`…", &key[..cut]),
        None => format!("key `{key}`"),
    }
}

/// Whether Redis refused a command because the key holds another type.
fn is_wrong_type(error: &redis::RedisError) -> bool {
    error.code() == Some("WRONGTYPE")
}

/// The miss for a key holding a list, set, hash...: not ours.
fn not_a_string() -> RedisLookup {
    RedisLookup::Rejected(EnvelopeError::Malformed {
        what: "Redis value type (not a string)",
    })
}

/// `url` with the password (between `:` and `@` after the scheme) masked.
fn mask_password(url: &str) -> String {
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

#[cfg(test)]
mod tests;
