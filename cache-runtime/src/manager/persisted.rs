//! The disk level of a `disk` or `hybrid` region: typed keys and values over
//! a [`DiskStore`], through the region's serde functions.

use std::sync::Arc;
use std::time::Duration;

use crate::disk::{
    CleanupReport, DiskCursor, DiskEntryPage, DiskError, DiskLookup, DiskStore, Glob, WriteBehind,
};
use crate::envelope::{EncodeError, MissCause, ValueFormat, unix_ms};
use crate::stats::{ErrorCause, EvictionCause, RegionStats};

use super::kit::SerdeFns;
use super::memory::LiveDuration;

/// Writes either straight to the files or through a bounded write-behind
/// queue (off the caller's path; read-your-writes; flushed on shutdown).
enum Writer {
    Direct(DiskStore),
    Behind(WriteBehind),
}

impl Writer {
    fn store(&self) -> &DiskStore {
        match self {
            Writer::Direct(store) => store,
            Writer::Behind(behind) => behind.store(),
        }
    }
}

/// A region's disk level.
pub(crate) struct DiskLevel<K, V> {
    writer: Writer,
    key_text: fn(&K) -> String,
    value: SerdeFns<V>,
    /// How values are serialized in the files.
    format: ValueFormat,
    /// The region's TTL: how long entries written from now on live on disk
    /// (a change applies to new writes: a file keeps the expiry it was
    /// written with).
    ttl: LiveDuration,
    stats: Arc<RegionStats>,
}

/// A value read from disk, with the time it has left.
pub(crate) struct DiskHit<V> {
    pub(crate) value: V,
    pub(crate) remaining: Option<Duration>,
}

impl<K, V> DiskLevel<K, V> {
    /// `write_behind` is the queue's capacity; 0 writes synchronously.
    pub(crate) fn new(
        store: DiskStore,
        write_behind: usize,
        key_text: fn(&K) -> String,
        value: SerdeFns<V>,
        ttl: Option<Duration>,
        stats: Arc<RegionStats>,
    ) -> Result<DiskLevel<K, V>, DiskError> {
        let format = store.schema().format();
        let writer = if write_behind == 0 {
            Writer::Direct(store)
        } else {
            Writer::Behind(WriteBehind::new(store, write_behind)?)
        };
        Ok(DiskLevel {
            writer,
            key_text,
            value,
            format,
            ttl: LiveDuration::new(ttl),
            stats,
        })
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
        self.writer.store().set_compression(compression);
    }

    /// Reads `key`; any unusable file is a counted miss (and is removed).
    pub(crate) fn read(&self, key: &K) -> Option<DiskHit<V>> {
        let text = self.key_text(key);
        let lookup = match &self.writer {
            Writer::Direct(store) => store.lookup(text.as_bytes()),
            Writer::Behind(behind) => behind.lookup(text.as_bytes()),
        };
        match lookup {
            Ok(DiskLookup::Hit(decoded)) => {
                match (self.value.decode)(&decoded.value, self.format) {
                    Some(value) => Some(DiskHit {
                        value,
                        remaining: decoded.expires_at_ms.map(|at| {
                            Duration::from_millis(
                                at.saturating_sub(unix_ms(std::time::SystemTime::now())),
                            )
                        }),
                    }),
                    None => {
                        // Intact envelope, but the bytes no longer deserialize
                        // into the value type: stale, drop it.
                        self.stats.error(ErrorCause::Corrupt);
                        let _ = self.remove_text(&text);
                        None
                    }
                }
            }
            Ok(DiskLookup::Rejected(rejection)) => {
                match rejection.cause() {
                    MissCause::Expired => self.stats.evict(EvictionCause::Expired),
                    MissCause::Stale | MissCause::Corrupt => self.stats.error(ErrorCause::Corrupt),
                }
                None
            }
            Ok(DiskLookup::Missing) => None,
            Err(_) => {
                self.stats.error(ErrorCause::Io);
                None
            }
        }
    }

    /// Stores `value` for `key`, living `ttl` (its own, already combined
    /// with the region's) or else the region's TTL; whether it replaced an
    /// entry file (or a queued write).
    ///
    /// # Errors
    ///
    /// What the store refused, counted: a value serde cannot write, a key
    /// or value over the envelope's limits, a file that cannot be written
    /// (with write-behind, only what fails before the queue: later
    /// failures are counted and reported by `flush`).
    pub(crate) fn write(
        &self,
        key: &K,
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<bool, DiskError> {
        let Some(bytes) = (self.value.encode)(value, self.format) else {
            self.stats.error(ErrorCause::Corrupt);
            return Err(DiskError::Encode(EncodeError::Serde { what: "value" }));
        };
        // The store has combined an entry's own TTL with the region's.
        let ttl = ttl.or(self.ttl.get());
        let text = self.key_text(key);
        let written = match &self.writer {
            Writer::Direct(store) => {
                let held = store.holds(text.as_bytes());
                store.put(text.as_bytes(), &bytes, ttl).map(|()| held)
            }
            Writer::Behind(behind) => {
                let held = behind.holds(text.as_bytes());
                behind.put(text.as_bytes(), &bytes, ttl).map(|()| held)
            }
        };
        if written.is_err() {
            self.stats.error(ErrorCause::Io);
        }
        written
    }

    /// Removes `key`'s file; whether one was there (queued removals report
    /// `true`).
    pub(crate) fn remove(&self, key: &K) -> bool {
        let text = self.key_text(key);
        self.remove_text(&text).unwrap_or_else(|_| {
            self.stats.error(ErrorCause::Io);
            false
        })
    }

    fn remove_text(&self, text: &str) -> Result<bool, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.remove(text.as_bytes()),
            Writer::Behind(behind) => {
                let existed = behind.lookup(text.as_bytes())?.is_hit();
                behind.remove(text.as_bytes())?;
                Ok(existed)
            }
        }
    }

    pub(crate) fn clear(&self) -> Result<u64, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.clear(),
            Writer::Behind(behind) => behind.clear(),
        }
    }

    pub(crate) fn clear_matching(&self, pattern: &Glob) -> Result<u64, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.clear_matching(pattern),
            Writer::Behind(behind) => behind.clear_matching(pattern),
        }
    }

    pub(crate) fn entries(
        &self,
        cursor: Option<&DiskCursor>,
        limit: usize,
    ) -> Result<DiskEntryPage, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.entries(cursor, limit),
            Writer::Behind(behind) => behind.entries(cursor, limit),
        }
    }

    /// The value stored under `text` (a key's text form), as JSON, for
    /// browsing.
    pub(crate) fn json(&self, text: &str) -> Option<serde_json::Value> {
        let found = match &self.writer {
            Writer::Direct(store) => store.get(text.as_bytes()),
            Writer::Behind(behind) => behind.get(text.as_bytes()),
        };
        let bytes = found.ok().flatten()?;
        match self.format {
            ValueFormat::Json => serde_json::from_slice(&bytes).ok(),
            _ => (self.value.decode)(&bytes, self.format)
                .and_then(|value| (self.value.to_json)(&value).ok()),
        }
    }

    /// The entry files (and queued writes); `None` when the folder cannot
    /// be listed.
    pub(crate) fn len(&self) -> Option<u64> {
        match &self.writer {
            Writer::Direct(store) => store.len(),
            Writer::Behind(behind) => behind.len(),
        }
        .ok()
    }

    pub(crate) fn flush(&self) -> Result<(), DiskError> {
        match &self.writer {
            Writer::Direct(_) => Ok(()),
            Writer::Behind(behind) => behind.flush(),
        }
    }

    pub(crate) fn cleanup(&self) -> Result<CleanupReport, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.cleanup(),
            Writer::Behind(behind) => behind.cleanup(),
        }
    }

    pub(crate) fn store(&self) -> &DiskStore {
        self.writer.store()
    }
}
