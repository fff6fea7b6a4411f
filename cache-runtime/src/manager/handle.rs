//! [`RegionHandle`]: typed access to one region.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use super::entries::{EntryPage, EntryQuery};
use super::error::CacheError;
use super::policy_slot::Predicate;
use super::store::{RefreshReport, RegionStore};
use crate::descriptor::RegionDescriptor;
use crate::disk::CleanupReport;
use crate::policy::CachePolicy;
use crate::provider::BoxError;
use crate::stats::{RegionStats, StatsSnapshot};

/// A region's typed handle: operations take and return the region's key and
/// value types and go straight to its store (no name lookup per call).
/// Cheap to clone; every clone is the same region.
///
/// # Results
///
/// One rule for every method: an operation on one key has a plain form
/// that cannot fail (`get` → `Option`, `insert` and `remove` → `bool`; a
/// second level that fails is a counted miss, a value kept in memory only,
/// or a value not stored) and a `try_` twin that returns the failure as a
/// [`CacheError`]. Operations on many keys or on the whole region
/// (`get_many`, `insert_many`, `clear`, `clear_matching`, `entries`,
/// `flush`, `cleanup`) return `Result` only: a partial failure there must
/// be seen.
///
/// Get one with [`CacheManager::region`](super::CacheManager::region):
///
/// ```
/// use cache_runtime::{cache_region, CacheManager};
///
/// #[cache_region(name = "doc-handle-users", key = u64, value = String, ttl = "10m")]
/// struct Users;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cache_runtime::CacheError> {
/// let manager = CacheManager::builder().build()?;
/// let users = manager.region::<Users>()?;
/// users.insert(7, "Ada".to_owned()).await;
/// assert_eq!(users.get(&7).await.as_deref(), Some("Ada"));
/// let name = users.get_or_insert_with(8, || async { "Grace".to_owned() }).await;
/// assert_eq!(name, "Grace");
/// # Ok(()) }
/// ```
pub struct RegionHandle<K, V> {
    store: Arc<RegionStore<K, V>>,
}

impl<K, V> Clone for RegionHandle<K, V> {
    fn clone(&self) -> Self {
        RegionHandle {
            store: Arc::clone(&self.store),
        }
    }
}

impl<K, V> fmt::Debug for RegionHandle<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionHandle")
            .field("region", &&*self.store.name)
            .finish_non_exhaustive()
    }
}

impl<K, V> RegionHandle<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(store: Arc<RegionStore<K, V>>) -> RegionHandle<K, V> {
        RegionHandle { store }
    }

    /// The region's name.
    pub fn name(&self) -> &str {
        &self.store.name
    }

    /// The region's descriptor (as declared).
    pub fn descriptor(&self) -> &RegionDescriptor {
        &self.store.descriptor
    }

    /// The value for `key`, if cached (memory first, then disk or Redis,
    /// promoting). Counted as a hit or a miss. When Redis fails this is a
    /// miss (or, with fail-safe, the expired memory value); see
    /// [`try_get`](Self::try_get).
    pub async fn get(&self, key: &K) -> Option<V> {
        self.store.try_get(key).await.ok().flatten()
    }

    /// [`get`](Self::get), saying when Redis could not answer.
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`] when Redis failed (timeout, connection, open
    /// circuit breaker) and no memory value could stand in.
    pub async fn try_get(&self, key: &K) -> Result<Option<V>, CacheError> {
        self.store.try_get(key).await
    }

    /// [`get`](Self::get) without a future: the memory and disk tiers never
    /// wait on anything but a local file; a Redis read blocks this thread
    /// (at most the response timeout).
    #[inline]
    pub fn get_blocking(&self, key: &K) -> Option<V> {
        self.store.get(key)
    }

    /// The values of `keys`, in order: from memory, the rest from Redis
    /// with pipelined `GET`s in chunks (from memory or disk one by one in
    /// regions without Redis).
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`] when Redis failed.
    pub async fn get_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, CacheError> {
        self.store.try_get_many(keys).await
    }

    /// Stores `entries` with the region's TTL, sent to Redis with pipelined
    /// `SET`s in chunks; how many were stored (not refused by the policy).
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`] when a Redis-only region's batch failed (a
    /// hybrid region keeps the values in memory).
    pub async fn insert_many(&self, entries: Vec<(K, V)>) -> Result<u64, CacheError> {
        self.store.try_store_many(entries).await
    }

    /// Stores `value` for `key` with the region's TTL; `false` when the
    /// region's policy refused it (conditional caching), or when a
    /// Redis-only region could not reach Redis.
    pub async fn insert(&self, key: K, value: V) -> bool {
        self.store
            .try_store(key, value, None)
            .await
            .unwrap_or(false)
    }

    /// [`insert`](Self::insert), saying when Redis could not take it.
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`] for a Redis-only region when Redis failed (a
    /// hybrid region keeps the value in memory and counts a skipped write).
    pub async fn try_insert(&self, key: K, value: V) -> Result<bool, CacheError> {
        self.store.try_store(key, value, None).await
    }

    /// [`insert`](Self::insert), blocking.
    pub fn insert_blocking(&self, key: K, value: V) -> bool {
        self.store.store(key, value, None)
    }

    /// Stores `value` for `key`, living at most `ttl` (and no longer than
    /// the region's TTL).
    pub async fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> bool {
        self.store
            .try_store(key, value, Some(ttl))
            .await
            .unwrap_or(false)
    }

    /// [`insert_with_ttl`](Self::insert_with_ttl), blocking.
    pub fn insert_with_ttl_blocking(&self, key: K, value: V, ttl: Duration) -> bool {
        self.store.store(key, value, Some(ttl))
    }

    /// The cached value, or `init`'s, stored. However many tasks ask for a
    /// cold key at once, `init` runs once and the others wait for its
    /// value; if that task is cancelled or its `init` panics, one of the
    /// waiters runs its own `init` instead.
    pub async fn get_or_insert_with<F, Fut>(&self, key: K, init: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        self.store.get_or_insert_with(&key, init).await
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) with a loader that
    /// can fail: an error is not cached, and every caller waiting on that
    /// load receives the same `Arc` of it.
    ///
    /// # Errors
    ///
    /// The loader's error.
    pub async fn try_get_or_insert_with<F, Fut, E>(&self, key: K, init: F) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        self.store.try_get_or_insert_with(&key, init).await
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) for synchronous
    /// code: waits on the thread (it may join an async caller's load).
    pub fn get_or_insert_with_blocking(&self, key: K, init: impl FnOnce() -> V) -> V {
        self.store.get_or_insert_with_blocking(&key, init)
    }

    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with) for
    /// synchronous code.
    ///
    /// # Errors
    ///
    /// The loader's error.
    pub fn try_get_or_insert_with_blocking<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        self.store.try_get_or_insert_with_blocking(&key, init)
    }

    /// Registers the region's loader, which [`get_or_load`](Self::get_or_load)
    /// and [`refresh`](Self::refresh) run.
    pub fn set_loader<F, Fut>(&self, loader: F)
    where
        F: Fn(K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, BoxError>> + Send + 'static,
    {
        self.store
            .set_loader(Some(Arc::new(move |key| Box::pin(loader(key)))));
    }

    /// The cached value, or the registered loader's (single-flight, as
    /// [`try_get_or_insert_with`](Self::try_get_or_insert_with)).
    ///
    /// # Errors
    ///
    /// [`CacheError::NoLoader`] without a loader, [`CacheError::Load`] when
    /// it fails.
    pub async fn get_or_load(&self, key: K) -> Result<V, CacheError> {
        let Some(loader) = self.store.loader() else {
            return Err(CacheError::NoLoader {
                region: self.name().to_owned(),
            });
        };
        let load_key = key.clone();
        self.store
            .try_get_or_insert_with(&key, move || loader(load_key))
            .await
            .map_err(|source| CacheError::Load {
                region: self.name().to_owned(),
                source,
            })
    }

    /// Removes `key` (from every level, and from other instances' memory
    /// through the backplane); whether it was cached.
    pub async fn remove(&self, key: &K) -> bool {
        self.store.try_remove(key).await.unwrap_or(false)
    }

    /// [`remove`](Self::remove), saying when Redis could not answer.
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`]; the memory level has dropped the key anyway.
    pub async fn try_remove(&self, key: &K) -> Result<bool, CacheError> {
        self.store.try_remove(key).await
    }

    /// [`remove`](Self::remove), blocking.
    pub fn remove_blocking(&self, key: &K) -> bool {
        self.store.remove(key)
    }

    /// Removes every entry; how many there were. In Redis with `SCAN` and
    /// batched `UNLINK`s (never `KEYS`), so other clients are not stalled.
    ///
    /// # Errors
    ///
    /// [`CacheError::Disk`] when the disk folder cannot be cleared,
    /// [`CacheError::Redis`] when Redis fails part-way.
    pub async fn clear(&self) -> Result<u64, CacheError> {
        self.store.try_clear().await
    }

    /// [`clear`](Self::clear), blocking.
    ///
    /// # Errors
    ///
    /// As [`clear`](Self::clear).
    pub fn clear_blocking(&self) -> Result<u64, CacheError> {
        self.store.clear()
    }

    /// Removes the entries whose key's text form matches `pattern` (`*`,
    /// `?` one byte, `[...]`, `\` escapes: Redis' `SCAN MATCH`, byte for
    /// byte, see [`Glob::key`](crate::disk::Glob::key)); how many.
    ///
    /// # Errors
    ///
    /// [`CacheError::NotSerializable`] for keys without a text form,
    /// [`CacheError::Disk`].
    pub async fn clear_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        self.store.try_clear_matching(pattern).await
    }

    /// [`clear_matching`](Self::clear_matching), blocking.
    ///
    /// # Errors
    ///
    /// As [`clear_matching`](Self::clear_matching).
    pub fn clear_matching_blocking(&self, pattern: &str) -> Result<u64, CacheError> {
        self.store.clear_matching(pattern)
    }

    /// One page of entries, as JSON.
    ///
    /// # Errors
    ///
    /// [`CacheError::Sensitive`] for sensitive regions; see
    /// [`CacheManager::entries`](super::CacheManager::entries).
    pub async fn entries(&self, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        self.store.try_entries(query).await
    }

    /// [`entries`](Self::entries), blocking.
    ///
    /// # Errors
    ///
    /// As [`entries`](Self::entries).
    pub fn entries_blocking(&self, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        self.store.entries(query)
    }

    /// Reloads `keys` (every cached key with `None`) through the registered
    /// loader; without one, removes them.
    pub async fn refresh(&self, keys: Option<Vec<K>>) -> RefreshReport {
        self.store.refresh(keys).await
    }

    /// Sets (or, with `None`, removes) the region's policy, replacing a
    /// declared one.
    pub fn set_policy(&self, policy: Option<Arc<dyn CachePolicy<K, V>>>) {
        self.store.set_policy(policy);
    }

    /// Conditional caching: only values for which `predicate` is true are
    /// stored (replaces the region's policy).
    ///
    /// ```
    /// # use cache_runtime::{cache_region, CacheManager};
    /// # #[cache_region(name = "doc-cache-if", key = String, value = Vec<u32>)]
    /// # struct Lists;
    /// # let manager = CacheManager::builder().build()?;
    /// let lists = manager.region::<Lists>()?;
    /// lists.cache_if(|_, list| !list.is_empty());
    /// assert!(!lists.insert_blocking("none".into(), vec![]));
    /// assert!(lists.insert_blocking("some".into(), vec![1]));
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn cache_if(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        self.store.set_policy(Some(Arc::new(Predicate(predicate))));
    }

    /// The key's text form, as patterns match it and events show it:
    /// a string key is itself, other keys their JSON (or `Display`).
    pub fn key_text(&self, key: &K) -> Option<String> {
        self.store.codecs.key_text.map(|text| text(key))
    }

    /// The region's statistics, live.
    pub fn stats(&self) -> &RegionStats {
        &self.store.stats
    }

    /// A snapshot of the statistics, with the entry count and size updated
    /// (after the memory tier's pending maintenance, which also delivers
    /// pending eviction counts).
    pub fn snapshot(&self) -> StatsSnapshot {
        self.store.run_pending_tasks();
        self.store.stats.set_entries(self.store.len());
        self.store.stats.set_bytes(self.store.bytes());
        self.store.stats.snapshot()
    }

    /// Loads running now (single-flight): how many keys have a loader in
    /// progress. Zero once every caller has returned or been cancelled.
    pub fn loads_in_flight(&self) -> usize {
        self.store.flights.len()
    }

    /// Entries held: the memory level's for a memory region, the entry
    /// files of a disk or hybrid-over-disk region; `None` where the tier
    /// cannot count them (Redis and hybrid over Redis), never a wrong 0.
    pub fn len(&self) -> Option<u64> {
        self.store.len()
    }

    /// Whether no entry is held; `None` where [`RegionHandle::len`] is.
    pub fn is_empty(&self) -> Option<bool> {
        self.len().map(|len| len == 0)
    }

    /// Runs the memory tier's pending maintenance now (evictions, expiry,
    /// listener calls), so counts are up to date.
    pub fn run_pending_tasks(&self) {
        self.store.run_pending_tasks();
    }

    /// Waits until queued disk writes are on disk.
    ///
    /// # Errors
    ///
    /// [`CacheError::Disk`] when an acknowledged write failed.
    pub fn flush(&self) -> Result<(), CacheError> {
        self.store.flush()
    }

    /// Removes what the region's second level keeps but cannot serve: on
    /// the disk tier, expired and damaged entry files and orphaned temporary
    /// files; `None` for a region without a second level, or one whose
    /// backend has nothing to clean (a server that expires entries itself).
    ///
    /// # Errors
    ///
    /// [`CacheError::Disk`] when the folder cannot be listed.
    pub fn cleanup(&self) -> Result<Option<CleanupReport>, CacheError> {
        RegionStore::cleanup(&self.store)
    }

    /// The folder of the region's disk level, if it has one.
    pub fn disk_dir(&self) -> Option<&std::path::Path> {
        self.store.disk_dir()
    }
}
