//! The second level of a `backend` or `hybrid` region, typed: keys through
//! their text form, values through the region's serde functions and the
//! versioned envelope, over any [`Backend`]; and [`Second`], the one type
//! the store holds for a second level that is awaited (a named backend, or
//! Redis).
//!
//! Every value is sealed in an [`Envelope`] whose embedded key is
//! `{region}:{key text}`, under the region's [`Schema`], so a value copied
//! to another key or region, written by another schema or format, damaged
//! or expired is a counted miss — never a panic, never a wrong value —
//! whatever the backend does with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_spec::glob::Glob;

use super::error::CacheError;
use super::kit::SerdeFns;
use super::memory::LiveDuration;
use super::remote::{RemoteHit, RemoteLevel, RemoteWrite};
use crate::backend::{Backend, BackendError, Capabilities, Entry, Put};
use crate::envelope::{Clock, Decoded, Envelope, LiveCompression, MissCause, Schema, SystemClock};
use crate::redis_tier::RedisError;
use crate::stats::{ErrorCause, EvictionCause, L2Outcome, RegionStats, TierEvent};

/// A region's level over a named backend.
pub(crate) struct BackendLevel<K, V> {
    backend: Arc<dyn Backend>,
    /// The name it was registered under, for errors.
    name: Arc<str>,
    capabilities: Capabilities,
    region: Arc<str>,
    key_text: fn(&K) -> String,
    value: SerdeFns<V>,
    schema: Schema,
    compression: LiveCompression,
    /// How long entries written from now on live.
    ttl: LiveDuration,
    clock: SystemClock,
    stats: Arc<RegionStats>,
}

/// A value sealed for the backend, written once the memory level has it.
pub(crate) struct BackendWrite {
    key_text: String,
    bytes: Vec<u8>,
    ttl: Option<Duration>,
}

impl<K, V> BackendLevel<K, V> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        backend: Arc<dyn Backend>,
        name: &str,
        region: &Arc<str>,
        schema: Schema,
        compression: cache_spec::Compression,
        key_text: fn(&K) -> String,
        value: SerdeFns<V>,
        ttl: Option<Duration>,
        stats: &Arc<RegionStats>,
    ) -> BackendLevel<K, V> {
        stats.tiers().enable();
        BackendLevel {
            capabilities: backend.capabilities(),
            backend,
            name: name.into(),
            region: Arc::clone(region),
            key_text,
            value,
            schema,
            compression: LiveCompression::new(compression),
            ttl: LiveDuration::new(ttl),
            clock: SystemClock,
            stats: Arc::clone(stats),
        }
    }

    /// The key the envelope of `text` carries.
    fn sealed_key(&self, text: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.region.len() + 1 + text.len());
        key.extend_from_slice(self.region.as_bytes());
        key.push(b':');
        key.extend_from_slice(text.as_bytes());
        key
    }

    /// Opens the bytes stored under `text`: the value, or a counted miss.
    fn open(&self, text: &str, bytes: Option<Vec<u8>>, latency: u64) -> Option<RemoteHit<V>> {
        let tiers = self.stats.tiers();
        let Some(bytes) = bytes else {
            tiers.lookup(L2Outcome::Miss, latency);
            return None;
        };
        let decoded = match Envelope::decode(
            &bytes,
            &self.sealed_key(text),
            &self.schema,
            self.clock.now_ms(),
        ) {
            Ok(decoded) => decoded,
            Err(rejection) => {
                tiers.lookup(L2Outcome::Rejected, latency);
                match rejection.cause() {
                    MissCause::Expired => self.stats.evict(EvictionCause::Expired),
                    MissCause::Stale | MissCause::Corrupt => self.stats.error(ErrorCause::Corrupt),
                }
                return None;
            }
        };
        match (self.value.decode)(&decoded.value, self.schema.format()) {
            Some(value) => {
                tiers.lookup(L2Outcome::Hit, latency);
                Some(RemoteHit {
                    value,
                    remaining: remaining(decoded.expires_at_ms),
                })
            }
            None => {
                tiers.lookup(L2Outcome::Rejected, latency);
                self.stats.error(ErrorCause::Corrupt);
                None
            }
        }
    }

    /// Reads `key`: a counted, timed lookup.
    pub(crate) async fn read(&self, key: &K) -> Result<Option<RemoteHit<V>>, BackendError> {
        let text = (self.key_text)(key);
        let start = Instant::now();
        let found = self.backend.get(&text).await;
        let latency = elapsed_ns(start);
        match found {
            Ok(bytes) => Ok(self.open(&text, bytes, latency)),
            Err(error) => {
                self.stats.tiers().lookup(L2Outcome::Error, latency);
                self.stats.error(ErrorCause::Backend);
                Err(error)
            }
        }
    }

    /// Reads `keys`: one answer per key, in order.
    pub(crate) async fn read_many(
        &self,
        keys: &[&K],
    ) -> Result<Vec<Option<RemoteHit<V>>>, BackendError> {
        let texts: Vec<String> = keys.iter().map(|key| (self.key_text)(key)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let start = Instant::now();
        let found = self.backend.get_many(&refs).await;
        let latency = elapsed_ns(start);
        let found = found.inspect_err(|_| {
            self.stats.tiers().lookup(L2Outcome::Error, latency);
            self.stats.error(ErrorCause::Backend);
        })?;
        let per_key = latency / (found.len().max(1) as u64);
        Ok(texts
            .iter()
            .zip(found)
            .map(|(text, bytes)| self.open(text, bytes, per_key))
            .collect())
    }

    /// `value` sealed for `key` (`None`, counted, when serde or the
    /// envelope refuse it).
    pub(crate) fn prepare(
        &self,
        key: &K,
        value: &V,
        ttl: Option<Duration>,
    ) -> Option<BackendWrite> {
        let Some(encoded) = (self.value.encode)(value, self.schema.format()) else {
            self.stats.error(ErrorCause::Corrupt);
            return None;
        };
        let key_text = (self.key_text)(key);
        let ttl = ttl.or(self.ttl.get());
        let now = self.clock.now_ms();
        let expires =
            ttl.map(|ttl| now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)));
        match Envelope::new(&self.sealed_key(&key_text), &encoded)
            .written_at_ms(now)
            .expires_at_ms(expires)
            .encode(&self.schema, self.compression.get())
        {
            Ok(bytes) => Some(BackendWrite {
                key_text,
                bytes,
                ttl,
            }),
            Err(_) => {
                self.stats.error(ErrorCause::Corrupt);
                None
            }
        }
    }

    /// Writes a sealed value; a failure is counted as a skipped write.
    pub(crate) async fn write(&self, write: BackendWrite) -> Result<(), BackendError> {
        let written = self
            .backend
            .put(&write.key_text, &write.bytes, write.ttl)
            .await;
        match &written {
            Ok(put) => {
                if *put == Put::Replaced {
                    self.stats.update();
                }
                self.stats.tiers().count(TierEvent::Write);
            }
            Err(_) => self.skipped(),
        }
        written.map(drop)
    }

    /// Writes sealed values in one call.
    pub(crate) async fn write_many(&self, writes: Vec<BackendWrite>) -> Result<(), BackendError> {
        let entries: Vec<Entry<'_>> = writes
            .iter()
            .map(|write| Entry {
                key: &write.key_text,
                value: &write.bytes,
                ttl: write.ttl,
            })
            .collect();
        match self.backend.put_many(&entries).await {
            Ok(answers) => {
                for put in answers {
                    if put == Put::Replaced {
                        self.stats.update();
                    }
                    self.stats.tiers().count(TierEvent::Write);
                }
                Ok(())
            }
            Err(error) => {
                for _ in &writes {
                    self.skipped();
                }
                Err(error)
            }
        }
    }

    /// Counts a write that did not reach the backend.
    pub(crate) fn skipped(&self) {
        self.stats.tiers().count(TierEvent::WriteSkipped);
        self.stats.error(ErrorCause::Backend);
    }

    fn settle<T>(&self, outcome: Result<T, BackendError>) -> Result<T, BackendError> {
        if outcome.is_err() {
            self.stats.tiers().error();
            self.stats.error(ErrorCause::Backend);
        }
        outcome
    }

    pub(crate) async fn remove(&self, key_text: String) -> Result<bool, BackendError> {
        self.settle(self.backend.remove(&key_text).await)
    }

    pub(crate) async fn clear(&self) -> Result<u64, BackendError> {
        self.settle(self.backend.clear().await)
    }

    pub(crate) async fn clear_matching(&self, glob: &Glob) -> Result<u64, BackendError> {
        self.settle(self.backend.clear_matching(glob).await)
    }

    /// A page of entries whose key text matches `glob`.
    pub(crate) async fn page(
        &self,
        glob: Option<&Glob>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<SecondPage, BackendError> {
        let page = self.settle(self.backend.scan(glob, cursor, limit).await)?;
        let refs: Vec<&str> = page.keys.iter().map(String::as_str).collect();
        let values = self.settle(self.backend.get_many(&refs).await)?;
        let now = self.clock.now_ms();
        let entries = page
            .keys
            .iter()
            .zip(values)
            .filter_map(|(text, bytes)| {
                let decoded =
                    Envelope::decode(&bytes?, &self.sealed_key(text), &self.schema, now).ok()?;
                Some((text.clone(), decoded))
            })
            .collect();
        Ok(SecondPage {
            entries,
            next: page.cursor,
        })
    }

    /// Every key text the backend holds for the region.
    pub(crate) async fn key_texts(&self) -> Result<Vec<String>, BackendError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.settle(self.backend.scan(None, cursor.as_deref(), 1_000).await)?;
            all.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => {
                    all.sort_unstable();
                    all.dedup();
                    return Ok(all);
                }
            }
        }
    }

    /// How many entries the backend holds, when it can tell.
    pub(crate) async fn count(&self) -> Option<u64> {
        if !self.capabilities.count {
            return None;
        }
        self.backend.count().await.ok().flatten()
    }
}

/// A page of decoded entries from a second level.
pub(crate) struct SecondPage {
    pub(crate) entries: Vec<(String, Decoded)>,
    /// The cursor to go on from; `None` when done.
    pub(crate) next: Option<String>,
}

/// Why a second level failed.
pub(crate) enum SecondError {
    Redis(RedisError),
    Backend {
        name: Arc<str>,
        source: BackendError,
    },
}

impl SecondError {
    pub(crate) fn into_cache_error(self, region: &str) -> CacheError {
        match self {
            SecondError::Redis(source) => CacheError::Redis {
                region: region.to_owned(),
                source,
            },
            SecondError::Backend { name, source } => CacheError::Backend {
                region: region.to_owned(),
                backend: name.to_string(),
                source,
            },
        }
    }
}

/// The awaited second level of a region: Redis, or a named backend.
pub(crate) enum Second<K, V> {
    Redis(RemoteLevel<K, V>),
    Backend(BackendLevel<K, V>),
}

/// A value prepared for the second level.
pub(crate) enum SecondWrite {
    Redis(RemoteWrite),
    Backend(BackendWrite),
}

impl<K, V> Second<K, V> {
    fn backend_error(&self, source: BackendError) -> SecondError {
        match self {
            Second::Backend(level) => SecondError::Backend {
                name: Arc::clone(&level.name),
                source,
            },
            Second::Redis(_) => SecondError::Backend {
                name: "redis".into(),
                source,
            },
        }
    }

    pub(crate) fn key_text(&self, key: &K) -> String {
        match self {
            Second::Redis(level) => level.key_text(key),
            Second::Backend(level) => (level.key_text)(key),
        }
    }

    pub(crate) fn set_ttl(&self, ttl: Option<Duration>) {
        match self {
            Second::Redis(level) => level.set_ttl(ttl),
            Second::Backend(level) => level.ttl.set(ttl),
        }
    }

    pub(crate) fn set_compression(&self, compression: cache_spec::Compression) {
        match self {
            Second::Redis(level) => level.set_compression(compression),
            Second::Backend(level) => level.compression.set(compression),
        }
    }

    /// Runs `future` to completion on this thread (the blocking forms).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        match self {
            Second::Redis(level) => level.block_on(future),
            Second::Backend(_) => crate::block_on::block_on(future),
        }
    }

    pub(crate) async fn read(&self, key: &K) -> Result<Option<RemoteHit<V>>, SecondError> {
        match self {
            Second::Redis(level) => level.read(key).await.map_err(SecondError::Redis),
            Second::Backend(level) => level
                .read(key)
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    pub(crate) async fn read_many(
        &self,
        keys: &[&K],
    ) -> Result<Vec<Option<RemoteHit<V>>>, SecondError> {
        match self {
            Second::Redis(level) => level.read_many(keys).await.map_err(SecondError::Redis),
            Second::Backend(level) => level
                .read_many(keys)
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    pub(crate) fn prepare(&self, key: &K, value: &V, ttl: Option<Duration>) -> Option<SecondWrite> {
        match self {
            Second::Redis(level) => level.prepare(key, value, ttl).map(SecondWrite::Redis),
            Second::Backend(level) => level.prepare(key, value, ttl).map(SecondWrite::Backend),
        }
    }

    pub(crate) async fn write(&self, write: SecondWrite) -> Result<(), SecondError> {
        match (self, write) {
            (Second::Redis(level), SecondWrite::Redis(write)) => {
                level.write(write).await.map_err(SecondError::Redis)
            }
            (Second::Backend(level), SecondWrite::Backend(write)) => level
                .write(write)
                .await
                .map_err(|error| self.backend_error(error)),
            _ => Ok(()),
        }
    }

    pub(crate) async fn write_many(&self, writes: Vec<SecondWrite>) -> Result<(), SecondError> {
        match self {
            Second::Redis(level) => {
                let writes = writes
                    .into_iter()
                    .filter_map(|write| match write {
                        SecondWrite::Redis(write) => Some(write),
                        SecondWrite::Backend(_) => None,
                    })
                    .collect();
                level.write_many(writes).await.map_err(SecondError::Redis)
            }
            Second::Backend(level) => {
                let writes = writes
                    .into_iter()
                    .filter_map(|write| match write {
                        SecondWrite::Backend(write) => Some(write),
                        SecondWrite::Redis(_) => None,
                    })
                    .collect();
                level
                    .write_many(writes)
                    .await
                    .map_err(|error| self.backend_error(error))
            }
        }
    }

    pub(crate) fn skipped(&self) {
        match self {
            Second::Redis(level) => level.skipped(),
            Second::Backend(level) => level.skipped(),
        }
    }

    pub(crate) async fn remove(&self, key_text: String) -> Result<bool, SecondError> {
        match self {
            Second::Redis(level) => level.remove(key_text).await.map_err(SecondError::Redis),
            Second::Backend(level) => level
                .remove(key_text)
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    pub(crate) async fn clear(&self) -> Result<u64, SecondError> {
        match self {
            Second::Redis(level) => level.clear().await.map_err(SecondError::Redis),
            Second::Backend(level) => level
                .clear()
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    pub(crate) async fn clear_matching(
        &self,
        glob: &Glob,
        pattern: &str,
    ) -> Result<u64, SecondError> {
        match self {
            Second::Redis(level) => level
                .clear_matching(glob, pattern)
                .await
                .map_err(SecondError::Redis),
            Second::Backend(level) => level
                .clear_matching(glob)
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    /// A page of entries, from a cursor this level handed out.
    ///
    /// # Errors
    ///
    /// `Ok(Err(cursor))` for a cursor this level cannot read.
    pub(crate) async fn page(
        &self,
        glob: Option<&Glob>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Result<SecondPage, String>, SecondError> {
        match self {
            Second::Redis(level) => {
                let cursor = match cursor {
                    Some(text) => match text.parse::<u64>() {
                        Ok(cursor) => cursor,
                        Err(_) => return Ok(Err(text.to_owned())),
                    },
                    None => 0,
                };
                let page = level
                    .page(glob, cursor, limit)
                    .await
                    .map_err(SecondError::Redis)?;
                Ok(Ok(SecondPage {
                    entries: page.entries,
                    next: (page.next != 0).then(|| page.next.to_string()),
                }))
            }
            Second::Backend(level) => level
                .page(glob, cursor, limit)
                .await
                .map(Ok)
                .map_err(|error| self.backend_error(error)),
        }
    }

    pub(crate) async fn key_texts(&self) -> Result<Vec<String>, SecondError> {
        match self {
            Second::Redis(level) => level.key_texts().await.map_err(SecondError::Redis),
            Second::Backend(level) => level
                .key_texts()
                .await
                .map_err(|error| self.backend_error(error)),
        }
    }

    /// A stored value as JSON (entries browsing).
    pub(crate) fn json(
        &self,
        bytes: &[u8],
        to_json: fn(&V) -> Result<serde_json::Value, serde_json::Error>,
    ) -> Option<serde_json::Value> {
        match self {
            Second::Redis(level) => level.json(bytes, to_json),
            Second::Backend(level) => (level.value.decode)(bytes, level.schema.format())
                .and_then(|value| to_json(&value).ok()),
        }
    }

    /// How many entries the level holds, when it can tell.
    pub(crate) fn count_blocking(&self) -> Option<u64> {
        match self {
            Second::Redis(_) => None,
            Second::Backend(level) => crate::block_on::block_on(level.count()),
        }
    }

    /// Whether a Redis level serves the region (the backplane's business).
    #[cfg(feature = "redis")]
    pub(crate) fn redis(&self) -> Option<&RemoteLevel<K, V>> {
        match self {
            Second::Redis(level) => Some(level),
            Second::Backend(_) => None,
        }
    }
}

fn remaining(expires_at_ms: Option<u64>) -> Option<Duration> {
    expires_at_ms.map(|at| {
        Duration::from_millis(
            at.saturating_sub(crate::envelope::unix_ms(std::time::SystemTime::now())),
        )
    })
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
