//! The second level of a `disk`, `redis`, `backend` or `hybrid` region,
//! typed: keys through their text form, values through the region's serde
//! functions and the versioned envelope, over any [`Backend`] — the disk
//! tier's ([`crate::disk::DiskBackend`]) and Redis'
//! (`crate::redis::RedisBackend`) as much as a user's. Every operation is
//! counted per tier; writes, removals and clears of a hybrid region over a
//! second level shared between processes are announced on the backplane
//! once the backend has them.
//!
//! Every value is sealed in an [`Envelope`] whose embedded key is
//! `{region}:{key text}`, under the region's [`Schema`], so a value copied
//! to another key or region, written by another schema or format, damaged
//! or expired is a counted miss — never a panic, never a wrong value —
//! whatever the backend does with it.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_spec::glob::Glob;

use super::error::CacheError;
use super::memory::LiveDuration;
use super::remote::Announcer;
use crate::backend::{Backend, BackendError, Capabilities, CleanupReport, Entry, Put};
use crate::envelope::{
    Clock, Decoded, Envelope, LiveCompression, MissCause, RegionKey, Schema, SystemClock,
    ValueFormat,
};
use crate::kit::SerdeFns;
use crate::stats::{ErrorCause, EvictionCause, L2Outcome, LookupTally, RegionStats, TierEvent};

/// A value read from the second level, with the time it has left.
pub(crate) struct RemoteHit<V> {
    pub(crate) value: V,
    pub(crate) remaining: Option<Duration>,
}

/// What the other instances' memory levels must drop.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Announce {
    Key(String),
    Keys(Vec<String>),
    Matching(String),
    Region,
}

/// The store's awaited second level.
pub(crate) type Second<K, V> = BackendLevel<K, V>;
/// A value sealed for it.
pub(crate) type SecondWrite = BackendWrite;

/// A region's level over a backend.
pub(crate) struct BackendLevel<K, V> {
    backend: Arc<dyn Backend>,
    /// The name it was registered under, for errors.
    name: Arc<str>,
    capabilities: Capabilities,
    region: Arc<str>,
    key_text: fn(&K) -> String,
    value: SerdeFns<V>,
    schema: Schema,
    /// The schema a value is sealed with when postcard cannot carry it
    /// (see [`BackendLevel::encode`]).
    json_schema: Schema,
    compression: LiveCompression,
    /// How long entries written from now on live.
    ttl: LiveDuration,
    clock: SystemClock,
    stats: Arc<RegionStats>,
    /// Publishes changes to other instances (hybrid over a shared level).
    announcer: Option<Announcer>,
    /// Which tier this level is, for how its failures are reported.
    tier: BuiltIn,
}

/// Whether a level is one of the built-in tiers, whose failures keep their
/// own error types ([`CacheError::Disk`], [`CacheError::Redis`]) and
/// counters, or a named backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BuiltIn {
    /// A backend registered by name: [`CacheError::Backend`].
    Named,
    /// The disk tier: its failures are file I/O ([`ErrorCause::Io`]).
    Disk,
    /// The Redis tier.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis,
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
        announcer: Option<Announcer>,
    ) -> BackendLevel<K, V> {
        stats.tiers().enable();
        BackendLevel {
            announcer,
            tier: BuiltIn::Named,
            capabilities: backend.capabilities(),
            backend,
            name: name.into(),
            region: Arc::clone(region),
            key_text,
            value,
            json_schema: schema.clone().with_format(ValueFormat::Json),
            schema,
            compression: LiveCompression::new(compression),
            ttl: LiveDuration::new(ttl),
            clock: SystemClock,
            stats: Arc::clone(stats),
        }
    }

    /// This level as a built-in tier (its failures reported as that
    /// tier's).
    pub(crate) fn built_in(mut self, tier: BuiltIn) -> BackendLevel<K, V> {
        self.tier = tier;
        self
    }

    /// What a failure of this level counts as.
    fn failure(&self) -> ErrorCause {
        match self.tier {
            BuiltIn::Disk => ErrorCause::Io,
            BuiltIn::Named | BuiltIn::Redis => ErrorCause::Backend,
        }
    }

    /// The backend (health checks; tests that look at what it stores).
    pub(crate) fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The announcer, when this level publishes to other instances.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn announcer(&self) -> Option<&Announcer> {
        self.announcer.as_ref()
    }

    pub(crate) fn key_text(&self, key: &K) -> String {
        (self.key_text)(key)
    }

    /// `key`'s text for a read: a `String` key is its own text (whether
    /// the codec goes through serde or `Display`), borrowed rather than
    /// copied; any other key's comes from the codec.
    fn text_of<'k>(&self, key: &'k K) -> Cow<'k, str>
    where
        K: 'static,
    {
        match (key as &dyn Any).downcast_ref::<String>() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned((self.key_text)(key)),
        }
    }

    /// New writes live `ttl` (without their own).
    pub(crate) fn set_ttl(&self, ttl: Option<Duration>) {
        self.ttl.set(ttl);
    }

    /// New writes are compressed as `compression` says.
    pub(crate) fn set_compression(&self, compression: cache_spec::Compression) {
        self.compression.set(compression);
    }

    /// Runs `future` to completion on this thread (the blocking forms): a
    /// backend's futures complete on any executor.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        crate::block_on::block_on(future)
    }

    fn fail(&self, source: BackendError) -> SecondError {
        SecondError {
            name: Arc::clone(&self.name),
            tier: self.tier,
            source,
        }
    }

    async fn announce(&self, what: Announce) {
        if let Some(announcer) = &self.announcer {
            announcer.announce(&self.region, what, &self.stats).await;
        }
    }

    /// The key the envelope of `text` carries: `region:text`.
    fn sealed_key(&self, text: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.region.len() + 1 + text.len());
        key.extend_from_slice(self.region.as_bytes());
        key.push(b':');
        key.extend_from_slice(text.as_bytes());
        key
    }

    /// Opens the bytes stored under `text`: the value, or why not, with the
    /// lookup's outcome for the caller to count (once per batch for
    /// `read_many`). `now_ms` is the clock's time (read once per batch).
    fn open(&self, text: &str, bytes: Option<Vec<u8>>, now_ms: u64) -> (L2Outcome, Opened<V>) {
        let Some(bytes) = bytes else {
            return (L2Outcome::Miss, Opened::Missing);
        };
        let key = RegionKey {
            region: &self.region,
            text,
        };
        let opened = match Envelope::open_value(bytes, &key, &self.schema, now_ms) {
            Ok(opened) => opened,
            Err(rejection) => {
                match rejection.cause() {
                    MissCause::Expired => self.stats.evict(EvictionCause::Expired),
                    MissCause::Stale | MissCause::Corrupt => self.stats.error(ErrorCause::Corrupt),
                }
                return (L2Outcome::Rejected, Opened::Unusable);
            }
        };
        let expires_at_ms = opened.expires_at_ms;
        match (self.value.decode_owned)(opened.buffer, opened.value, opened.format) {
            Some(value) => (
                L2Outcome::Hit,
                Opened::Hit(RemoteHit {
                    value,
                    remaining: remaining(expires_at_ms, now_ms),
                }),
            ),
            None => {
                self.stats.error(ErrorCause::Corrupt);
                (L2Outcome::Rejected, Opened::Unusable)
            }
        }
    }

    /// Removes unusable bytes from a backend no other process reads (a
    /// local folder), best effort: only this region could have written
    /// them, and none of its readers can use them. In a shared backend they
    /// are left alone: another instance, on another schema, may be reading
    /// them.
    async fn drop_unusable(&self, text: &str) {
        if !self.capabilities.shared {
            let _ = self.backend.remove(text).await;
        }
    }

    /// Reads `key`: a counted, timed lookup.
    pub(crate) async fn read(&self, key: &K) -> Result<Option<RemoteHit<V>>, SecondError>
    where
        K: 'static,
    {
        let text = self.text_of(key);
        let start = Instant::now();
        let found = self.backend.get(&text).await;
        let latency = elapsed_ns(start);
        match found {
            Ok(bytes) => {
                let (outcome, opened) = self.open(&text, bytes, self.clock.now_ms());
                self.stats.tiers().lookup(outcome, latency);
                // A hit or a miss awaits nothing more.
                match opened {
                    Opened::Hit(hit) => Ok(Some(hit)),
                    Opened::Missing => Ok(None),
                    Opened::Unusable => {
                        self.drop_unusable(&text).await;
                        Ok(None)
                    }
                }
            }
            Err(error) => {
                self.stats.tiers().lookup(L2Outcome::Error, latency);
                self.stats.error(self.failure());
                Err(self.fail(error))
            }
        }
    }

    /// Reads `keys`: one answer per key, in order.
    pub(crate) async fn read_many(
        &self,
        keys: &[&K],
    ) -> Result<Vec<Option<RemoteHit<V>>>, SecondError>
    where
        K: 'static,
    {
        let texts: Vec<Cow<'_, str>> = keys.iter().map(|key| self.text_of(key)).collect();
        let refs: Vec<&str> = texts.iter().map(|text| &**text).collect();
        let start = Instant::now();
        let found = self.backend.get_many(&refs).await;
        let latency = elapsed_ns(start);
        let found = match found {
            Ok(found) => found,
            Err(error) => {
                self.stats.tiers().lookup(L2Outcome::Error, latency);
                self.stats.error(self.failure());
                return Err(self.fail(error));
            }
        };
        let per_key = latency / (found.len().max(1) as u64);
        let now_ms = self.clock.now_ms();
        let mut hits = Vec::with_capacity(texts.len());
        let mut outcomes = LookupTally::default();
        for (text, bytes) in texts.iter().zip(found) {
            let (outcome, opened) = self.open(text, bytes, now_ms);
            outcomes.add(outcome);
            // Only an unusable entry waits for anything (its removal).
            hits.push(match opened {
                Opened::Hit(hit) => Some(hit),
                Opened::Missing => None,
                Opened::Unusable => {
                    self.drop_unusable(text).await;
                    None
                }
            });
        }
        outcomes.record(self.stats.tiers(), per_key);
        Ok(hits)
    }

    /// `value` sealed for `key`; when serde or the envelope refuse it,
    /// counted, and why.
    pub(crate) fn prepare(
        &self,
        key: &K,
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<BackendWrite, SecondError> {
        let Some((schema, encoded)) = self.encode(value) else {
            self.stats.error(ErrorCause::Corrupt);
            return Err(self.fail(BackendError::Refused {
                what: String::from("the value"),
                reason: String::from("its Serialize implementation failed"),
            }));
        };
        let key_text = (self.key_text)(key);
        let ttl = ttl.or(self.ttl.get());
        let now = self.clock.now_ms();
        let expires =
            ttl.map(|ttl| now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)));
        match Envelope::new(&self.sealed_key(&key_text), &encoded)
            .written_at_ms(now)
            .expires_at_ms(expires)
            .encode(schema, self.compression.get())
        {
            Ok(bytes) => Ok(BackendWrite {
                key_text,
                bytes,
                ttl,
            }),
            Err(error) => {
                // Too large for the envelope: the store cannot take it.
                self.stats.error(self.failure());
                Err(self.fail(BackendError::Refused {
                    what: format!("the entry for key {key_text:?}"),
                    reason: error.to_string(),
                }))
            }
        }
    }

    /// Writes a sealed value, then announces it; a failure is counted as
    /// a skipped write.
    pub(crate) async fn write(&self, write: BackendWrite) -> Result<(), SecondError> {
        let written = self
            .backend
            .put(&write.key_text, &write.bytes, write.ttl)
            .await;
        match written {
            Ok(put) => {
                if put == Put::Replaced {
                    // The second level decides for every region that has one.
                    self.stats.update();
                }
                self.stats.tiers().count(TierEvent::Write);
                self.announce(Announce::Key(write.key_text)).await;
                Ok(())
            }
            Err(error) => {
                self.skipped();
                Err(self.fail(error))
            }
        }
    }

    /// Writes sealed values in one call, then announces them in one
    /// message.
    pub(crate) async fn write_many(&self, writes: Vec<BackendWrite>) -> Result<(), SecondError> {
        let entries: Vec<Entry<'_>> = writes
            .iter()
            .map(|write| Entry {
                key: &write.key_text,
                value: &write.bytes,
                ttl: write.ttl,
            })
            .collect();
        let answered = self.backend.put_many(&entries).await;
        drop(entries);
        match answered {
            Ok(answers) => {
                for put in answers {
                    if put == Put::Replaced {
                        self.stats.update();
                    }
                    self.stats.tiers().count(TierEvent::Write);
                }
                let keys = writes.into_iter().map(|write| write.key_text).collect();
                self.announce(Announce::Keys(keys)).await;
                Ok(())
            }
            Err(error) => {
                for _ in &writes {
                    self.skipped();
                }
                Err(self.fail(error))
            }
        }
    }

    /// Counts a write that did not reach the backend.
    pub(crate) fn skipped(&self) {
        self.stats.tiers().count(TierEvent::WriteSkipped);
        self.stats.error(self.failure());
    }

    /// Counts a failed operation other than a lookup or a write.
    fn settle<T>(&self, outcome: Result<T, BackendError>) -> Result<T, SecondError> {
        outcome.map_err(|error| {
            self.stats.tiers().error();
            self.stats.error(self.failure());
            self.fail(error)
        })
    }

    /// Removes `key_text`'s value; whether there was one. Announced.
    pub(crate) async fn remove(&self, key_text: String) -> Result<bool, SecondError> {
        let removed = self.settle(self.backend.remove(&key_text).await)?;
        self.announce(Announce::Key(key_text)).await;
        Ok(removed)
    }

    /// Removes every value of the region; how many. Announced, even after a
    /// failure part-way (some went).
    pub(crate) async fn clear(&self) -> Result<u64, SecondError> {
        let removed = self.settle(self.backend.clear().await);
        self.announce(Announce::Region).await;
        removed
    }

    /// Removes the values whose key text matches `glob`; how many.
    /// Announced.
    pub(crate) async fn clear_matching(
        &self,
        glob: &Glob,
        pattern: &str,
    ) -> Result<u64, SecondError> {
        let removed = self.settle(self.backend.clear_matching(glob).await);
        self.announce(Announce::Matching(pattern.to_owned())).await;
        removed
    }

    /// A page of entries whose key text matches `glob`, from a cursor this
    /// level handed out (`Ok(Err(cursor))` for one it cannot read).
    pub(crate) async fn page(
        &self,
        glob: Option<&Glob>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Result<SecondPage, String>, SecondError> {
        let page = match self.backend.scan(glob, cursor, limit).await {
            Ok(page) => page,
            // A cursor the backend cannot read is the caller's mistake.
            Err(BackendError::BadCursor { cursor }) => return Ok(Err(cursor)),
            Err(error) => {
                self.stats.tiers().error();
                self.stats.error(self.failure());
                return Err(self.fail(error));
            }
        };
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
        Ok(Ok(SecondPage {
            entries,
            next: page.cursor,
        }))
    }

    /// Every key text the backend holds for the region.
    pub(crate) async fn key_texts(&self) -> Result<Vec<String>, SecondError> {
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

    /// A stored value, written in `format`, as JSON (entries browsing).
    pub(crate) fn json(
        &self,
        bytes: &[u8],
        format: ValueFormat,
        to_json: fn(&V) -> Result<serde_json::Value, serde_json::Error>,
    ) -> Option<serde_json::Value> {
        (self.value.decode)(bytes, format).and_then(|value| to_json(&value).ok())
    }

    /// `value` serialized in the region's format, with the schema to seal
    /// it with; `None` when serde refuses it.
    ///
    /// postcard is not self-describing: a type that serializes differently
    /// than it deserializes (`#[serde(skip_serializing_if)]`, `flatten`,
    /// untagged enums, `serde_json::Value`) writes bytes that do not read
    /// back, or read back as another value. So a value written as postcard
    /// is read back and compared with the original through their JSON
    /// forms (order-insensitive for maps), and kept only when they are
    /// equal; otherwise it is written as JSON, which the envelope records
    /// and every reader of the region reads. A value JSON cannot express
    /// (a map with non-string keys) stays postcard when it reads back. The
    /// check costs a decode and two JSON conversions per write, next to the
    /// write's file or network I/O.
    fn encode(&self, value: &V) -> Option<(&Schema, Vec<u8>)> {
        let format = self.schema.format();
        let bytes = (self.value.encode)(value, format)?;
        if format != ValueFormat::Binary {
            return Some((&self.schema, bytes));
        }
        let same = (self.value.decode)(&bytes, format).is_some_and(|back| {
            match (self.value.to_json)(value) {
                Ok(original) => (self.value.to_json)(&back).is_ok_and(|read| read == original),
                Err(_) => true,
            }
        });
        if same {
            Some((&self.schema, bytes))
        } else {
            (self.value.encode)(value, ValueFormat::Json).map(|json| (&self.json_schema, json))
        }
    }

    /// Waits until the writes the backend acknowledged are durable.
    pub(crate) async fn flush(&self) -> Result<(), SecondError> {
        self.backend.flush().await.map_err(|error| self.fail(error))
    }

    /// Cleans up what the backend keeps but cannot serve.
    pub(crate) async fn cleanup(&self) -> Result<Option<CleanupReport>, SecondError> {
        self.backend
            .cleanup()
            .await
            .map_err(|error| self.fail(error))
    }

    /// How many entries the backend holds, when it can tell.
    pub(crate) fn count_blocking(&self) -> Option<u64> {
        if !self.capabilities.count {
            return None;
        }
        crate::block_on::block_on(self.backend.count())
            .ok()
            .flatten()
    }
}

/// What a lookup's bytes turned out to be.
enum Opened<V> {
    Hit(RemoteHit<V>),
    Missing,
    /// Bytes that are not a usable value of this key (counted).
    Unusable,
}

/// A page of decoded entries from a second level.
pub(crate) struct SecondPage {
    pub(crate) entries: Vec<(String, Decoded)>,
    /// The cursor to go on from; `None` when done.
    pub(crate) next: Option<String>,
}

/// Why a second level failed.
pub(crate) struct SecondError {
    name: Arc<str>,
    tier: BuiltIn,
    source: BackendError,
}

impl SecondError {
    /// The failure as the caller sees it: a built-in tier's in its own
    /// error type (its backend carries it), a named backend's as
    /// [`CacheError::Backend`].
    pub(crate) fn into_cache_error(self, region: &str) -> CacheError {
        let source = match (self.tier, self.source) {
            (BuiltIn::Disk, BackendError::Other(boxed)) => {
                match boxed.downcast::<crate::disk::DiskError>() {
                    Ok(source) => {
                        return CacheError::Disk {
                            region: region.to_owned(),
                            source: *source,
                        };
                    }
                    Err(other) => BackendError::Other(other),
                }
            }
            #[cfg(feature = "redis")]
            (BuiltIn::Redis, BackendError::Other(boxed)) => {
                match boxed.downcast::<crate::redis::RedisError>() {
                    Ok(source) => {
                        return CacheError::Redis {
                            region: region.to_owned(),
                            source: *source,
                        };
                    }
                    Err(other) => BackendError::Other(other),
                }
            }
            (_, source) => source,
        };
        CacheError::Backend {
            region: region.to_owned(),
            backend: self.name.to_string(),
            source,
        }
    }
}

/// The time from `now_ms` (the level's clock, read once per batch) until
/// `expires_at_ms`.
fn remaining(expires_at_ms: Option<u64>, now_ms: u64) -> Option<Duration> {
    expires_at_ms.map(|at| Duration::from_millis(at.saturating_sub(now_ms)))
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
