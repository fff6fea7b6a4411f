//! The Redis level of a region: its bytes in Redis (sealed by the manager
//! before they get here), over one multiplexed async connection; what
//! [`super::RedisBackend`] runs on.
//!
//! # Keys
//!
//! A region's entry for the key text `k` (a string key is itself, other
//! keys their JSON, as everywhere else) is stored under the Redis key
//! `{prefix}:{region}:{k}`: the configured prefix, the region's name (kebab
//! case, so never a `:`), then the key text's UTF-8 bytes as they are,
//! unescaped. The level strips exactly `{prefix}:{region}:` to get the key
//! text back, so a `:` (or anything else) in the key text is not ambiguous.
//! With [`RedisConfig::hash_tag`] the region is a Redis Cluster hash tag,
//! `{prefix}:{{region}}:{k}`, so all of a region's keys live on one slot
//! (and one node); without it, a `{..}` inside a key text picks that key's
//! slot, which only changes where the key lives.
//!
//! # Values
//!
//! Values are stored as they are given: the manager seals each in the
//! versioned envelope (see `manager/second.rs`) before it reaches the
//! Redis backend, and checks it on the way back, as on every other
//! backend. A key holding another Redis type (a list, a hash...) reads as
//! no bytes through `get` (an unusable value, counted as such) and as
//! missing through `get_many` and browsing (`MGET` answers nil for it);
//! never an error and never a panic.

//! # Time limits
//!
//! The connection is opened with an explicit connect timeout (which covers
//! the TCP connection and the handshake) and response timeout (which covers
//! queueing a request and waiting for its reply). The `redis` crate 1.x
//! defaults to 1 s and 500 ms; we set both from [`RedisConfig`]. The
//! response timeout applies to a whole pipeline, so batches are cut in
//! chunks of [`RedisConfig::batch`] commands (reads: `MGET`s of four
//! chunks' worth of keys). A reply that arrives after
//! its request timed out is dropped by the connection, and the embedded
//! key check would reject it anyway.
//!
//! # Clearing
//!
//! Never `KEYS`: `SCAN` with `MATCH` and `COUNT` [`SCAN_COUNT`], each page's
//! keys removed with `UNLINK` (the memory is freed off Redis' main thread).
//! A pattern means what [`Glob::key`] means on every other tier: Redis'
//! own pattern language, byte for byte, so the server filters with the
//! pattern as written (after the escaped key prefix); each key text is
//! checked again with [`Glob::matches`] all the same.
//!
//! Every operation takes its connection from the region's [`RedisLink`]
//! (which reconnects and runs the circuit breaker) and reports back how it
//! went.
//!
//! # Redis Cluster
//!
//! On a cluster ([`RedisConfig::cluster`]) a region's keys spread over
//! every slot (unless [`RedisConfig::hash_tag`] puts them in one), and the
//! cluster connection sends each command to its slot's master: `MGET` and
//! `UNLINK` of many keys are split by slot and their answers put back in
//! order; a batch of writes is one `MULTI` per slot (sent together), so
//! "replaced or new" stays exact for each key; clearing and browsing
//! `SCAN` every master in turn (see `scan.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use super::RedisConfig;
use super::SCAN_COUNT;
use super::connection::Connection;
use super::error::RedisError;
use super::link::RedisLink;
use super::scan::{self, ScanPosition};
use crate::disk::Glob;

/// How many keys one `MGET` of `get_many` carries, in units of
/// [`RedisConfig::batch`]: a `GET` is a short command, so four pipeline
/// chunks' worth of keys still fit the response timeout.
pub(crate) const MGET_KEYS_PER_BATCH: usize = 4;

/// The longest TTL sent as `PX`: 100 years (Redis refuses a `PX` that
/// overflows its clock).
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3_600 * 1_000;

/// What [`RedisLevel::get`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RedisLookup {
    /// The bytes stored.
    Hit(Vec<u8>),
    /// No value under the key.
    Missing,
}

impl RedisLookup {
    /// The value of a hit.
    pub(crate) fn into_value(self) -> Option<Vec<u8>> {
        match self {
            RedisLookup::Hit(bytes) => Some(bytes),
            RedisLookup::Missing => None,
        }
    }
}

/// One region's entries in Redis.
#[derive(Clone)]
pub(crate) struct RedisLevel {
    link: Arc<RedisLink>,
    region: Arc<str>,
    /// `{prefix}:{region}:` (or with the hash tag), before every key text.
    key_prefix: Arc<str>,
}

impl fmt::Debug for RedisLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLevel")
            .field("region", &self.region)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLevel {
    /// `region`'s level on `link`.
    pub(crate) fn new(link: &Arc<RedisLink>, region: &str) -> RedisLevel {
        let options = link.config();
        let key_prefix = if options.hash_tag {
            format!("{}:{{{region}}}:", options.prefix)
        } else {
            format!("{}:{region}:", options.prefix)
        };
        RedisLevel {
            link: Arc::clone(link),
            region: region.into(),
            key_prefix: key_prefix.into(),
        }
    }

    /// The Redis key of `key_text`.
    pub(crate) fn redis_key(&self, key_text: &str) -> String {
        let mut key = String::with_capacity(self.key_prefix.len() + key_text.len());
        key.push_str(&self.key_prefix);
        key.push_str(key_text);
        key
    }

    /// The Redis key of `key_text` as a command argument, written into the
    /// command's buffer (no string of its own).
    fn key_arg<'k>(&'k self, key_text: &'k str) -> KeyArg<'k> {
        KeyArg {
            prefix: &self.key_prefix,
            text: key_text,
        }
    }

    /// `key_text`'s value, or why there is none.
    ///
    /// # Errors
    ///
    /// A [`RedisError`] when Redis cannot be asked (timeout, connection).
    pub(crate) async fn get(&self, key_text: &str) -> Result<RedisLookup, RedisError> {
        // Settled in place rather than through `settled`: one state machine
        // less on every get.
        let outcome = match self.link.connection().await {
            Ok(mut connection) => {
                let key = self.key_arg(key_text);
                // Sized once: `GET` and the key.
                let reply: redis::RedisResult<Option<Vec<u8>>> =
                    redis::Cmd::with_capacity(2, 3 + key.len())
                        .arg("GET")
                        .arg(key)
                        .query_async(&mut connection)
                        .await;
                match reply {
                    Ok(bytes) => Ok(RedisLevel::decode(bytes)),
                    Err(error) if is_wrong_type(&error) => Ok(not_a_string()),
                    Err(error) => {
                        Err(self.fail("GET", key_target(&self.redis_key(key_text)), error))
                    }
                }
            }
            Err(error) => Err(error),
        };
        self.link.settle(&outcome);
        outcome
    }

    /// The values of `key_texts`, in order, read with one `MGET` per
    /// [`MGET_KEYS_PER_BATCH`] × [`RedisConfig::batch`] keys (1,024 by
    /// default), so a call of a thousand keys is one round trip. A key
    /// that holds another type than a string reads as missing (`MGET`
    /// answers nil for it, where a single `GET` fails with `WRONGTYPE`).
    ///
    /// # Errors
    ///
    /// A [`RedisError`] when a chunk fails (the values read so far are
    /// dropped).
    pub(crate) async fn get_many(
        &self,
        key_texts: &[&str],
    ) -> Result<Vec<RedisLookup>, RedisError> {
        self.settled(async {
            let mut found = Vec::with_capacity(key_texts.len());
            let per_mget = self.batch().saturating_mul(MGET_KEYS_PER_BATCH);
            for chunk in key_texts.chunks(per_mget) {
                // Each Redis key is written straight into the command: no
                // string per key.
                let mut mget = redis::cmd("MGET");
                for key_text in chunk {
                    mget.arg(self.key_arg(key_text));
                }
                let mut connection = self.link.connection().await?;
                let replies: Vec<Option<Vec<u8>>> = mget
                    .query_async(&mut connection)
                    .await
                    .map_err(|error| self.fail("MGET", self.chunk_target(chunk), error))?;
                if replies.len() != chunk.len() {
                    return Err(RedisError::Command {
                        operation: "MGET",
                        target: self.chunk_target(chunk),
                        source: redis::RedisError::from((
                            redis::ErrorKind::Parse,
                            "wrong number of values",
                            format!("{} for {} keys", replies.len(), chunk.len()),
                        )),
                    });
                }
                found.extend(replies.into_iter().map(RedisLevel::decode));
            }
            Ok(found)
        })
        .await
    }

    /// Stores `value` for `key_text`, expiring after `ttl` (Redis' own
    /// `SET .. PX`; a TTL under 1 ms is 1 ms), or never with `None`;
    /// whether it replaced a value Redis held (an `EXISTS` in the same
    /// `MULTI`, so the answer is exact under concurrent writers).
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
    ) -> Result<bool, RedisError> {
        self.settled(async {
            let key = self.redis_key(key_text);
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("EXISTS")
                .arg(&key)
                .add_command(self.set_command(&key, value, ttl)?)
                .ignore();
            let mut connection = self.link.connection().await?;
            let (existed,): (u64,) = pipe
                .query_async(&mut connection)
                .await
                .map_err(|error| self.fail("SET", key_target(&key), error))?;
            Ok(existed > 0)
        })
        .await
    }

    /// Stores each `(key text, value, ttl)` as [`RedisLevel::put`] does, in
    /// one `MULTI` of `EXISTS` + `SET` pairs per chunk of
    /// [`RedisConfig::batch`]; for each, whether it replaced a value Redis held.
    ///
    /// # Errors
    ///
    /// The first failure; the chunks before it are written.
    pub(crate) async fn put_many(
        &self,
        entries: &[(&str, &[u8], Option<Duration>)],
    ) -> Result<Vec<bool>, RedisError> {
        self.settled(async {
            let mut replaced = Vec::with_capacity(entries.len());
            for chunk in entries.chunks(self.batch()) {
                let mut keys = Vec::with_capacity(chunk.len());
                let mut commands = Vec::with_capacity(chunk.len());
                for (key_text, value, ttl) in chunk {
                    let key = self.redis_key(key_text);
                    commands.push(self.set_command(&key, value, *ttl)?);
                    keys.push(key);
                }
                let connection = self.link.connection().await?;
                let existed = if connection.is_cluster() {
                    self.put_per_slot(connection, &keys, commands).await?
                } else {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    for (key, set) in keys.iter().zip(commands) {
                        pipe.cmd("EXISTS").arg(key).add_command(set).ignore();
                    }
                    let mut connection = connection;
                    pipe.query_async::<Vec<u64>>(&mut connection)
                        .await
                        .map_err(|error| {
                            self.fail("SET (pipelined)", self.batch_target(&keys), error)
                        })?
                };
                replaced.extend(existed.iter().map(|&held| held > 0));
            }
            Ok(replaced)
        })
        .await
    }

    /// A cluster's share of [`RedisLevel::put_many`]: `EXISTS` + `SET`
    /// for each key in one `MULTI` per hash slot (a transaction cannot span
    /// slots), all sent at once; what each `EXISTS` answered, in the
    /// order of `keys`.
    async fn put_per_slot(
        &self,
        connection: Connection,
        keys: &[String],
        commands: Vec<redis::Cmd>,
    ) -> Result<Vec<u64>, RedisError> {
        let mut by_slot: std::collections::BTreeMap<u16, (Vec<usize>, redis::Pipeline)> =
            std::collections::BTreeMap::new();
        for (at, (key, set)) in keys.iter().zip(commands).enumerate() {
            let (positions, pipe) = by_slot
                .entry(super::cluster::slot(key.as_bytes()))
                .or_insert_with(|| {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    (Vec::new(), pipe)
                });
            pipe.cmd("EXISTS").arg(key).add_command(set).ignore();
            positions.push(at);
        }
        let (positions, pipelines): (Vec<Vec<usize>>, Vec<redis::Pipeline>) =
            by_slot.into_values().unzip();
        let answers = connection.query_all::<Vec<u64>>(pipelines).await;
        let mut existed = vec![0; keys.len()];
        for (positions, answers) in positions.into_iter().zip(answers) {
            let answers = answers
                .map_err(|error| self.fail("SET (per slot)", self.batch_target(keys), error))?;
            for (at, answer) in positions.into_iter().zip(answers) {
                existed[at] = answer;
            }
        }
        Ok(existed)
    }

    /// Removes `key_text`'s value; whether there was one.
    ///
    /// # Errors
    ///
    /// Redis' failure.
    pub(crate) async fn remove(&self, key_text: &str) -> Result<bool, RedisError> {
        self.settled(async {
            let key = self.redis_key(key_text);
            let mut connection = self.link.connection().await?;
            let removed: u64 = redis::cmd("UNLINK")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(|error| self.fail("UNLINK", key_target(&key), error))?;
            Ok(removed > 0)
        })
        .await
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
        let server_pattern = format!("{}{}", Glob::escape(&self.key_prefix), pattern.as_str());
        self.scan_and_unlink(&server_pattern, Some(pattern)).await
    }

    /// One or more `SCAN` steps over the region's keys whose text matches
    /// `pattern` (all without one), from `position`, until at least `want`
    /// are found or the scan ends: the key texts and where to go on from
    /// (`None` when the scan is complete). As with `SCAN`, a key may be
    /// listed twice, and keys added meanwhile may be missed.
    pub(crate) async fn scan_keys(
        &self,
        mut position: ScanPosition,
        pattern: Option<&Glob>,
        want: usize,
    ) -> Result<(Option<ScanPosition>, Vec<String>), RedisError> {
        self.settled(async {
            let server_pattern = match pattern {
                Some(glob) => format!("{}{}", Glob::escape(&self.key_prefix), glob.as_str()),
                None => format!("{}*", Glob::escape(&self.key_prefix)),
            };
            let mut connection = self.link.connection().await?;
            let mut found = Vec::new();
            loop {
                let (keys, next) = scan::page(
                    &mut connection,
                    &position,
                    &server_pattern,
                    want.clamp(10, SCAN_COUNT),
                )
                .await
                .map_err(|error| self.fail("SCAN", self.region_target(), error))?;
                for key in keys {
                    if self.belongs(&key, pattern)
                        && let Some(text) = key.strip_prefix(self.key_prefix.as_bytes())
                        && let Ok(text) = String::from_utf8(text.to_vec())
                    {
                        found.push(text);
                    }
                }
                match next {
                    Some(next) if found.len() < want => position = next,
                    next => return Ok((next, found)),
                }
            }
        })
        .await
    }

    /// `SCAN`s the keys matching `server_pattern` and `UNLINK`s those under
    /// this region whose key text also matches `check` (all of them without
    /// one), page by page (on a cluster, every master's).
    async fn scan_and_unlink(
        &self,
        server_pattern: &str,
        check: Option<&Glob>,
    ) -> Result<u64, RedisError> {
        self.settled(async {
            let mut connection = self.link.connection().await?;
            let mut position = ScanPosition::Start;
            let mut removed = 0;
            loop {
                let (keys, next) =
                    scan::page(&mut connection, &position, server_pattern, SCAN_COUNT)
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
                match next {
                    Some(next) => position = next,
                    None => return Ok(removed),
                }
            }
        })
        .await
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

    /// The `SET` command storing `value` under `key`.
    fn set_command(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<redis::Cmd, RedisError> {
        let max = self.link.config().max_value;
        if value.len() > max {
            // One huge reply or request on the shared connection would hold
            // up every small call behind it.
            return Err(RedisError::Encode {
                operation: "SET",
                target: key_target(key),
                source: crate::envelope::EncodeError::TooLarge {
                    what: "value (RedisConfig::max_value_size)",
                    len: value.len(),
                    max,
                },
            });
        }
        let mut command = redis::cmd("SET");
        command.arg(key).arg(value);
        if let Some(ms) = ttl.map(ttl_ms) {
            command.arg("PX").arg(ms);
        }
        Ok(command)
    }

    /// What the bytes read under a key are.
    fn decode(bytes: Option<Vec<u8>>) -> RedisLookup {
        match bytes {
            Some(bytes) => RedisLookup::Hit(bytes),
            None => RedisLookup::Missing,
        }
    }

    /// `operation`'s outcome, reported to the link (breaker, reconnection).
    async fn settled<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisError> {
        let outcome = operation.await;
        self.link.settle(&outcome);
        outcome
    }

    fn fail(
        &self,
        operation: &'static str,
        target: String,
        error: redis::RedisError,
    ) -> RedisError {
        RedisError::classify(
            operation,
            target,
            self.link.config().response_timeout,
            error,
        )
    }

    fn batch(&self) -> usize {
        self.link.config().batch.max(1)
    }

    fn region_target(&self) -> String {
        format!("in region `{}` (keys `{}*`)", self.region, self.key_prefix)
    }

    /// [`RedisLevel::batch_target`] of the keys of `key_texts`.
    fn chunk_target(&self, key_texts: &[&str]) -> String {
        let first: Vec<String> = key_texts
            .first()
            .map(|text| self.redis_key(text))
            .into_iter()
            .collect();
        match first.first() {
            Some(first) => format!(
                "of {} keys in region `{}`, from {}",
                key_texts.len(),
                self.region,
                key_target(first)
            ),
            None => self.region_target(),
        }
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

/// `{prefix}:{region}:` and a key text, one command argument.
struct KeyArg<'k> {
    prefix: &'k str,
    text: &'k str,
}

impl KeyArg<'_> {
    /// The Redis key's length in bytes.
    fn len(&self) -> usize {
        self.prefix.len() + self.text.len()
    }
}

impl redis::ToRedisArgs for KeyArg<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        // Most keys fit a buffer on the stack: one copy into the command.
        let mut joined = [0u8; 256];
        if let Some(buffer) = joined.get_mut(..self.len()) {
            let (prefix, text) = buffer.split_at_mut(self.prefix.len());
            prefix.copy_from_slice(self.prefix.as_bytes());
            text.copy_from_slice(self.text.as_bytes());
            out.write_arg(buffer);
            return;
        }
        use std::io::Write;
        out.reserve_space_for_args([self.len()]);
        let mut arg = out.writer_for_next_arg();
        // Writing to a command's buffer cannot fail (it grows a `Vec`).
        let _ = arg.write_all(self.prefix.as_bytes());
        let _ = arg.write_all(self.text.as_bytes());
    }
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

/// What a key holding a list, set, hash... reads as: no bytes, which no
/// envelope is, so the manager counts a rejected value (the key is left in
/// place, as any unusable value).
fn not_a_string() -> RedisLookup {
    RedisLookup::Hit(Vec::new())
}

#[cfg(test)]
mod tests;
