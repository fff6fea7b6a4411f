//! Storage backends: what holds a region's entries outside process memory.
//!
//! A [`Backend`] is one region's second level, over bytes: the manager
//! encodes each value into the versioned envelope (format, schema, codec,
//! written-at, expiry, the key it belongs to, a checksum) before it reaches
//! the backend, and checks it on the way back, so a backend stores and
//! returns opaque bytes and never needs to understand them. Damaged,
//! foreign or expired bytes are counted misses, whatever the backend.
//!
//! Register a backend under a name on the builder, with a factory that makes
//! one [`Backend`] per region that uses it; a region uses it when its
//! declaration says `#[custom_cache_region(backend = "name")]` or when
//! configuration sets `backend = "name"` (and `tier = "backend"`, or
//! `"hybrid"` for a memory level in front):
//!
//! ```
//! use std::sync::Arc;
//! use cache_runtime::CacheManager;
//! use cache_runtime::backend::{Backend, BackendContext, BackendError};
//! # use cache_runtime::backend::{Capabilities, Health, Put, ScanPage};
//! # use cache_runtime::{disk::Glob, manager::BoxFuture};
//! # use std::time::Duration;
//! # struct Nowhere;
//! # impl Backend for Nowhere {
//! #     fn capabilities(&self) -> Capabilities { Capabilities::none() }
//! #     fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> { Box::pin(async { Ok(None) }) }
//! #     fn put<'a>(&'a self, _: &'a str, _: &'a [u8], _: Option<Duration>) -> BoxFuture<'a, Result<Put, BackendError>> { Box::pin(async { Ok(Put::Inserted) }) }
//! #     fn remove<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> { Box::pin(async { Ok(false) }) }
//! #     fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> { Box::pin(async { Ok(0) }) }
//! #     fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> { Box::pin(async { Ok(Health::up("nowhere")) }) }
//! # }
//! # fn connect(_: &BackendContext<'_>) -> Result<Nowhere, BackendError> { Ok(Nowhere) }
//!
//! let manager = CacheManager::builder()
//!     .backend("nowhere", |context: &BackendContext<'_>| {
//!         Ok(Arc::new(connect(context)?) as Arc<dyn Backend>)
//!     })
//!     .build()?;
//! # Ok::<(), cache_runtime::CacheError>(())
//! ```
//!
//! The [`conformance`] suite is what every backend must pass; the built-in
//! disk and Redis backends ([`crate::disk::DiskBackend`],
//! `cache_runtime::redis::RedisBackend`) and the tests' Memcached backend
//! run it.
//!
//! # Executors
//!
//! The manager awaits a backend's futures from the caller's task, or, for
//! the blocking forms (`get_blocking`...), from a plain thread that parks
//! until woken. A backend whose I/O needs a runtime's reactor (tokio
//! sockets, timers) must drive it itself — on its own runtime thread, for
//! instance — so that its futures complete wherever they are polled.

pub mod conformance;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_spec::RegionSettings;
use cache_spec::glob::Glob;

use crate::provider::BoxError;

pub use crate::disk::CleanupReport;
pub use crate::envelope::{
    Clock, Decoded, EncodeError, Envelope, EnvelopeError, MissCause, Schema, SystemClock,
    ValueFormat,
};
pub use crate::future::BoxFuture;

/// One region's second level: bytes under key texts, with a TTL.
///
/// Keys are the region's key texts (a string key is itself, other keys
/// their JSON), unique within the region; a backend instance serves one
/// region (its factory is called once per region) and keeps the regions it
/// serves apart (a prefix, a folder, a table). Values are opaque bytes.
///
/// Required: [`get`](Backend::get), [`put`](Backend::put),
/// [`remove`](Backend::remove), [`clear`](Backend::clear),
/// [`health`](Backend::health) and [`capabilities`](Backend::capabilities).
/// The rest have defaults: many-key forms one key at a time, pattern
/// clearing and scanning [`BackendError::Unsupported`], counting unknown,
/// flushing and cleaning up nothing to do.
/// A backend that overrides one says so in its [`Capabilities`].
pub trait Backend: Send + Sync + 'static {
    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// The bytes stored under `key`, if any (and not expired, for a backend
    /// that enforces TTLs).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>>;

    /// The bytes stored under each of `keys`, in order.
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, BackendError>> {
        Box::pin(async move {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                found.push(self.get(key).await?);
            }
            Ok(found)
        })
    }

    /// Stores `value` under `key`, replacing what was there, to live `ttl`
    /// (`None`: until removed or evicted by the store); whether it replaced
    /// a value.
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>>;

    /// Stores each entry as [`put`](Backend::put) does; one answer per
    /// entry, in order.
    fn put_many<'a>(
        &'a self,
        entries: &'a [Entry<'a>],
    ) -> BoxFuture<'a, Result<Vec<Put>, BackendError>> {
        Box::pin(async move {
            let mut answers = Vec::with_capacity(entries.len());
            for entry in entries {
                answers.push(self.put(entry.key, entry.value, entry.ttl).await?);
            }
            Ok(answers)
        })
    }

    /// Removes `key`'s value; whether there was one.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Removes every value of the region; how many there were.
    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>>;

    /// Removes the values whose key matches `pattern` (Redis' glob
    /// language, byte for byte: [`Glob::matches`]); how many there were.
    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        let _ = pattern;
        Box::pin(async {
            Err(BackendError::Unsupported {
                operation: "clear_matching",
            })
        })
    }

    /// A page of the region's keys matching `pattern` (all without one),
    /// from `cursor` (`None` to start): about `limit` keys and the cursor to
    /// go on from (`None` when done). As with Redis' `SCAN`, a key may be
    /// listed twice and keys written meanwhile may be missed, but a key held
    /// from start to end is listed.
    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        let _ = (pattern, cursor, limit);
        Box::pin(async { Err(BackendError::Unsupported { operation: "scan" }) })
    }

    /// How many values the region holds, when the backend can tell
    /// (`Ok(None)`: unknown).
    fn count<'a>(&'a self) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    /// Whether the backend answers, and how fast.
    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>>;

    /// Waits until every write this backend acknowledged is durable: what a
    /// backend that queues writes (the disk tier's write-behind) does before
    /// the program exits. The default has nothing to wait for.
    fn flush<'a>(&'a self) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    /// Removes what the backend keeps but can no longer serve (expired or
    /// damaged entries, leftovers of interrupted writes) and says what it
    /// removed; `Ok(None)` for a backend that has nothing to clean (a server
    /// that expires entries itself), the default.
    fn cleanup<'a>(&'a self) -> BoxFuture<'a, Result<Option<CleanupReport>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
}

/// One entry of [`Backend::put_many`].
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// The key text.
    pub key: &'a str,
    /// The bytes to store.
    pub value: &'a [u8],
    /// How long they live.
    pub ttl: Option<Duration>,
}

/// What a [`Backend::put`] did: what the statistics count as an insert or
/// an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// No value was stored under the key.
    Inserted,
    /// A value was replaced.
    Replaced,
}

/// A page of keys from [`Backend::scan`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanPage {
    /// Key texts.
    pub keys: Vec<String>,
    /// Where to go on from; `None` when the scan is complete.
    pub cursor: Option<String>,
}

/// What a backend can do beyond the required operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The backend drops values once their TTL has passed (without it, the
    /// envelope's expiry still makes them misses, but they take space until
    /// cleared).
    pub ttl: bool,
    /// [`Backend::clear_matching`] works.
    pub pattern_clear: bool,
    /// [`Backend::scan`] works: entries can be browsed, refreshed and
    /// listed.
    pub scan: bool,
    /// [`Backend::count`] answers.
    pub count: bool,
    /// Other processes read and write the same entries (a server, not a
    /// local folder): a hybrid region's memory level is then kept coherent
    /// by invalidation messages where the manager has a backplane.
    pub shared: bool,
}

impl Capabilities {
    /// Nothing beyond the required operations.
    pub const fn none() -> Capabilities {
        Capabilities {
            ttl: false,
            pattern_clear: false,
            scan: false,
            count: false,
            shared: false,
        }
    }

    /// With native TTLs.
    #[must_use]
    pub const fn with_ttl(mut self) -> Capabilities {
        self.ttl = true;
        self
    }

    /// With [`Backend::clear_matching`].
    #[must_use]
    pub const fn with_pattern_clear(mut self) -> Capabilities {
        self.pattern_clear = true;
        self
    }

    /// With [`Backend::scan`].
    #[must_use]
    pub const fn with_scan(mut self) -> Capabilities {
        self.scan = true;
        self
    }

    /// With [`Backend::count`].
    #[must_use]
    pub const fn with_count(mut self) -> Capabilities {
        self.count = true;
        self
    }

    /// Shared between processes.
    #[must_use]
    pub const fn with_shared(mut self) -> Capabilities {
        self.shared = true;
        self
    }
}

/// A backend's answer to [`Backend::health`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// How long the check took.
    pub latency: Duration,
    /// What answered (a server's version, a folder).
    pub detail: String,
}

impl Health {
    /// Up, as `detail` says, with no latency measured.
    pub fn up(detail: impl Into<String>) -> Health {
        Health {
            latency: Duration::ZERO,
            detail: detail.into(),
        }
    }

    /// With the check's latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Health {
        self.latency = latency;
        self
    }
}

/// Why a backend operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The store could not be reached or did not answer in time.
    #[error("{server} is unavailable: {reason}")]
    Unavailable {
        /// The server or place (an address, a folder).
        server: String,
        /// What happened.
        reason: String,
    },
    /// The store answered with an error or something unreadable.
    #[error("{operation} failed: {reason}")]
    Failed {
        /// The operation (`get`, `set`...).
        operation: &'static str,
        /// What the store said.
        reason: String,
    },
    /// The store refused this key or value (too long, bad characters, too
    /// large); nothing was stored.
    #[error("refused {what}: {reason}")]
    Refused {
        /// The key or value, described.
        what: String,
        /// Why.
        reason: String,
    },
    /// [`Backend::scan`] was given a cursor it did not hand out.
    #[error("{cursor:?} is not a cursor this backend handed out")]
    BadCursor {
        /// The cursor as given.
        cursor: String,
    },
    /// The backend does not support this operation (see [`Capabilities`]).
    #[error("this backend does not support {operation}")]
    Unsupported {
        /// The operation.
        operation: &'static str,
    },
    /// Any other failure.
    #[error(transparent)]
    Other(BoxError),
}

/// What a backend factory is told about the region it makes a backend for.
#[derive(Clone, Copy, Debug)]
pub struct BackendContext<'a> {
    pub(crate) region: &'a str,
    pub(crate) backend: &'a str,
    pub(crate) settings: &'a RegionSettings,
}

impl<'a> BackendContext<'a> {
    /// A context for `region` (a factory called outside a manager: tests,
    /// the conformance suite).
    pub fn new(region: &'a str, backend: &'a str, settings: &'a RegionSettings) -> Self {
        BackendContext {
            region,
            backend,
            settings,
        }
    }

    /// The region's name: keep its entries apart from other regions'.
    pub fn region(&self) -> &'a str {
        self.region
    }

    /// The name the backend was registered under.
    pub fn backend(&self) -> &'a str {
        self.backend
    }

    /// The region's settings when it opens (TTL, compression...).
    pub fn settings(&self) -> &'a RegionSettings {
        self.settings
    }
}

/// Makes one region's backend: what [`CacheManagerBuilder::backend`]
/// registers.
///
/// [`CacheManagerBuilder::backend`]: crate::CacheManagerBuilder::backend
pub trait BackendFactory: Send + Sync + 'static {
    /// The backend for the region `context` names.
    ///
    /// # Errors
    ///
    /// Why the backend cannot serve the region; the region then fails to
    /// open with this error.
    fn make(&self, context: &BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError>;
}

impl<F> BackendFactory for F
where
    F: Fn(&BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError> + Send + Sync + 'static,
{
    fn make(&self, context: &BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError> {
        self(context)
    }
}

/// The backends a manager was built with, by name.
#[derive(Clone, Default)]
pub(crate) struct Backends {
    by_name: Vec<(Arc<str>, Arc<dyn BackendFactory>)>,
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Backends {
    /// Registers `factory` as `name`, replacing one of that name.
    pub(crate) fn insert(&mut self, name: &str, factory: Arc<dyn BackendFactory>) {
        self.by_name.retain(|(known, _)| &**known != name);
        self.by_name.push((name.into(), factory));
        self.by_name.sort_by(|a, b| a.0.cmp(&b.0));
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<dyn BackendFactory>> {
        self.by_name
            .iter()
            .find(|(known, _)| &**known == name)
            .map(|(_, factory)| factory)
    }

    /// The registered names, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> + Clone {
        self.by_name.iter().map(|(name, _)| &**name)
    }

    /// The registered names, for a message: `"a", "b"` or "none".
    pub(crate) fn listed(&self) -> String {
        let names: Vec<String> = self.names().map(|name| format!("{name:?}")).collect();
        if names.is_empty() {
            String::from("none is registered (CacheManagerBuilder::backend)")
        } else {
            format!("registered: {}", names.join(", "))
        }
    }
}
