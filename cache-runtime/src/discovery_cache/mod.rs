//! `RegistryCache<T>`: a versioned, age- and mtime-checked file cache for an
//! expensive discovery a program does at run time (plugin folders, remote
//! model lists). The build helper keeps the region manifest the same way.
//!
//! - `mod.rs`: the builder, the cache and what a lookup reports;
//! - `file.rs`: the on-disk envelope;
//! - `stamp.rs`: dependency stamps (size, mtime, optional blake3);
//! - `location.rs`: the cache folder, safe names, the environment switch.

mod file;
mod location;

pub(crate) use self::location::cache_root;
mod stamp;

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::file::{Entry, Rejection, now_ms};
use self::stamp::{Check, Stamp};

pub use self::location::{DISABLE_ENV_VAR, FileNameProblem, MAX_FILE_NAME_LEN};

/// The default [`RegistryCacheBuilder::max_age`]: 7 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A cache file written at most this far in the future (a clock moved back a
/// little, another machine sharing the folder) is still trusted; further
/// than that, it counts as expired.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Why a [`RegistryCache`] could not be built.
///
/// This is the only error a caller handles: once built, a cache turns every
/// failure into running the discovery.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryCacheError {
    /// The app name cannot be a folder name.
    #[error(
        "registry cache app name {name:?} cannot be a folder name: {problem}; use ASCII letters, digits, `-`, `_` and `.` (not first)"
    )]
    InvalidAppName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        problem: FileNameProblem,
    },
    /// The cache name cannot be a file name.
    #[error(
        "registry cache name {name:?} cannot be a file name: {problem}; use ASCII letters, digits, `-`, `_` and `.` (not first)"
    )]
    InvalidCacheName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        problem: FileNameProblem,
    },
}

/// Why a lookup ran the discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// The cache is disabled ([`RegistryCacheBuilder::enabled`] or
    /// [`DISABLE_ENV_VAR`]): nothing was read or written.
    Disabled,
    /// Neither `XDG_CACHE_HOME` nor `HOME` names a folder and no
    /// [`RegistryCacheBuilder::dir`] was given: nothing was read or written.
    NoCacheFolder,
    /// There is no cache file yet (or it was invalidated).
    Missing,
    /// The cache file could not be read, is truncated or garbage, belongs to
    /// another cache, or its value does not match its checksum.
    Corrupt,
    /// The cache file was written in another envelope format (by another
    /// version of this crate).
    FormatChanged {
        /// The format the file declares.
        found: u32,
    },
    /// The cache file was written for another version string.
    VersionChanged {
        /// The version the file was written for.
        stored: String,
    },
    /// The value is older than the maximum age (or dated in the future, after
    /// the clock moved back).
    Expired {
        /// Its age (zero when dated in the future).
        age: Duration,
    },
    /// A dependency changed: size, mtime (and content, with hashing on), a
    /// folder's entries, appearing or disappearing; or the list of
    /// dependencies itself changed.
    DependencyChanged {
        /// The first dependency found changed.
        path: PathBuf,
    },
    /// The stored value does not deserialize as `T`: its type changed without
    /// a version bump.
    ValueChanged,
}

/// What a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup {
    /// The stored value was still valid; the discovery did not run.
    Hit,
    /// The discovery ran.
    Miss(MissReason),
}

/// What a lookup wrote. A failed write is reported here, never as an error:
/// the value is returned all the same and the next lookup is a miss again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteStatus {
    /// Nothing was written: a hit with current stamps, a disabled cache, or
    /// a discovery that failed.
    NotNeeded,
    /// The cache file was written: a miss's new value, or a hit whose
    /// dependency stamps were refreshed (hashing on: mtimes moved, content
    /// did not).
    Written,
    /// Writing the cache file failed (unwritable or missing folder, full
    /// disk, a value serde cannot serialize as JSON).
    Failed {
        /// The kind of I/O error (`InvalidData` when serializing failed).
        kind: io::ErrorKind,
        /// The error's message, with the path.
        message: String,
    },
}

/// What [`RegistryCache::get_or_discover_with_outcome`] did, for logging and
/// tests. `Display` gives a one-line summary.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Whether the stored value was used, and if not, why.
    pub lookup: Lookup,
    /// Whether the cache file was written.
    pub write: WriteStatus,
}

impl Outcome {
    /// Whether the stored value was used.
    pub fn is_hit(&self) -> bool {
        self.lookup == Lookup::Hit
    }

    /// Why the discovery ran, on a miss.
    pub fn miss_reason(&self) -> Option<&MissReason> {
        match &self.lookup {
            Lookup::Hit => None,
            Lookup::Miss(reason) => Some(reason),
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::Disabled => f.write_str("the cache is disabled"),
            MissReason::NoCacheFolder => {
                f.write_str("no cache folder (set XDG_CACHE_HOME or HOME)")
            }
            MissReason::Missing => f.write_str("no cache file"),
            MissReason::Corrupt => f.write_str("the cache file is unreadable or corrupt"),
            MissReason::FormatChanged { found } => {
                write!(
                    f,
                    "the cache file has format {found}, this version uses {}",
                    file::FORMAT
                )
            }
            MissReason::VersionChanged { stored } => {
                write!(f, "the cache file was written for version {stored:?}")
            }
            MissReason::Expired { age } => write!(f, "the cached value is {} s old", age.as_secs()),
            MissReason::DependencyChanged { path } => write!(f, "{} changed", path.display()),
            MissReason::ValueChanged => f.write_str("the cached value no longer deserializes"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.lookup {
            Lookup::Hit => f.write_str("hit")?,
            Lookup::Miss(reason) => write!(f, "miss: {reason}")?,
        }
        match &self.write {
            WriteStatus::NotNeeded => Ok(()),
            WriteStatus::Written => f.write_str("; cache file written"),
            WriteStatus::Failed { message, .. } => write!(f, "; cache file not written: {message}"),
        }
    }
}

/// The version the cached value must have been written for.
#[derive(Clone)]
enum Version {
    Fixed(String),
    Getter(Arc<dyn Fn() -> String + Send + Sync>),
}

impl Version {
    fn get(&self) -> String {
        match self {
            Version::Fixed(version) => version.clone(),
            Version::Getter(getter) => getter(),
        }
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Fixed(version) => version.fmt(f),
            Version::Getter(_) => f.write_str("<getter>"),
        }
    }
}

/// A value an expensive discovery produced, kept in a file and reused until
/// its version changes, it grows older than a maximum age, or a file it was
/// discovered from changes.
///
/// The file is `$XDG_CACHE_HOME/<app>/<name>.json`, else
/// `$HOME/.cache/<app>/<name>.json` (or the folder given to
/// [`RegistryCacheBuilder::dir`]): a JSON envelope with a format version, the
/// cache name, the version string, the creation time, the dependency stamps,
/// the value's length and blake3, and the value, written atomically (temporary
/// file, fsync, rename, fsync of the folder). `T` goes through serde and
/// JSON only: loading never runs code.
///
/// Nothing a lookup meets is an error: a missing, corrupt, old-format,
/// other-version, expired or out-of-date file runs the discovery, and a
/// cache file that cannot be written is reported in the [`Outcome`], not
/// returned. Setting [`DISABLE_ENV_VAR`] turns every cache off.
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::discovery::{Lookup, MissReason, RegistryCache};
///
/// # let scratch = std::env::temp_dir().join(format!("registry-cache-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&scratch);
/// # std::fs::create_dir_all(scratch.join("plugins"))?;
/// let plugins_dir = scratch.join("plugins");
/// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
///     .version(env!("CARGO_PKG_VERSION"))
///     .max_age(Duration::from_secs(24 * 60 * 60))
///     .depends_on(&plugins_dir)
/// #   .dir(scratch.join("cache"))
///     .build()?;
///
/// let discover = || -> Vec<String> {
///     let mut names: Vec<String> = std::fs::read_dir(&plugins_dir)
///         .into_iter()
///         .flatten()
///         .filter_map(|entry| entry.ok())
///         .map(|entry| entry.file_name().to_string_lossy().into_owned())
///         .collect();
///     names.sort();
///     names
/// };
/// # cache.invalidate()?;
/// let (plugins, outcome) = cache.get_or_discover_with_outcome(discover);
/// assert_eq!(outcome.lookup, Lookup::Miss(MissReason::Missing));
/// assert!(plugins.is_empty());
///
/// // Next run: read from the file, the folder is not listed.
/// let (_, outcome) = cache.get_or_discover_with_outcome(|| unreachable!());
/// assert_eq!(outcome.lookup, Lookup::Hit);
/// # std::fs::remove_dir_all(&scratch)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RegistryCache<T> {
    app: String,
    name: String,
    path: Option<PathBuf>,
    version: Version,
    max_age: Duration,
    dependencies: Vec<PathBuf>,
    hash_contents: bool,
    enabled: bool,
    value: PhantomData<fn() -> T>,
}

/// Builds a [`RegistryCache`]; start with [`RegistryCache::builder`].
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::discovery::RegistryCache;
///
/// let cache = RegistryCache::<Vec<String>>::builder("my-app", "models")
///     .version("api-v3")
///     .max_age(Duration::from_secs(3600))
///     .build()?;
/// assert_eq!(cache.max_age(), Duration::from_secs(3600));
/// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
/// ```
#[must_use]
pub struct RegistryCacheBuilder<T> {
    app: String,
    name: String,
    dir: Option<PathBuf>,
    version: Version,
    max_age: Duration,
    dependencies: Vec<PathBuf>,
    hash_contents: bool,
    enabled: bool,
    value: PhantomData<fn() -> T>,
}

impl<T> RegistryCache<T> {
    /// Starts a cache called `name` for the program `app`; both become parts
    /// of the file's path (`<cache folder>/<app>/<name>.json`) and are checked
    /// by [`build`](RegistryCacheBuilder::build).
    ///
    /// Defaults: version `""`, maximum age [`DEFAULT_MAX_AGE`], no
    /// dependencies, no content hashing, enabled.
    pub fn builder(app: impl Into<String>, name: impl Into<String>) -> RegistryCacheBuilder<T> {
        RegistryCacheBuilder {
            app: app.into(),
            name: name.into(),
            dir: None,
            version: Version::Fixed(String::new()),
            max_age: DEFAULT_MAX_AGE,
            dependencies: Vec::new(),
            hash_contents: false,
            enabled: true,
            value: PhantomData,
        }
    }

    /// The program's name, the cache folder's subfolder.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The cache's name, its file's stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cache file, or `None` when no cache folder could be found (then
    /// every lookup is a [`MissReason::NoCacheFolder`]).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether lookups read and write the file (not disabled by
    /// [`RegistryCacheBuilder::enabled`] or [`DISABLE_ENV_VAR`]).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The maximum age of a stored value.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// The dependencies, sorted.
    pub fn dependencies(&self) -> &[PathBuf] {
        &self.dependencies
    }

    /// Removes the cache file, so the next lookup runs the discovery. Works
    /// on a disabled cache too.
    ///
    /// # Errors
    ///
    /// The I/O error when the file exists but cannot be removed. A missing
    /// file (or cache folder) is not an error.
    pub fn invalidate(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Err(error) if !stamp::is_absent(&error) => Err(error),
            _ => Ok(()),
        }
    }
}

impl<T: Serialize + DeserializeOwned> RegistryCache<T> {
    /// The stored value if it is still valid, else the value `discover`
    /// returns, which is then stored.
    ///
    /// Never fails: every problem with the cache file runs `discover`.
    pub fn get_or_discover(&self, discover: impl FnOnce() -> T) -> T {
        self.get_or_discover_with_outcome(discover).0
    }

    /// [`get_or_discover`](Self::get_or_discover), also reporting whether the
    /// stored value was used and whether the file was written.
    ///
    /// ```
    /// use cache_runtime::discovery::{Lookup, MissReason, RegistryCache};
    ///
    /// let cache = RegistryCache::<u32>::builder("my-app", "answer").enabled(false).build()?;
    /// let (value, outcome) = cache.get_or_discover_with_outcome(|| 42);
    /// assert_eq!(value, 42);
    /// assert_eq!(outcome.lookup, Lookup::Miss(MissReason::Disabled));
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn get_or_discover_with_outcome(&self, discover: impl FnOnce() -> T) -> (T, Outcome) {
        match self
            .try_get_or_discover_with_outcome(|| Ok::<T, std::convert::Infallible>(discover()))
        {
            Ok(found) => found,
            Err(never) => match never {},
        }
    }

    /// The stored value if it is still valid, else the result of a fallible
    /// discovery; an `Ok` value is stored, an `Err` leaves the file as it was.
    ///
    /// # Errors
    ///
    /// Only `discover`'s error: problems with the cache file run the
    /// discovery instead.
    ///
    /// ```
    /// use cache_runtime::discovery::RegistryCache;
    ///
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "remote-models")
    ///     .enabled(false)
    ///     .build()?;
    /// let models = cache.try_get_or_discover(|| -> Result<_, std::io::Error> {
    ///     Ok(vec!["small".to_owned(), "large".to_owned()])
    /// })?;
    /// assert_eq!(models.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_get_or_discover<E>(&self, discover: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.try_get_or_discover_with_outcome(discover)
            .map(|(value, _)| value)
    }

    /// [`try_get_or_discover`](Self::try_get_or_discover), also reporting
    /// what happened.
    ///
    /// # Errors
    ///
    /// Only `discover`'s error.
    pub fn try_get_or_discover_with_outcome<E>(
        &self,
        discover: impl FnOnce() -> Result<T, E>,
    ) -> Result<(T, Outcome), E> {
        let outcome = |lookup, write| Outcome { lookup, write };
        if !self.enabled {
            let value = discover()?;
            return Ok((
                value,
                outcome(Lookup::Miss(MissReason::Disabled), WriteStatus::NotNeeded),
            ));
        }
        let Some(path) = &self.path else {
            let value = discover()?;
            return Ok((
                value,
                outcome(
                    Lookup::Miss(MissReason::NoCacheFolder),
                    WriteStatus::NotNeeded,
                ),
            ));
        };
        let version = self.version.get();
        let reason = match self.read(path, &version) {
            Ok((value, None)) => return Ok((value, outcome(Lookup::Hit, WriteStatus::NotNeeded))),
            Ok((value, Some(refreshed))) => {
                let write = write(path, &refreshed);
                return Ok((value, outcome(Lookup::Hit, write)));
            }
            Err(reason) => reason,
        };
        // Stamp first: a dependency changing while the discovery runs is
        // then seen by the next lookup.
        let stamped_at_ms = now_ms();
        let dependencies = self
            .dependencies
            .iter()
            .map(|p| Stamp::take(p, self.hash_contents))
            .collect();
        let value = discover()?;
        let write = match serde_json::value::to_raw_value(&value) {
            Ok(raw) => write(
                path,
                &Entry {
                    cache: self.name.clone(),
                    version,
                    created_at_ms: stamped_at_ms,
                    stamped_at_ms,
                    dependencies,
                    value: raw,
                },
            ),
            Err(error) => WriteStatus::Failed {
                kind: io::ErrorKind::InvalidData,
                message: format!("cannot serialize the value for {}: {error}", path.display()),
            },
        };
        Ok((value, outcome(Lookup::Miss(reason), write)))
    }

    /// The stored value if valid, with the entry to write back when its
    /// stamps were refreshed.
    fn read(&self, path: &Path, version: &str) -> Result<(T, Option<Entry>), MissReason> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if stamp::is_absent(&error) => return Err(MissReason::Missing),
            Err(_) => return Err(MissReason::Corrupt),
        };
        let mut entry = Entry::decode(&bytes).map_err(|rejection| match rejection {
            Rejection::Corrupt => MissReason::Corrupt,
            Rejection::FormatChanged { found } => MissReason::FormatChanged { found },
        })?;
        if entry.cache != self.name {
            return Err(MissReason::Corrupt);
        }
        if entry.version != version {
            return Err(MissReason::VersionChanged {
                stored: entry.version,
            });
        }
        let now = now_ms();
        let age = Duration::from_millis(now.saturating_sub(entry.created_at_ms));
        let future = Duration::from_millis(entry.created_at_ms.saturating_sub(now));
        if age > self.max_age || future > CLOCK_SKEW {
            return Err(MissReason::Expired { age });
        }
        let refreshed = match stamp::check(
            &entry.dependencies,
            &self.dependencies,
            self.hash_contents,
            entry.stamped_at_ms,
            now,
        ) {
            Check::Fresh => false,
            Check::Refresh(stamps) => {
                entry.dependencies = stamps;
                entry.stamped_at_ms = now;
                true
            }
            Check::Changed(path) => return Err(MissReason::DependencyChanged { path }),
        };
        let value =
            serde_json::from_str(entry.value.get()).map_err(|_| MissReason::ValueChanged)?;
        Ok((value, refreshed.then_some(entry)))
    }
}

fn write(path: &Path, entry: &Entry) -> WriteStatus {
    let result = entry
        .encode()
        .map_err(io::Error::from)
        .and_then(|bytes| cache_spec::persist::atomic_write(path, &bytes));
    match result {
        Ok(()) => WriteStatus::Written,
        Err(error) => WriteStatus::Failed {
            kind: error.kind(),
            message: format!("cannot write {}: {error}", path.display()),
        },
    }
}

impl<T> RegistryCacheBuilder<T> {
    /// The version the stored value must have been written for; a file
    /// written for another one is a miss. Use what changes the discovery's
    /// result: the program's version, a schema version, a remote API's.
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .version(concat!(env!("CARGO_PKG_VERSION"), "+schema-2"))
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Version::Fixed(version.into());
        self
    }

    /// Like [`version`](Self::version), with a getter called at each lookup
    /// (a version read from a server's header, a config file...).
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "models")
    ///     .version_with(|| std::env::var("MODELS_API_VERSION").unwrap_or_default())
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn version_with(mut self, getter: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.version = Version::Getter(Arc::new(getter));
        self
    }

    /// How old a stored value may be (from the discovery that produced it)
    /// before it is rediscovered; default [`DEFAULT_MAX_AGE`].
    /// `Duration::MAX` never expires.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "models")
    ///     .max_age(Duration::from_secs(15 * 60))
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// A file or folder the discovery reads: when its size or modification
    /// time changes (or it appears or disappears), the value is
    /// rediscovered. A folder's mtime changes when an entry is added, removed
    /// or renamed, not when an entry's content changes: list the files too
    /// when their content matters. Relative paths are resolved against the
    /// working directory at each lookup.
    ///
    /// Same-size edits within one mtime tick of the file system (a few ms on
    /// Linux, 2 s on FAT) can go unnoticed by size and mtime alone; see
    /// [`hash_contents`](Self::hash_contents).
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .depends_on("/usr/lib/my-app/plugins")
    ///     .depends_on("/etc/my-app/plugins.toml")
    ///     .build()?;
    /// assert_eq!(cache.dependencies().len(), 2);
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn depends_on(mut self, path: impl Into<PathBuf>) -> Self {
        self.dependencies.push(path.into());
        self
    }

    /// [`depends_on`](Self::depends_on) for each path.
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .depends_on_all(["/usr/lib/my-app/plugins", "/usr/local/lib/my-app/plugins"])
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn depends_on_all<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.dependencies.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Also records the blake3 of each dependency's content (a folder's:
    /// its sorted entry names). A dependency whose size or mtime moved but
    /// whose content did not is then no change: the lookup is a hit and the
    /// stored stamps are refreshed. Stamps taken within 2 s of a file's
    /// mtime are verified by content too, so same-size edits within one
    /// mtime tick are caught. Costs reading every dependency on a miss.
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .depends_on("/etc/my-app/plugins.toml")
    ///     .hash_contents(true)
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn hash_contents(mut self, hash: bool) -> Self {
        self.hash_contents = hash;
        self
    }

    /// The folder holding `<name>.json`, instead of
    /// `<cache folder>/<app>/`. Created on first write.
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .dir("/var/cache/my-app")
    ///     .build()?;
    /// let expected = std::path::Path::new("/var/cache/my-app").join("plugins.json");
    /// assert_eq!(cache.path(), Some(expected.as_path()));
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Turns the cache off (`false`): every lookup runs the discovery and
    /// nothing is read or written. [`DISABLE_ENV_VAR`] turns it off too;
    /// nothing turns it on against that variable.
    ///
    /// ```
    /// # use cache_runtime::discovery::RegistryCache;
    /// let no_cache = std::env::args().any(|arg| arg == "--no-cache");
    /// let cache = RegistryCache::<Vec<String>>::builder("my-app", "plugins")
    ///     .enabled(!no_cache)
    ///     .build()?;
    /// # Ok::<(), cache_runtime::discovery::RegistryCacheError>(())
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Checks the names, finds the cache folder and reads
    /// [`DISABLE_ENV_VAR`].
    ///
    /// Finding no cache folder is not an error: the cache then runs the
    /// discovery every time ([`MissReason::NoCacheFolder`]).
    ///
    /// # Errors
    ///
    /// [`RegistryCacheError`] when the app or cache name is not a safe file
    /// name (empty, starting with `.`, with a path separator or a character
    /// outside ASCII letters, digits, `-`, `_`, `.`, or too long).
    pub fn build(self) -> Result<RegistryCache<T>, RegistryCacheError> {
        location::check_file_name(&self.app).map_err(|problem| {
            RegistryCacheError::InvalidAppName {
                name: self.app.clone(),
                problem,
            }
        })?;
        location::check_file_name(&self.name).map_err(|problem| {
            RegistryCacheError::InvalidCacheName {
                name: self.name.clone(),
                problem,
            }
        })?;
        let dir = self.dir.or_else(|| {
            location::cache_root(|var| std::env::var_os(var)).map(|root| root.join(&self.app))
        });
        let path = dir.map(|dir| dir.join(format!("{}.json", self.name)));
        let disabled = location::disabled_by(std::env::var_os(DISABLE_ENV_VAR).as_deref());
        let mut dependencies = self.dependencies;
        dependencies.sort();
        dependencies.dedup();
        Ok(RegistryCache {
            app: self.app,
            name: self.name,
            path,
            version: self.version,
            max_age: self.max_age,
            dependencies,
            hash_contents: self.hash_contents,
            enabled: self.enabled && !disabled,
            value: PhantomData,
        })
    }
}

impl<T> fmt::Debug for RegistryCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryCache")
            .field("app", &self.app)
            .field("name", &self.name)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("max_age", &self.max_age)
            .field("dependencies", &self.dependencies)
            .field("hash_contents", &self.hash_contents)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl<T> fmt::Debug for RegistryCacheBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryCacheBuilder")
            .field("app", &self.app)
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("version", &self.version)
            .field("max_age", &self.max_age)
            .field("dependencies", &self.dependencies)
            .field("hash_contents", &self.hash_contents)
            .field("enabled", &self.enabled)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Scratch;

    fn cache(scratch: &Scratch) -> RegistryCacheBuilder<Vec<String>> {
        RegistryCache::builder("unit", "names")
            .dir(scratch.path().join("cache"))
            .version("1")
    }

    #[test]
    fn names_are_checked_at_build() {
        let error = RegistryCache::<u8>::builder("../x", "ok").build().err();
        assert_eq!(
            error,
            Some(RegistryCacheError::InvalidAppName {
                name: "../x".into(),
                problem: FileNameProblem::LeadingDot
            })
        );
        let error = RegistryCache::<u8>::builder("ok", "a/b").build().err();
        assert_eq!(
            error,
            Some(RegistryCacheError::InvalidCacheName {
                name: "a/b".into(),
                problem: FileNameProblem::Character('/')
            })
        );
        let message = RegistryCache::<u8>::builder("ok", "")
            .build()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "registry cache name \"\" cannot be a file name: it is empty; use ASCII letters, digits, `-`, `_` and `.` (not first)"
            )
        );
    }

    #[test]
    fn dependencies_are_sorted_and_deduplicated() {
        let cache = RegistryCache::<u8>::builder("a", "b")
            .depends_on("/z")
            .depends_on_all(["/a", "/z"])
            .build()
            .expect("build");
        assert_eq!(
            cache.dependencies(),
            [PathBuf::from("/a"), PathBuf::from("/z")]
        );
    }

    #[test]
    fn a_file_of_another_cache_is_corrupt() {
        let scratch = Scratch::new("mod-other-cache");
        let ours = cache(&scratch).build().expect("build");
        let theirs = RegistryCache::<Vec<String>>::builder("unit", "other")
            .dir(scratch.path().join("cache"))
            .version("1")
            .build()
            .expect("build");
        theirs.get_or_discover(Vec::new);
        let (Some(ours_path), Some(theirs_path)) = (ours.path(), theirs.path()) else {
            panic!("paths");
        };
        std::fs::copy(theirs_path, ours_path).expect("copy");
        let (_, outcome) = ours.get_or_discover_with_outcome(Vec::new);
        assert_eq!(outcome.lookup, Lookup::Miss(MissReason::Corrupt));
    }

    #[test]
    fn a_value_of_another_type_is_value_changed() {
        let scratch = Scratch::new("mod-value-type");
        let strings = cache(&scratch).build().expect("build");
        strings.get_or_discover(|| vec!["x".to_owned()]);
        let numbers = RegistryCache::<Vec<u32>>::builder("unit", "names")
            .dir(scratch.path().join("cache"))
            .version("1");
        let (value, outcome) = numbers
            .build()
            .expect("build")
            .get_or_discover_with_outcome(|| vec![7]);
        assert_eq!(value, [7]);
        assert_eq!(outcome.lookup, Lookup::Miss(MissReason::ValueChanged));
        assert_eq!(outcome.write, WriteStatus::Written);
    }

    #[test]
    fn a_file_dated_in_the_future_is_expired() {
        let scratch = Scratch::new("mod-future");
        let cache = cache(&scratch).build().expect("build");
        let path = cache.path().expect("path").to_path_buf();
        let entry = Entry {
            cache: "names".into(),
            version: "1".into(),
            created_at_ms: now_ms() + 3_600_000,
            stamped_at_ms: now_ms(),
            dependencies: Vec::new(),
            value: serde_json::value::to_raw_value(&Vec::<String>::new()).expect("raw"),
        };
        assert_eq!(write(&path, &entry), WriteStatus::Written);
        let (_, outcome) = cache.get_or_discover_with_outcome(Vec::new);
        assert_eq!(
            outcome.lookup,
            Lookup::Miss(MissReason::Expired {
                age: Duration::ZERO
            })
        );
    }

    #[test]
    fn an_unserializable_value_is_a_failed_write() {
        use std::collections::HashMap;
        let scratch = Scratch::new("mod-unserializable");
        let cache = RegistryCache::<HashMap<(u8, u8), u8>>::builder("unit", "map")
            .dir(scratch.path())
            .build()
            .expect("build");
        let (value, outcome) = cache.get_or_discover_with_outcome(|| HashMap::from([((1, 2), 3)]));
        assert_eq!(value.len(), 1);
        assert!(
            matches!(
                outcome.write,
                WriteStatus::Failed {
                    kind: io::ErrorKind::InvalidData,
                    ..
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_failed_discovery_writes_nothing() {
        let scratch = Scratch::new("mod-failed-discovery");
        let cache = cache(&scratch).build().expect("build");
        let result = cache.try_get_or_discover(|| Err::<Vec<String>, _>("offline"));
        assert_eq!(result, Err("offline"));
        assert!(!cache.path().expect("path").exists());
    }

    #[test]
    fn outcomes_display_in_one_line() {
        let outcome = Outcome {
            lookup: Lookup::Miss(MissReason::DependencyChanged {
                path: PathBuf::from("/p"),
            }),
            write: WriteStatus::Failed {
                kind: io::ErrorKind::PermissionDenied,
                message: "denied".into(),
            },
        };
        assert_eq!(
            outcome.to_string(),
            "miss: /p changed; cache file not written: denied"
        );
        let hit = Outcome {
            lookup: Lookup::Hit,
            write: WriteStatus::NotNeeded,
        };
        assert_eq!(hit.to_string(), "hit");
    }
}
