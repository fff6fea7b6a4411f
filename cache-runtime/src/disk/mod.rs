//! The disk tier's store: one file per entry in a region's folder.
//!
//! - `mod.rs`: [`DiskStore`], its builder, what reads and maintenance report;
//! - `files.rs`: file names, listing, bounded reads, careful removal;
//! - `write_behind.rs`: [`WriteBehind`], writes off the caller's path.
//!
//! Each entry file is named by the hex blake3 of its key (so any key makes a
//! safe, fixed-length name) and holds the key's [`Envelope`]: the key itself,
//! the region's [`Schema`], timestamps and a checksum. Files are written
//! atomically (a temporary file in the same folder, written, synced, renamed
//! over the entry, then the folder synced), so a crash leaves the old entry,
//! the new one, or an orphaned temporary file for [`DiskStore::cleanup`] —
//! never a torn entry. Reading a file that is truncated, damaged, written for
//! another key, under another schema, or expired is a miss that says why
//! ([`DiskLookup::Rejected`]) and removes the file; it is never an error and
//! never a panic.

mod backend;
mod files;
mod write_behind;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cache_spec::persist::atomic_write;
use cache_spec::{Codec, Compression};

use crate::envelope::{
    Clock, Decoded, EncodeError, Envelope, EnvelopeError, Header, LiveCompression, MissCause,
    Parsed, Schema, SystemClock, unix_ms,
};

use self::files::Contents;

pub use self::backend::DiskBackend;
pub use self::write_behind::WriteBehind;
// The pattern type of `clear_matching`, named by the facade (the spec crate
// is an implementation detail).
pub use cache_spec::glob::{Glob, GlobError};

/// An I/O failure of the disk tier (a damaged or foreign file is not one:
/// that is a [`DiskLookup::Rejected`] miss).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskError {
    /// Reading, writing, listing or removing failed.
    #[error("disk cache: cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The key or value cannot be persisted.
    #[error("disk cache: {0}")]
    Encode(#[from] EncodeError),
    /// Operations queued by a [`WriteBehind`] failed after they were
    /// acknowledged; reported by the next [`WriteBehind::flush`].
    #[error("disk cache: {failed} write-behind operation(s) failed; the first: {first}")]
    WriteBehind {
        /// How many failed since the last report.
        failed: u64,
        /// The first failure.
        first: Box<DiskError>,
    },
    /// The [`WriteBehind`] worker thread stopped (it panicked): operations
    /// still queued were not applied.
    #[error("disk cache: the write-behind worker stopped; queued writes were not applied")]
    WorkerStopped,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DiskError {
    let path = path.to_path_buf();
    move |source| DiskError::Io {
        action,
        path,
        source,
    }
}

/// What [`DiskStore::lookup`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiskLookup {
    /// The value, with its timestamps.
    Hit(Decoded),
    /// No entry for the key.
    Missing,
    /// The entry file was unusable (see [`EnvelopeError::cause`] to count it
    /// as expired, stale or corrupt) and has been removed. (A
    /// [`WriteBehind`] value still queued but already expired is reported
    /// this way too, before it reaches the disk.)
    Rejected(EnvelopeError),
}

impl DiskLookup {
    /// Whether it is a hit.
    pub fn is_hit(&self) -> bool {
        matches!(self, DiskLookup::Hit(_))
    }

    /// The value of a hit.
    pub fn into_value(self) -> Option<Vec<u8>> {
        match self {
            DiskLookup::Hit(decoded) => Some(decoded.value),
            DiskLookup::Missing | DiskLookup::Rejected(_) => None,
        }
    }

    /// Why the entry was rejected.
    pub fn rejection(&self) -> Option<&EnvelopeError> {
        match self {
            DiskLookup::Rejected(error) => Some(error),
            DiskLookup::Hit(_) | DiskLookup::Missing => None,
        }
    }
}

/// What a cleanup removed and kept: [`DiskStore::cleanup`]'s answer, and a
/// [`Backend::cleanup`](crate::backend::Backend::cleanup)'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupReport {
    /// Intact entries past their expiry, removed.
    pub expired: u64,
    /// Damaged, truncated or misnamed entry files, removed.
    pub corrupt: u64,
    /// Intact entries of another schema, value format or envelope version
    /// (or compressed with a codec this build leaves out), removed.
    pub stale: u64,
    /// Temporary files older than the grace period (left by a crashed or
    /// killed writer), removed.
    pub orphaned_temp: u64,
    /// Files that could not be read, inspected or removed (a folder where
    /// an entry file should be, a file without permissions): skipped, the
    /// rest cleaned all the same.
    pub unreadable: u64,
    /// Valid entries, kept.
    pub kept: u64,
}

impl CleanupReport {
    /// Files removed, of every kind.
    pub fn removed(&self) -> u64 {
        self.expired + self.corrupt + self.stale + self.orphaned_temp
    }

    fn count(&mut self, cause: MissCause) {
        match cause {
            MissCause::Expired => self.expired += 1,
            MissCause::Stale => self.stale += 1,
            MissCause::Corrupt => self.corrupt += 1,
        }
    }
}

/// A position in [`DiskStore::entries`]' order, to fetch the next page.
/// Its text form (`as_str`, `Display`) round-trips through
/// [`DiskCursor::parse`], for an HTTP query parameter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DiskCursor(String);

impl DiskCursor {
    /// Reads a cursor's text form; `None` when it is not one.
    pub fn parse(text: &str) -> Option<DiskCursor> {
        files::is_hash(text).then(|| DiskCursor(text.to_owned()))
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DiskCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry, as [`DiskStore::entries`] lists it (read from the file's
/// header; the checksum is verified only when the value is read).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The value's length.
    pub value_len: usize,
    /// The value's stored (possibly compressed) length.
    pub stored_len: usize,
    /// The codec it is stored with.
    pub compression: Codec,
    /// The entry file's length.
    pub file_len: u64,
    /// When it was written, Unix ms.
    pub written_at_ms: u64,
    /// When it expires, Unix ms.
    pub expires_at_ms: Option<u64>,
}

/// One page of [`DiskStore::entries`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskEntryPage {
    /// The entries, in a stable order (by file name).
    pub entries: Vec<DiskEntry>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<DiskCursor>,
}

/// Builds a [`DiskStore`]; see [`DiskStore::builder`].
#[must_use]
pub struct DiskStoreBuilder {
    dir: PathBuf,
    schema: Schema,
    compression: Compression,
    temp_grace: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DiskStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskStoreBuilder")
            .field("dir", &self.dir)
            .field("schema", &self.schema)
            .field("compression", &self.compression)
            .field("temp_grace", &self.temp_grace)
            .finish_non_exhaustive()
    }
}

impl DiskStoreBuilder {
    /// The schema entries are written with and must match to be read
    /// (default: version 1, no fingerprint, opaque bytes). Entries of another
    /// schema are misses, and are removed.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("doc-disk-schema-{}", std::process::id()));
    /// use cache_runtime::{backend::{Schema, ValueFormat}, disk::DiskStore};
    ///
    /// let store = DiskStore::builder(&dir)
    ///     .schema(Schema::new(2).with_format(ValueFormat::Json))
    ///     .build()?;
    /// assert_eq!(store.schema().version(), 2);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), cache_runtime::disk::DiskError>(())
    /// ```
    pub fn schema(mut self, schema: Schema) -> DiskStoreBuilder {
        self.schema = schema;
        self
    }

    /// Compresses values of at least `compression.threshold` bytes (default:
    /// none). A codec whose cargo feature (`lz4`, `zstd`) is off is ignored:
    /// values are stored uncompressed.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("doc-disk-compression-{}", std::process::id()));
    /// use cache_runtime::{config::{Codec, Compression}, disk::DiskStore};
    ///
    /// let store = DiskStore::builder(&dir)
    ///     .compression(Compression { codec: Codec::Zstd, threshold: 4096 })
    ///     .build()?;
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), cache_runtime::disk::DiskError>(())
    /// ```
    pub fn compression(mut self, compression: Compression) -> DiskStoreBuilder {
        self.compression = compression;
        self
    }

    /// How old (by modification time, against the store's clock) a
    /// temporary file must be for [`DiskStore::cleanup`] to treat it as
    /// orphaned (default [`DiskStore::DEFAULT_TEMP_GRACE`]). Younger ones may
    /// be writes in progress, by this process or another.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("doc-disk-grace-{}", std::process::id()));
    /// use std::time::Duration;
    /// use cache_runtime::disk::DiskStore;
    ///
    /// let store = DiskStore::builder(&dir).temp_grace(Duration::from_secs(60)).build()?;
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), cache_runtime::disk::DiskError>(())
    /// ```
    pub fn temp_grace(mut self, grace: Duration) -> DiskStoreBuilder {
        self.temp_grace = grace;
        self
    }

    /// The clock for written-at, expiry and temporary-file age (default
    /// [`SystemClock`]). Any `Fn() -> u64` returning Unix ms is a clock.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("doc-disk-clock-{}", std::process::id()));
    /// use std::time::Duration;
    /// use cache_runtime::disk::DiskStore;
    ///
    /// let store = DiskStore::builder(&dir).clock(|| 1_000).build()?;
    /// store.put(b"k", b"v", Some(Duration::from_secs(1)))?;
    /// assert!(store.get(b"k")?.is_some());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), cache_runtime::disk::DiskError>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> DiskStoreBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// Creates the folder if needed and returns the store.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be created.
    pub fn build(self) -> Result<DiskStore, DiskError> {
        std::fs::create_dir_all(&self.dir).map_err(io_error("create the folder", &self.dir))?;
        Ok(DiskStore {
            dir: self.dir,
            schema: self.schema,
            compression: LiveCompression::new(self.compression),
            temp_grace_ms: u64::try_from(self.temp_grace.as_millis()).unwrap_or(u64::MAX),
            clock: self.clock,
        })
    }
}

/// A folder of entry files, one per key: the disk tier of one region.
///
/// Keys and values are bytes (the typed layer above serializes them). Every
/// method takes `&self` and the store is `Send + Sync`; several stores, in
/// one process or several, may share a folder (last write wins). Writes are
/// synchronous and durable when they return; [`WriteBehind`] moves them off
/// the caller's path.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("doc-disk-store-{}", std::process::id()));
/// use std::time::Duration;
/// use cache_runtime::disk::DiskStore;
///
/// let store = DiskStore::open(&dir)?;
/// store.put(b"user:42", b"{\"name\":\"Ada\"}", Some(Duration::from_secs(3600)))?;
/// assert_eq!(store.get(b"user:42")?.as_deref(), Some(&b"{\"name\":\"Ada\"}"[..]));
/// assert!(store.remove(b"user:42")?);
/// assert_eq!(store.get(b"user:42")?, None);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), cache_runtime::disk::DiskError>(())
/// ```
pub struct DiskStore {
    dir: PathBuf,
    schema: Schema,
    compression: LiveCompression,
    temp_grace_ms: u64,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskStore")
            .field("dir", &self.dir)
            .field("schema", &self.schema)
            .field("compression", &self.compression)
            .field("temp_grace_ms", &self.temp_grace_ms)
            .finish_non_exhaustive()
    }
}

impl DiskStore {
    /// The default [`DiskStoreBuilder::temp_grace`]: 10 minutes.
    pub const DEFAULT_TEMP_GRACE: Duration = Duration::from_secs(10 * 60);

    /// A builder for a store over `dir` (the region's own folder).
    pub fn builder(dir: impl Into<PathBuf>) -> DiskStoreBuilder {
        DiskStoreBuilder {
            dir: dir.into(),
            schema: Schema::default(),
            compression: Compression::NONE,
            temp_grace: DiskStore::DEFAULT_TEMP_GRACE,
            clock: Arc::new(SystemClock),
        }
    }

    /// A store over `dir` with the defaults.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<DiskStore, DiskError> {
        DiskStore::builder(dir).build()
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The schema entries are written with and checked against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The compression values are written with.
    pub fn compression(&self) -> Compression {
        self.compression.get()
    }

    /// The file that holds (or would hold) `key`'s entry.
    pub fn path_for(&self, key: &[u8]) -> PathBuf {
        self.dir.join(files::file_name(key))
    }

    /// Whether an entry file for `key` is there (read or not, expired or
    /// not: one `stat`, no read).
    pub fn holds(&self, key: &[u8]) -> bool {
        std::fs::symlink_metadata(self.path_for(key)).is_ok_and(|meta| meta.is_file())
    }

    /// The store's clock, Unix ms.
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// `key`'s value, or `None` when there is none or its file is unusable
    /// (which is then removed); [`DiskStore::lookup`] says which.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the file exists but cannot be read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, DiskError> {
        self.lookup(key).map(DiskLookup::into_value)
    }

    /// `key`'s value with its timestamps, or why there is none. An unusable
    /// file (truncated, damaged, another key's, another schema's, expired)
    /// is removed.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the file exists but cannot be read.
    pub fn lookup(&self, key: &[u8]) -> Result<DiskLookup, DiskError> {
        let path = self.path_for(key);
        let (result, meta) = match files::read_entry(&path).map_err(io_error("read", &path))? {
            Contents::Missing => return Ok(DiskLookup::Missing),
            Contents::Misfit(meta) => (Err(EnvelopeError::Malformed { what: "file size" }), meta),
            Contents::Bytes(bytes, meta) => (
                Envelope::decode(&bytes, key, &self.schema, self.now_ms()),
                meta,
            ),
        };
        match result {
            Ok(decoded) => Ok(DiskLookup::Hit(decoded)),
            Err(error) => {
                // Best effort: a file that cannot be removed is still a miss,
                // and cleanup will try again.
                let _ = files::remove_if_same(&path, &meta);
                Ok(DiskLookup::Rejected(error))
            }
        }
    }

    /// What `key`'s file holds, judged only by what the file itself can
    /// say: the value of an intact envelope for `key`, past its expiry or
    /// under another schema included (what [`DiskBackend`] serves: the
    /// value inside is the caller's to judge); the raw bytes of a damaged
    /// or misnamed file (empty when they were not read); nothing is
    /// removed.
    pub(crate) fn read_held(&self, key: &[u8]) -> Result<Held, DiskError> {
        let path = self.path_for(key);
        match files::read_entry(&path).map_err(io_error("read", &path))? {
            Contents::Missing => Ok(Held::Missing),
            Contents::Misfit(_) => Ok(Held::Damaged(Vec::new())),
            Contents::Bytes(bytes, _) => {
                let intact = Parsed::verify(&bytes)
                    .ok()
                    .filter(|parsed| parsed.header.key == key)
                    .and_then(|parsed| parsed.decompress().ok());
                Ok(match intact {
                    Some(decoded) => Held::Intact(decoded.value),
                    None => Held::Damaged(bytes),
                })
            }
        }
    }

    /// Stores `value` for `key`, expiring after `ttl` (`None`: never),
    /// durably: when this returns, the entry survives a crash.
    ///
    /// # Errors
    ///
    /// [`DiskError::Encode`] for a key or value too large to persist;
    /// [`DiskError::Io`] when writing fails (the old entry, if any, stays).
    pub fn put(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<(), DiskError> {
        let now = self.now_ms();
        self.write_entry(key, value, now, expires_at(now, ttl))
    }

    /// Writes an entry with explicit timestamps.
    pub(crate) fn write_entry(
        &self,
        key: &[u8],
        value: &[u8],
        written_at_ms: u64,
        expires_at_ms: Option<u64>,
    ) -> Result<(), DiskError> {
        let bytes = Envelope::new(key, value)
            .written_at_ms(written_at_ms)
            .expires_at_ms(expires_at_ms)
            .encode(&self.schema, self.compression.get())?;
        let path = self.path_for(key);
        atomic_write(&path, &bytes).map_err(io_error("write", &path))
    }

    /// Removes `key`'s entry; `true` when there was a file.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the file exists but cannot be removed.
    pub fn remove(&self, key: &[u8]) -> Result<bool, DiskError> {
        let path = self.path_for(key);
        files::remove(&path).map_err(io_error("remove", &path))
    }

    /// Removes every entry; returns how many files were removed. Temporary
    /// files are left to [`DiskStore::cleanup`]: they may be writes in
    /// progress.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed or a file cannot
    /// be removed.
    pub fn clear(&self) -> Result<u64, DiskError> {
        let mut removed = 0;
        for name in self.list()?.entries {
            let path = self.dir.join(name);
            removed += u64::from(files::remove(&path).map_err(io_error("remove", &path))?);
        }
        Ok(removed)
    }

    /// Removes the entries whose key matches `pattern` (a [`Glob::key`]
    /// pattern, as the Redis tier's `SCAN MATCH`); returns how many. Keys
    /// are read from each file's header; a key that is not UTF-8 is matched
    /// with its invalid bytes as U+FFFD. Unreadable files are left to
    /// [`DiskStore::cleanup`].
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed or a file cannot
    /// be read or removed.
    pub fn clear_matching(&self, pattern: &Glob) -> Result<u64, DiskError> {
        let mut removed = 0;
        for name in self.list()?.entries {
            let path = self.dir.join(name);
            let Some(prefix) = files::read_prefix(&path).map_err(io_error("read", &path))? else {
                continue;
            };
            let Ok(header) = Header::parse(&prefix) else {
                continue;
            };
            if pattern.matches(&String::from_utf8_lossy(header.key)) {
                removed += u64::from(files::remove(&path).map_err(io_error("remove", &path))?);
            }
        }
        Ok(removed)
    }

    /// Up to `limit` (at least 1) live entries after `cursor` (from the
    /// start when `None`), in a stable order, with the cursor of the next
    /// page. Expired entries, entries of another schema and unreadable files
    /// are skipped (and left to [`DiskStore::cleanup`]). Each call lists the
    /// folder and reads the headers of the files it returns.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed or a file cannot
    /// be read.
    pub fn entries(
        &self,
        cursor: Option<&DiskCursor>,
        limit: usize,
    ) -> Result<DiskEntryPage, DiskError> {
        let limit = limit.max(1);
        let now = self.now_ms();
        let mut names = self.list()?.entries;
        names.sort_unstable();
        let start = cursor.map_or(0, |cursor| {
            names.partition_point(|name| &name[..files::HASH_HEX_LEN] <= cursor.as_str())
        });
        let mut page = DiskEntryPage::default();
        for (index, name) in names.iter().enumerate().skip(start) {
            if page.entries.len() == limit {
                page.next = Some(DiskCursor(
                    names[index - 1][..files::HASH_HEX_LEN].to_owned(),
                ));
                break;
            }
            let path = self.dir.join(name);
            let Some(prefix) = files::read_prefix(&path).map_err(io_error("read", &path))? else {
                continue;
            };
            let Ok(header) = Header::parse(&prefix) else {
                continue;
            };
            if files::file_name(header.key) != *name || header.check(&self.schema, now).is_err() {
                continue;
            }
            page.entries.push(DiskEntry {
                key: header.key.to_vec(),
                value_len: header.value_len,
                stored_len: header.stored_len,
                compression: header.compression,
                file_len: header.total_len as u64,
                written_at_ms: header.written_at_ms,
                expires_at_ms: header.expires_at_ms,
            });
        }
        Ok(page)
    }

    /// How many entry files the folder holds, expired or damaged ones not
    /// yet removed included: an upper bound on the live entries.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed.
    pub fn len(&self) -> Result<u64, DiskError> {
        Ok(self.list()?.entries.len() as u64)
    }

    /// Whether the folder holds no entry file.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed.
    pub fn is_empty(&self) -> Result<bool, DiskError> {
        Ok(self.list()?.entries.is_empty())
    }

    /// Reads every entry file and removes the expired, damaged, misnamed
    /// and stale ones, and the temporary files older than the grace period;
    /// returns the counts. Files that are neither entries nor temporary
    /// files are left alone. The checksum is verified; compressed values are
    /// not decompressed. Each file is read only as far as its header
    /// declares. A file that cannot be read or removed is skipped and
    /// counted ([`CleanupReport::unreadable`]); the others are cleaned.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the folder cannot be listed.
    pub fn cleanup(&self) -> Result<CleanupReport, DiskError> {
        let now = self.now_ms();
        let listing = self.list()?;
        let mut report = CleanupReport::default();
        for name in listing.temps {
            let path = self.dir.join(name);
            let modified = match std::fs::symlink_metadata(&path).and_then(|meta| meta.modified()) {
                Ok(modified) => unix_ms(modified),
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(_) => {
                    report.unreadable += 1;
                    continue;
                }
            };
            if now.saturating_sub(modified) < self.temp_grace_ms {
                continue;
            }
            match files::remove(&path) {
                Ok(true) => report.orphaned_temp += 1,
                Ok(false) => {}
                Err(_) => report.unreadable += 1,
            }
        }
        for name in listing.entries {
            let path = self.dir.join(&name);
            let (verdict, meta) = match files::read_entry(&path) {
                Ok(Contents::Missing) => continue,
                Ok(Contents::Misfit(meta)) => (Err(MissCause::Corrupt), meta),
                Ok(Contents::Bytes(bytes, meta)) => {
                    (self.verify(&bytes, &name, now).map_err(|e| e.cause()), meta)
                }
                // One bad file does not stop the cleanup of the rest.
                Err(_) => {
                    report.unreadable += 1;
                    continue;
                }
            };
            match verdict {
                Ok(()) => report.kept += 1,
                Err(cause) => match files::remove_if_same(&path, &meta) {
                    Ok(true) => report.count(cause),
                    Ok(false) => {}
                    Err(_) => report.unreadable += 1,
                },
            }
        }
        Ok(report)
    }

    /// Whether `bytes` are a live entry of this store, filed under `name`.
    fn verify(&self, bytes: &[u8], name: &str, now: u64) -> Result<(), EnvelopeError> {
        let parsed = Parsed::verify(bytes)?;
        if files::file_name(parsed.header.key) != name {
            return Err(EnvelopeError::WrongKey);
        }
        parsed.header.check(&self.schema, now)
    }

    fn list(&self) -> Result<files::Listing, DiskError> {
        files::list(&self.dir).map_err(io_error("list", &self.dir))
    }
}

/// What an entry file holds ([`DiskStore::read_held`]).
pub(crate) enum Held {
    Missing,
    /// The value of an intact envelope for the key.
    Intact(Vec<u8>),
    /// The bytes of a file that is not one.
    Damaged(Vec<u8>),
}

impl Held {
    /// The bytes a backend serves: the value, or the damaged bytes for the
    /// caller's check to reject.
    pub(crate) fn into_served(self) -> Option<Vec<u8>> {
        match self {
            Held::Missing => None,
            Held::Intact(bytes) | Held::Damaged(bytes) => Some(bytes),
        }
    }
}

/// When an entry written at `now` with `ttl` expires.
fn expires_at(now: u64, ttl: Option<Duration>) -> Option<u64> {
    ttl.map(|ttl| now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use cache_spec::persist::TEMP_PREFIX;

    use super::*;

    pub(super) struct Scratch(PathBuf);

    impl Scratch {
        pub(super) fn new(name: &str) -> Scratch {
            let path = std::env::temp_dir()
                .join(format!("cache-runtime-disk-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            Scratch(path)
        }

        pub(super) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn manual_clock(start: u64) -> (Arc<AtomicU64>, impl Clock) {
        let now = Arc::new(AtomicU64::new(start));
        let clock = {
            let now = Arc::clone(&now);
            move || now.load(Ordering::Relaxed)
        };
        (now, clock)
    }

    #[test]
    fn round_trip_ttl_and_removal() {
        let scratch = Scratch::new("round-trip");
        let (now, clock) = manual_clock(1_000);
        let store = DiskStore::builder(scratch.path())
            .clock(clock)
            .build()
            .expect("store");
        store
            .put(b"a", b"one", Some(Duration::from_secs(10)))
            .expect("put");
        store.put(b"b", b"two", None).expect("put");
        let hit = store.lookup(b"a").expect("lookup");
        assert!(hit.is_hit());
        assert!(
            matches!(&hit, DiskLookup::Hit(d) if d.expires_at_ms == Some(11_000) && d.written_at_ms == 1_000)
        );
        assert_eq!(store.len().expect("len"), 2);
        now.store(11_000, Ordering::Relaxed);
        let expired = store.lookup(b"a").expect("lookup");
        assert!(matches!(
            expired.rejection(),
            Some(EnvelopeError::Expired { .. })
        ));
        assert!(!store.path_for(b"a").exists(), "expired file removed");
        assert_eq!(store.lookup(b"a").expect("lookup"), DiskLookup::Missing);
        assert_eq!(store.get(b"b").expect("get"), Some(b"two".to_vec()));
        assert!(store.remove(b"b").expect("remove"));
        assert!(!store.remove(b"b").expect("remove again"));
        assert!(store.is_empty().expect("empty"));
    }

    #[test]
    fn a_missing_folder_is_empty_and_recreated_on_write() {
        let scratch = Scratch::new("missing-folder");
        let store = DiskStore::open(scratch.path()).expect("store");
        std::fs::remove_dir_all(scratch.path()).expect("remove folder");
        assert_eq!(store.len().expect("len"), 0);
        assert_eq!(store.cleanup().expect("cleanup"), CleanupReport::default());
        assert_eq!(store.get(b"k").expect("get"), None);
        store.put(b"k", b"v", None).expect("put");
        assert_eq!(store.get(b"k").expect("get"), Some(b"v".to_vec()));
    }

    #[test]
    fn entries_page_in_a_stable_order() {
        let scratch = Scratch::new("entries");
        let store = DiskStore::open(scratch.path()).expect("store");
        for i in 0..25u32 {
            store
                .put(format!("key-{i}").as_bytes(), &vec![0; i as usize], None)
                .expect("put");
        }
        std::fs::write(scratch.path().join("README"), "not ours").expect("foreign file");
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = store.entries(cursor.as_ref(), 10).expect("page");
            pages += 1;
            assert!(page.entries.len() <= 10);
            seen.extend(page.entries.iter().map(|e| (e.key.clone(), e.value_len)));
            match page.next {
                Some(next) => cursor = DiskCursor::parse(next.as_str()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 25);
        let names: Vec<String> = seen.iter().map(|(k, _)| files::file_name(k)).collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "sorted by file name, no repeats"
        );
        assert!(
            seen.iter()
                .all(|(k, len)| *k == format!("key-{len}").into_bytes())
        );
        assert_eq!(DiskCursor::parse("not a cursor"), None);
    }

    #[test]
    fn cleanup_counts_each_kind() {
        let scratch = Scratch::new("cleanup");
        let (now, clock) = manual_clock(1_000_000);
        let store = DiskStore::builder(scratch.path())
            .clock(clock)
            .temp_grace(Duration::from_secs(60))
            .build()
            .expect("store");
        store.put(b"live", b"v", None).expect("put");
        store
            .put(b"expiring", b"v", Some(Duration::from_secs(1)))
            .expect("put");
        store.put(b"damaged", b"value", None).expect("put");
        let damaged = store.path_for(b"damaged");
        let mut bytes = std::fs::read(&damaged).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&damaged, bytes).expect("damage");
        let old = DiskStore::builder(scratch.path())
            .schema(Schema::new(0))
            .build()
            .expect("old store");
        old.put(b"old-schema", b"v", None).expect("put");
        std::fs::write(
            scratch.path().join(format!("{TEMP_PREFIX}orphan")),
            b"partial",
        )
        .expect("temp");
        now.store(1_000_000 + 2_000, Ordering::Relaxed);
        let report = store.cleanup().expect("cleanup");
        assert_eq!(
            report,
            CleanupReport {
                expired: 1,
                corrupt: 1,
                stale: 1,
                orphaned_temp: 0,
                unreadable: 0,
                kept: 1
            },
            "the temp file is younger than the grace period"
        );
        now.store(u64::MAX / 2, Ordering::Relaxed);
        store.put(b"live", b"v", None).expect("rewrite");
        let report = store.cleanup().expect("cleanup");
        assert_eq!(
            (report.orphaned_temp, report.kept, report.removed()),
            (1, 1, 1)
        );
    }

    #[test]
    fn cleanup_skips_what_it_cannot_read_and_cleans_the_rest() {
        let scratch = Scratch::new("cleanup-skips");
        let (now, clock) = manual_clock(1_000_000);
        let store = DiskStore::builder(scratch.path())
            .clock(clock)
            .build()
            .expect("store");
        // A folder where an entry file should be, named to sort first.
        let mut blocked = None;
        for i in 0..64u32 {
            let key = format!("blocked-{i}").into_bytes();
            let path = store.path_for(&key);
            if blocked
                .as_ref()
                .is_none_or(|(_, p): &(Vec<u8>, std::path::PathBuf)| path < *p)
            {
                blocked = Some((key, path));
            }
        }
        let (_, blocked) = blocked.expect("a name");
        std::fs::create_dir_all(&blocked).expect("a folder in the way");
        for i in 0..20u32 {
            store
                .put(
                    format!("k{i}").as_bytes(),
                    b"v",
                    Some(Duration::from_secs(1)),
                )
                .expect("put");
        }
        store.put(b"live", b"v", None).expect("put");
        now.store(1_000_000 + 2_000, Ordering::Relaxed);
        let report = store.cleanup().expect("cleanup");
        // The folder is not an entry file: left alone, and the rest cleaned.
        assert_eq!(
            (report.unreadable, report.expired, report.kept),
            (0, 20, 1),
            "{report:?}"
        );
        assert!(blocked.is_dir(), "left as it is");
    }

    #[test]
    fn a_file_longer_than_its_header_says_is_read_no_further() {
        let scratch = Scratch::new("sparse");
        let store = DiskStore::open(scratch.path()).expect("store");
        store.put(b"k", b"small", None).expect("put");
        let path = store.path_for(b"k");
        // Grown to 400 MiB without writing (sparse): the header still says
        // a few dozen bytes.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_len(400 * 1024 * 1024).expect("extend");
        drop(file);
        let lookup = store.lookup(b"k").expect("lookup");
        assert!(
            matches!(
                lookup.rejection(),
                Some(EnvelopeError::Malformed { what: "file size" })
            ),
            "{lookup:?}"
        );
        assert!(!path.exists(), "removed as damaged");
        // Truncated below what its header declares: the same.
        store.put(b"t", &[7; 10_000], None).expect("put");
        let path = store.path_for(b"t");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_len(5_000).expect("truncate");
        drop(file);
        assert!(store.lookup(b"t").expect("lookup").rejection().is_some());
    }
}
