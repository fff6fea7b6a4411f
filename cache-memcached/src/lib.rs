//! A Memcached storage backend for cache-runtime regions.
//!
//! ```no_run
//! use cache_memcached::{Memcached, MemcachedConfig};
//! use cache_runtime::CacheManager;
//!
//! let memcached = Memcached::new(MemcachedConfig::new("127.0.0.1:11211"))?;
//! let manager = CacheManager::builder()
//!     .backend("memcached", memcached.factory())
//!     .build()?;
//! // #[custom_cache_region(name = "tenant-quotas", key = String, value = Quota,
//! //                       backend = "memcached", ttl = "5m")]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - `lib.rs`: [`MemcachedConfig`], [`Memcached`] (the connections, on a
//!   runtime thread of their own), [`MemcachedBackend`] (one region);
//! - `connection.rs`: one connection speaking the text protocol;
//! - `keys.rs`: key names (`{prefix}:{region}:{escaped key text}`).
//!
//! # Why our own client
//!
//! Browsing a region, counting it and clearing it by pattern need the
//! server's key list, which memcached gives through `lru_crawler metadump
//! all` (memcached 1.4.31 and later); none of the maintained async client
//! crates exposes that command or a raw connection to send it on, and the
//! rest of what a backend needs (`get` with many keys, `add`, `set`,
//! `delete`, `version`) is a few lines of the text protocol. So this crate
//! speaks the protocol itself over tokio sockets, with a small pool of
//! connections.
//!
//! # What the backend does
//!
//! - Values carry a TTL (`exptime`, whole seconds, rounded up; over 30 days
//!   sent as a Unix time, as memcached requires). A value is also bounded
//!   by the server's item size (`-I`, 1 MiB by default): a larger one is
//!   refused with the server's message.
//! - `put` tells an insert from a replacement with `add`, then `set` when
//!   the key is held (two round trips; a concurrent writer between them can
//!   make a replacement count as an insert).
//! - `clear`, `clear_matching`, `scan` and `count` read the server's whole
//!   key list and keep the region's keys: one pass over every key on the
//!   server. The list comes from `lru_crawler metadump hash`, a walk of the
//!   hash table (memcached 1.6; Debian 12 ships 1.6.18). On a server
//!   without it, `metadump all` walks the LRU lists instead, which skips an
//!   item while it waits to be relinked after a read (up to about a second
//!   on a quiet server): listings can then miss recently read keys. Clears
//!   delete dump after dump until a dump finds none left. A memcached
//!   started with `-X` (dumping disabled) cannot do these and says so.
//! - Memcached evicts on its own when full: an evicted value is a miss.
//!
//! # Executors
//!
//! The connections live on a current-thread tokio runtime this crate runs
//! on a thread of its own; each operation is spawned there and awaited
//! through its join handle, so the backend's futures complete on any
//! executor, including the manager's blocking forms.

mod connection;
mod keys;

use std::net::ToSocketAddrs as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_runtime::backend::{
    Backend, BackendContext, BackendError, Capabilities, Health, Put, ScanPage,
};
use cache_runtime::disk::Glob;
use cache_runtime::manager::BoxFuture;
use tokio::net::TcpStream;
use tokio::runtime::Handle;

use self::connection::{Connection, Fault};

/// Where the server is and how long to wait for it.
#[derive(Clone, Debug)]
#[must_use]
pub struct MemcachedConfig {
    address: String,
    prefix: String,
    connect_timeout: Duration,
    timeout: Duration,
    pool: usize,
}

impl MemcachedConfig {
    /// The server at `address` (`host:port`), prefix `cache`, connect
    /// timeout 1 s, response timeout 500 ms, up to 8 idle connections kept.
    pub fn new(address: impl Into<String>) -> MemcachedConfig {
        MemcachedConfig {
            address: address.into(),
            prefix: String::from("cache"),
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            pool: 8,
        }
    }

    /// The first part of every key name (several programs can share a
    /// server with different prefixes).
    pub fn prefix(mut self, prefix: impl Into<String>) -> MemcachedConfig {
        self.prefix = prefix.into();
        self
    }

    /// How long opening a connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> MemcachedConfig {
        self.connect_timeout = timeout;
        self
    }

    /// How long one operation may wait for its replies (a `metadump` of a
    /// large server needs more).
    pub fn timeout(mut self, timeout: Duration) -> MemcachedConfig {
        self.timeout = timeout;
        self
    }

    /// How many idle connections are kept for reuse.
    pub fn pool(mut self, idle: usize) -> MemcachedConfig {
        self.pool = idle.max(1);
        self
    }
}

/// A Memcached server's connections, shared by the regions on it. Cheap to
/// clone. Connections open on first use and after a failure, so a program
/// starts (and its other regions serve) while the server is down.
#[derive(Clone)]
pub struct Memcached {
    client: Arc<Client>,
}

impl std::fmt::Debug for Memcached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memcached")
            .field("address", &self.client.config.address)
            .field("prefix", &self.client.config.prefix)
            .finish_non_exhaustive()
    }
}

struct Client {
    config: MemcachedConfig,
    runtime: Handle,
    idle: Mutex<Vec<Connection>>,
    /// The server answered `metadump hash` with an error: use `all`.
    no_hash_dump: AtomicBool,
    /// Ends the runtime thread when the last clone goes.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Memcached {
    /// The connections to the server `config` names, on a runtime thread
    /// started now.
    ///
    /// # Errors
    ///
    /// [`BackendError::Other`] when the runtime thread cannot start, or the
    /// prefix is not kebab-case.
    pub fn new(config: MemcachedConfig) -> Result<Memcached, BackendError> {
        if config.prefix.is_empty()
            || !config
                .prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(BackendError::Other(
                format!(
                    "memcached prefix {:?}: use lowercase letters, digits and `-`",
                    config.prefix
                )
                .into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| BackendError::Other(error.into()))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(String::from("cache-memcached"))
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|error| BackendError::Other(error.into()))?;
        Ok(Memcached {
            client: Arc::new(Client {
                config,
                runtime: handle,
                idle: Mutex::new(Vec::new()),
                no_hash_dump: AtomicBool::new(false),
                _stop: stop,
            }),
        })
    }

    /// The backend of `region` on this server.
    pub fn backend(&self, region: &str) -> MemcachedBackend {
        MemcachedBackend {
            client: Arc::clone(&self.client),
            key_prefix: format!("{}:{region}:", self.client.config.prefix).into(),
        }
    }

    /// A factory for [`CacheManagerBuilder::backend`]: one
    /// [`MemcachedBackend`] per region.
    ///
    /// [`CacheManagerBuilder::backend`]: cache_runtime::CacheManagerBuilder::backend
    pub fn factory(
        &self,
    ) -> impl Fn(&BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError> + Send + Sync + 'static
    {
        let memcached = self.clone();
        move |context: &BackendContext<'_>| {
            Ok(Arc::new(memcached.backend(context.region())) as Arc<dyn Backend>)
        }
    }
}

impl Client {
    /// Runs `work` on a connection (pooled or new) on the runtime thread,
    /// within the response timeout.
    async fn run<T, F, Fut>(
        self: &Arc<Self>,
        operation: &'static str,
        work: F,
    ) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(Connection) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = (Connection, Result<T, Fault>)> + Send + 'static,
    {
        let client = Arc::clone(self);
        let task = self.runtime.spawn(async move {
            let connection = client.connection().await?;
            let timeout = client.config.timeout;
            match tokio::time::timeout(timeout, work(connection)).await {
                Err(_) => Err(BackendError::Unavailable {
                    server: client.config.address.clone(),
                    reason: format!("{operation}: no reply within {timeout:?}"),
                }),
                Ok((connection, Ok(value))) => {
                    client.give_back(connection);
                    Ok(value)
                }
                Ok((connection, Err(Fault::Server(line)))) => {
                    client.give_back(connection);
                    Err(server_error(operation, line))
                }
                Ok((_, Err(Fault::Io(error)))) => Err(BackendError::Unavailable {
                    server: client.config.address.clone(),
                    reason: format!("{operation}: {error}"),
                }),
            }
        });
        task.await.map_err(|error| {
            BackendError::Other(format!("memcached {operation} did not finish: {error}").into())
        })?
    }

    async fn connection(&self) -> Result<Connection, BackendError> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(connection) = reused {
            return Ok(connection);
        }
        let unavailable = |reason: String| BackendError::Unavailable {
            server: self.config.address.clone(),
            reason,
        };
        let address = self
            .config
            .address
            .to_socket_addrs()
            .map_err(|error| unavailable(format!("cannot resolve the address: {error}")))?
            .next()
            .ok_or_else(|| unavailable(String::from("the address resolves to nothing")))?;
        match tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => Ok(Connection::new(stream)),
            Ok(Err(error)) => Err(unavailable(format!("cannot connect: {error}"))),
            Err(_) => Err(unavailable(format!(
                "no connection within {:?}",
                self.config.connect_timeout
            ))),
        }
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.config.pool {
            idle.push(connection);
        }
    }
}

fn server_error(operation: &'static str, line: String) -> BackendError {
    if line.contains("too large") {
        BackendError::Refused {
            what: String::from("the value"),
            reason: line,
        }
    } else {
        BackendError::Failed {
            operation,
            reason: line,
        }
    }
}

/// `exptime` for `ttl`: 0 for none; whole seconds, at least 1; a Unix time
/// past 30 days, as memcached reads larger numbers.
fn exptime(ttl: Option<Duration>) -> u64 {
    const THIRTY_DAYS: u64 = 30 * 24 * 3600;
    let Some(ttl) = ttl else {
        return 0;
    };
    let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    if seconds <= THIRTY_DAYS {
        seconds
    } else {
        unix_now().saturating_add(seconds)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// One region's entries on a Memcached server.
pub struct MemcachedBackend {
    client: Arc<Client>,
    /// `{prefix}:{region}:`
    key_prefix: Arc<str>,
}

impl std::fmt::Debug for MemcachedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemcachedBackend")
            .field("address", &self.client.config.address)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

impl MemcachedBackend {
    /// The name of `key`, or why memcached cannot take it.
    fn name(&self, key: &str) -> Result<String, BackendError> {
        let name = format!("{}{}", self.key_prefix, keys::escape(key));
        if name.len() > keys::MAX_KEY_LEN {
            return Err(BackendError::Refused {
                what: format!("key {:?}", key.chars().take(80).collect::<String>()),
                reason: format!(
                    "its memcached name is {} bytes (at most {}, with the prefix `{}` and non-ASCII bytes escaped as %XX)",
                    name.len(),
                    keys::MAX_KEY_LEN,
                    self.key_prefix
                ),
            });
        }
        Ok(name)
    }

    /// One `metadump` of the region's keys (not expired), as (name, key
    /// text).
    async fn dump_once(&self) -> Result<Vec<(String, String)>, BackendError> {
        let prefix = Arc::clone(&self.key_prefix);
        for _ in 0..50 {
            let by_hash = !self.client.no_hash_dump.load(Ordering::Relaxed);
            let dumped = self
                .client
                .run("lru_crawler metadump", move |mut connection| async move {
                    let dumped = connection.metadump(by_hash).await;
                    (connection, dumped)
                })
                .await;
            let dumped = match dumped {
                Err(BackendError::Failed { .. }) if by_hash => {
                    // A server before `metadump hash`: walk the LRUs.
                    self.client.no_hash_dump.store(true, Ordering::Relaxed);
                    continue;
                }
                other => other?,
            };
            let Some(dumped) = dumped else {
                // Another crawl is running: wait for it (on our runtime,
                // whose timer runs whatever polls this future).
                let _ = self
                    .client
                    .runtime
                    .spawn(tokio::time::sleep(Duration::from_millis(20)))
                    .await;
                continue;
            };
            let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
            return Ok(dumped
                .into_iter()
                .filter(|key| key.expires.is_none_or(|at| at > now))
                .filter_map(|key| {
                    let name = keys::unescape(&key.name)?;
                    let text = keys::unescape(name.strip_prefix(&*prefix)?)?;
                    Some((name, text))
                })
                .collect());
        }
        Err(BackendError::Failed {
            operation: "lru_crawler metadump",
            reason: String::from("the server's crawler stayed busy for a second"),
        })
    }

    /// The region's keys, in name order.
    async fn region_keys(&self) -> Result<Vec<(String, String)>, BackendError> {
        let mut found = self.dump_once().await?;
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// Deletes the region's keys whose text `doomed` accepts, dump after
    /// dump until a dump finds none left (a value written meanwhile is
    /// removed too); how many were deleted.
    async fn delete_where(&self, doomed: impl Fn(&str) -> bool) -> Result<u64, BackendError> {
        let mut deleted = 0;
        for _ in 0..MAX_CLEAR_ROUNDS {
            let names: Vec<String> = self
                .dump_once()
                .await?
                .into_iter()
                .filter(|(_, text)| doomed(text))
                .map(|(name, _)| name)
                .collect();
            if names.is_empty() {
                return Ok(deleted);
            }
            deleted += self.delete_names(names).await?;
        }
        Ok(deleted)
    }

    async fn delete_names(&self, names: Vec<String>) -> Result<u64, BackendError> {
        let mut deleted = 0;
        for chunk in names.chunks(256) {
            let chunk = chunk.to_vec();
            deleted += self
                .client
                .run("delete", |mut connection| async move {
                    let done = connection.delete_many(&chunk).await;
                    (connection, done)
                })
                .await?;
        }
        Ok(deleted)
    }
}

/// At most this many dump-and-delete rounds per clear.
const MAX_CLEAR_ROUNDS: usize = 20;

impl Backend for MemcachedBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with_ttl()
            .with_pattern_clear()
            .with_scan()
            .with_count()
            .with_shared()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(async move {
            let mut found = self.get_many(&[key]).await?;
            Ok(found.pop().flatten())
        })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, BackendError>> {
        Box::pin(async move {
            let names = keys
                .iter()
                .map(|key| self.name(key))
                .collect::<Result<Vec<String>, BackendError>>()?;
            let mut values = Vec::with_capacity(names.len());
            for chunk in names.chunks(100) {
                let asked = chunk.to_vec();
                let mut found = self
                    .client
                    .run("get", |mut connection| async move {
                        let found = connection.get_many(&asked).await;
                        (connection, found)
                    })
                    .await?;
                values.extend(chunk.iter().map(|name| found.remove(name)));
            }
            Ok(values)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>> {
        Box::pin(async move {
            let name = self.name(key)?;
            let value = value.to_vec();
            let exptime = exptime(ttl);
            self.client
                .run("set", move |mut connection| async move {
                    let stored = async {
                        if connection.store("add", &name, &value, exptime).await? {
                            return Ok(Put::Inserted);
                        }
                        connection.store("set", &name, &value, exptime).await?;
                        Ok(Put::Replaced)
                    }
                    .await;
                    (connection, stored)
                })
                .await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let name = self.name(key)?;
            Ok(self.delete_names(vec![name]).await? > 0)
        })
    }

    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move { self.delete_where(|_| true).await })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move { self.delete_where(|text| pattern.matches(text)).await })
    }

    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        Box::pin(async move {
            let all = self.region_keys().await?;
            // The cursor is the last name handed out: names are in order.
            let start = cursor.map_or(0, |cursor| {
                all.partition_point(|(name, _)| name.as_str() <= cursor)
            });
            let page: Vec<&(String, String)> = all[start..].iter().take(limit.max(1)).collect();
            let cursor = match page.last() {
                Some((name, _)) if start + page.len() < all.len() => Some(name.clone()),
                _ => None,
            };
            Ok(ScanPage {
                keys: page
                    .into_iter()
                    .filter(|(_, text)| pattern.is_none_or(|glob| glob.matches(text)))
                    .map(|(_, text)| text.clone())
                    .collect(),
                cursor,
            })
        })
    }

    fn count<'a>(&'a self) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async move { Ok(Some(self.region_keys().await?.len() as u64)) })
    }

    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            let start = Instant::now();
            let version = self
                .client
                .run("version", |mut connection| async move {
                    let version = connection.version().await;
                    (connection, version)
                })
                .await?;
            Ok(Health::up(format!(
                "memcached {version} at {}",
                self.client.config.address
            ))
            .latency(start.elapsed()))
        })
    }
}
