//! [`RemoteLevel`]: the Redis level of a `redis` or `hybrid` region, typed:
//! keys through their text form, values through the region's serde
//! functions, every operation counted per tier and awaited in the Redis I/O
//! thread's context. Writes, removals and clears are announced on the
//! backplane once Redis has them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::kit::SerdeFns;
use super::memory::LiveDuration;
use crate::disk::Glob;
use crate::envelope::{MissCause, Schema, ValueFormat, unix_ms};
use crate::redis_tier::{
    Backplane, Invalidation, LocalLevel, RedisError, RedisLevel, RedisLink, RedisLookup,
};
use crate::stats::{ErrorCause, EvictionCause, L2Outcome, RegionStats, TierEvent};

/// What a region shares with the manager's other Redis regions.
#[derive(Clone, Debug)]
pub(crate) struct RedisShared {
    pub(crate) link: Arc<RedisLink>,
    pub(crate) backplane: Option<Arc<Backplane>>,
    pub(crate) fleet: Arc<crate::redis_tier::Fleet>,
}

/// A value read from Redis, with the time it has left.
pub(crate) struct RemoteHit<V> {
    pub(crate) value: V,
    pub(crate) remaining: Option<Duration>,
}

/// A value encoded for Redis, to be written after the memory level has it.
pub(crate) struct RemoteWrite {
    key_text: String,
    bytes: Vec<u8>,
    ttl: Option<Duration>,
}

/// A page of entries read from Redis.
pub(crate) struct RemotePage {
    pub(crate) entries: Vec<(String, crate::envelope::Decoded)>,
    /// The `SCAN` cursor to go on from; 0 when done.
    pub(crate) next: u64,
}

/// A region's Redis level.
pub(crate) struct RemoteLevel<K, V> {
    level: RedisLevel,
    shared: RedisShared,
    region: Arc<str>,
    key_text: fn(&K) -> String,
    value: SerdeFns<V>,
    format: ValueFormat,
    /// The region's TTL: how long entries written from now on live in Redis
    /// (a change applies to new writes: a value keeps the expiry it was
    /// written with).
    ttl: LiveDuration,
    stats: Arc<RegionStats>,
}

impl<K, V> RemoteLevel<K, V> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shared: &RedisShared,
        region: &Arc<str>,
        schema: Schema,
        compression: cache_spec::Compression,
        key_text: fn(&K) -> String,
        value: SerdeFns<V>,
        ttl: Option<Duration>,
        stats: &Arc<RegionStats>,
        memory_level: bool,
    ) -> RemoteLevel<K, V> {
        stats.tiers().enable();
        let mut shared = shared.clone();
        if !memory_level {
            // No instance holds a copy to invalidate: nothing to publish.
            shared.backplane = None;
        }
        RemoteLevel {
            format: schema.format(),
            level: RedisLevel::new(&shared.link, region, schema, compression),
            shared,
            region: Arc::clone(region),
            key_text,
            value,
            ttl: LiveDuration::new(ttl),
            stats: Arc::clone(stats),
        }
    }

    pub(crate) fn key_text(&self, key: &K) -> String {
        (self.key_text)(key)
    }

    /// New writes live `ttl` (without their own).
    pub(crate) fn set_ttl(&self, ttl: Option<Duration>) {
        self.ttl.set(ttl);
    }

    /// New writes are compressed as `compression` says.
    pub(crate) fn set_compression(&self, compression: cache_spec::Compression) {
        self.level.set_compression(compression);
    }

    /// Runs `future` to completion on this thread (blocking forms).
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.shared.link.block_on(future)
    }

    /// Reads `key`: a counted, timed L2 lookup. An unusable value is a
    /// counted miss.
    ///
    /// # Errors
    ///
    /// Redis could not answer.
    pub(crate) async fn read(&self, key: &K) -> Result<Option<RemoteHit<V>>, RedisError> {
        let text = self.key_text(key);
        let start = Instant::now();
        let lookup = self.shared.link.enter(self.level.get(&text)).await;
        let latency = elapsed_ns(start);
        match lookup {
            Ok(lookup) => Ok(self.accept(lookup, latency)),
            Err(error) => {
                self.stats.tiers().lookup(L2Outcome::Error, latency);
                self.stats.error(ErrorCause::Backend);
                Err(error)
            }
        }
    }

    /// What a lookup found, counted: a value, or a miss (an unusable value
    /// is a counted miss).
    fn accept(&self, lookup: RedisLookup, latency: u64) -> Option<RemoteHit<V>> {
        let tiers = self.stats.tiers();
        match lookup {
            RedisLookup::Hit(decoded) => match (self.value.decode)(&decoded.value, self.format) {
                Some(value) => {
                    tiers.lookup(L2Outcome::Hit, latency);
                    Some(RemoteHit {
                        value,
                        remaining: remaining(decoded.expires_at_ms),
                    })
                }
                None => {
                    // An intact envelope whose bytes no longer deserialize
                    // into the value type.
                    tiers.lookup(L2Outcome::Rejected, latency);
                    self.stats.error(ErrorCause::Corrupt);
                    None
                }
            },
            RedisLookup::Missing => {
                tiers.lookup(L2Outcome::Miss, latency);
                None
            }
            RedisLookup::Rejected(rejection) => {
                tiers.lookup(L2Outcome::Rejected, latency);
                match rejection.cause() {
                    MissCause::Expired => self.stats.evict(EvictionCause::Expired),
                    MissCause::Stale | MissCause::Corrupt => self.stats.error(ErrorCause::Corrupt),
                }
                None
            }
        }
    }

    /// Reads `keys` with pipelined `GET`s (in chunks of the configured
    /// batch): one answer per key, in order.
    ///
    /// # Errors
    ///
    /// Redis could not answer.
    pub(crate) async fn read_many(
        &self,
        keys: &[&K],
    ) -> Result<Vec<Option<RemoteHit<V>>>, RedisError> {
        let texts: Vec<String> = keys.iter().map(|key| self.key_text(key)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let start = Instant::now();
        let lookups = self.shared.link.enter(self.level.get_many(&refs)).await;
        let latency = elapsed_ns(start);
        let lookups = lookups.inspect_err(|_| {
            self.stats.tiers().lookup(L2Outcome::Error, latency);
            self.stats.error(ErrorCause::Backend);
        })?;
        let per_key = latency / (lookups.len().max(1) as u64);
        Ok(lookups
            .into_iter()
            .map(|lookup| self.accept(lookup, per_key))
            .collect())
    }

    /// Writes prepared values with pipelined `SET`s, then announces them in
    /// one message.
    ///
    /// # Errors
    ///
    /// Redis could not take them (the chunks before the failure are
    /// written).
    pub(crate) async fn write_many(&self, writes: Vec<RemoteWrite>) -> Result<(), RedisError> {
        let entries: Vec<(&str, &[u8], Option<Duration>)> = writes
            .iter()
            .map(|write| (write.key_text.as_str(), write.bytes.as_slice(), write.ttl))
            .collect();
        let written = self.shared.link.enter(self.level.put_many(&entries)).await;
        match &written {
            Ok(replaced) => {
                for _ in replaced.iter().filter(|&&replaced| replaced) {
                    self.stats.update();
                }
                for _ in &writes {
                    self.stats.tiers().count(TierEvent::Write);
                }
                let keys = writes.into_iter().map(|write| write.key_text).collect();
                self.announce(Invalidation::Keys(keys)).await;
            }
            Err(_) => {
                for _ in &writes {
                    self.skipped();
                }
            }
        }
        written.map(drop)
    }

    /// `value` encoded for `key` (`None`, counted, when serde fails).
    pub(crate) fn prepare(&self, key: &K, value: &V, ttl: Option<Duration>) -> Option<RemoteWrite> {
        match (self.value.encode)(value, self.format) {
            Some(bytes) => Some(RemoteWrite {
                key_text: self.key_text(key),
                bytes,
                ttl: ttl.or(self.ttl.get()),
            }),
            None => {
                self.stats.error(ErrorCause::Corrupt);
                None
            }
        }
    }

    /// Writes a prepared value, then announces it on the backplane. A
    /// failure is counted as a skipped write.
    ///
    /// # Errors
    ///
    /// Redis could not take it.
    pub(crate) async fn write(&self, write: RemoteWrite) -> Result<(), RedisError> {
        let written = self
            .shared
            .link
            .enter(self.level.put(&write.key_text, &write.bytes, write.ttl))
            .await;
        match &written {
            Ok(replaced) => {
                if *replaced {
                    // Redis decides for Redis and hybrid regions.
                    self.stats.update();
                }
                self.stats.tiers().count(TierEvent::Write);
                self.announce(Invalidation::Key(write.key_text)).await;
            }
            Err(_) => self.skipped(),
        }
        written.map(drop)
    }

    /// Counts a write that did not reach Redis.
    pub(crate) fn skipped(&self) {
        self.stats.tiers().count(TierEvent::WriteSkipped);
        self.stats.error(ErrorCause::Backend);
    }

    /// Removes `key_text`'s value; whether there was one. Announced.
    ///
    /// # Errors
    ///
    /// Redis could not answer.
    pub(crate) async fn remove(&self, key_text: String) -> Result<bool, RedisError> {
        let removed = self.shared.link.enter(self.level.remove(&key_text)).await;
        self.settle(&removed);
        if removed.is_ok() {
            self.announce(Invalidation::Key(key_text)).await;
        }
        removed
    }

    /// Removes every value of the region; how many. Announced.
    ///
    /// # Errors
    ///
    /// Redis failed; what was removed before stays removed.
    pub(crate) async fn clear(&self) -> Result<u64, RedisError> {
        let removed = self.shared.link.enter(self.level.clear()).await;
        self.settle(&removed);
        // Announced even after a failure part-way: some keys went.
        self.announce(Invalidation::Region).await;
        removed
    }

    /// Removes the values whose key text matches `glob`; how many.
    /// Announced.
    ///
    /// # Errors
    ///
    /// Redis failed; what was removed before stays removed.
    pub(crate) async fn clear_matching(
        &self,
        glob: &Glob,
        pattern: &str,
    ) -> Result<u64, RedisError> {
        let removed = self
            .shared
            .link
            .enter(self.level.clear_matching(glob))
            .await;
        self.settle(&removed);
        self.announce(Invalidation::Matching(pattern.to_owned()))
            .await;
        removed
    }

    /// Up to about `limit` entries whose key text matches `glob`, from the
    /// `SCAN` cursor `cursor` (0 to start).
    ///
    /// # Errors
    ///
    /// Redis could not answer.
    pub(crate) async fn page(
        &self,
        glob: Option<&Glob>,
        cursor: u64,
        limit: usize,
    ) -> Result<RemotePage, RedisError> {
        let link = &self.shared.link;
        let (next, keys) = link
            .enter(self.level.scan_keys(cursor, glob, limit))
            .await
            .inspect_err(|_| self.failed())?;
        let texts: Vec<&str> = keys.iter().map(String::as_str).collect();
        let lookups = link
            .enter(self.level.get_many(&texts))
            .await
            .inspect_err(|_| self.failed())?;
        let entries = keys
            .into_iter()
            .zip(lookups)
            .filter_map(|(key, lookup)| match lookup {
                RedisLookup::Hit(decoded) => Some((key, decoded)),
                RedisLookup::Missing | RedisLookup::Rejected(_) => None,
            })
            .collect();
        Ok(RemotePage { entries, next })
    }

    /// Every key text held in Redis for the region.
    ///
    /// # Errors
    ///
    /// Redis could not answer.
    pub(crate) async fn key_texts(&self) -> Result<Vec<String>, RedisError> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = self
                .shared
                .link
                .enter(self.level.scan_keys(cursor, None, 1_000))
                .await
                .inspect_err(|_| self.failed())?;
            all.extend(keys);
            if next == 0 {
                all.sort_unstable();
                all.dedup();
                return Ok(all);
            }
            cursor = next;
        }
    }

    /// A stored value as JSON (entries browsing).
    pub(crate) fn json(
        &self,
        bytes: &[u8],
        to_json: fn(&V) -> Result<serde_json::Value, serde_json::Error>,
    ) -> Option<serde_json::Value> {
        (self.value.decode)(bytes, self.format).and_then(|value| to_json(&value).ok())
    }

    fn settle<T>(&self, outcome: &Result<T, RedisError>) {
        if outcome.is_err() {
            self.failed();
        }
    }

    /// Counts a failed Redis operation other than a lookup.
    fn failed(&self) {
        self.stats.tiers().error();
        self.stats.error(ErrorCause::Backend);
    }

    /// Tells other instances to drop `what` from their memory levels.
    async fn announce(&self, what: Invalidation) {
        let Some(backplane) = &self.shared.backplane else {
            return;
        };
        let event = if self
            .shared
            .link
            .enter(backplane.publish(&self.region, what))
            .await
        {
            TierEvent::BackplaneSent
        } else {
            TierEvent::BackplaneDeferred
        };
        self.stats.tiers().count(event);
    }
}

fn remaining(expires_at_ms: Option<u64>) -> Option<Duration> {
    expires_at_ms
        .map(|at| Duration::from_millis(at.saturating_sub(unix_ms(std::time::SystemTime::now()))))
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Delivers the backplane's invalidations for `store`'s region to its
/// memory level (hybrid regions over Redis only).
pub(crate) fn attach_backplane<K, V>(store: &Arc<super::store::RegionStore<K, V>>)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let (Some(remote), Some(_)) = (
        store.remote.as_ref().and_then(super::second::Second::redis),
        &store.memory,
    ) else {
        return;
    };
    if let Some(backplane) = &remote.shared.backplane {
        let level: Arc<dyn LocalLevel> = store.clone();
        backplane.register(&remote.region, Arc::downgrade(&level));
    }
}

impl<K, V> LocalLevel for super::store::RegionStore<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn invalidate_local(&self, what: &Invalidation, received: bool) {
        let Some(memory) = &self.memory else {
            return;
        };
        if received {
            self.stats.tiers().count(TierEvent::BackplaneReceived);
        }
        match what {
            Invalidation::Key(text) => self.invalidate_local_key(memory, text),
            Invalidation::Keys(texts) => {
                for text in texts {
                    self.invalidate_local_key(memory, text);
                }
            }
            Invalidation::Matching(pattern) => {
                let _ = self.clear_memory_matching(&Glob::key(pattern));
            }
            Invalidation::Region => {
                memory.clear();
            }
        }
    }
}

impl<K, V> super::store::RegionStore<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Drops the key whose text is `text` from the memory level.
    fn invalidate_local_key(&self, memory: &super::memory::MemoryLevel<K, V>, text: &str) {
        let key = self
            .codecs
            .key_serde
            .and_then(|serde| super::store::key_from_text(serde.from_json, text));
        match key {
            Some(key) => {
                memory.remove(&key);
            }
            // A text this region cannot read back: drop by text.
            None => {
                let _ = self.clear_memory_matching(&Glob::key(&Glob::escape(text)));
            }
        }
    }
}
