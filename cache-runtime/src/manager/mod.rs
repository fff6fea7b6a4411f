//! The run-time side: [`CacheManager`] holds every region's entries over
//! its tiers, with typed handles for code and untyped access for tools.
//!
//! - `mod.rs`: [`CacheManager`], its builder, the region table;
//! - `handle.rs`: [`RegionHandle`], typed operations;
//! - `store.rs`: a region's typed store over its levels (single flights,
//!   policies, statistics, events);
//! - `levels.rs`: which levels a region has, by tier; `hybrid.rs`: a memory
//!   level over a second level (promotion, fail-safe, backplane coherence);
//! - `memory/`: the moka cache (limits, expiry, eviction listener), rebuilt
//!   or re-timed when the region's settings change;
//! - `configure.rs`: run-time configuration changes, rollback, history,
//!   `explain`, the config-file watcher;
//! - `startup.rs`: the configuration a manager starts with;
//! - `second.rs`: the second level over any storage backend (the disk
//!   tier's, Redis, a named one): sealing, checking, counting;
//! - `remote.rs`: what the Redis tier adds (the backplane, the announcer);
//! - `flight.rs`: single-flight loads;
//! - `erased.rs`: operations by name, values as JSON;
//! - `policy_slot.rs`, `event.rs`, `entries.rs`, `error.rs`.

mod configure;
mod entries;
mod erased;
mod error;
mod event;
mod flight;
mod handle;
mod health;
mod hybrid;
mod levels;
mod memory;
mod policy_slot;
#[cfg(feature = "redis")]
mod remote;
#[cfg(not(feature = "redis"))]
#[path = "remote_off.rs"]
mod remote;
mod second;
mod startup;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use cache_spec::{RegionSettings, Tier};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::config;
use crate::descriptor::RegionDescriptor;
use crate::disk::CleanupReport;
use crate::envelope::{Clock, SystemClock, ValueFormat};
use crate::region::CacheRegion;
use crate::registry::{RegionId, Registry};
use crate::stats::{
    RegionInfo, RegionStats, RestoreOutcome, Sampling, Settings, StatsRegistry, StatsSnapshot,
    StatsWorker,
};

pub use self::entries::{EntryPage, EntryQuery, EntryView};
pub use self::error::CacheError;
pub use self::event::{CacheEvent, EventKind};
pub use self::handle::RegionHandle;
pub use self::health::LevelHealth;
pub use crate::kit::{CacheWeight, RegionCodecs, RegionKey, RegionKit, RegionValue};

/// What a region kit ([`crate::kit`]) opens a store with: the one place the
/// registry's side reaches the manager, a function pointer each kit is
/// built with.
pub(crate) mod opening {
    pub(crate) use super::erased::ErasedStore;
    pub(crate) use super::store::{StoreContext, open_erased};
}
pub use self::store::{BoxFuture, RefreshReport};

use self::erased::ErasedStore;
use self::event::Events;
use self::remote::RedisShared;
use self::store::{RegionStore, StoreContext};

/// The cache manager: every region of the program (those the linker
/// collected, plus any registered by hand or added at run time), each over
/// its tier, with statistics and events.
///
/// Typed code gets a [`RegionHandle`] once with [`region`](Self::region) and
/// keeps it; tools reach regions by name with values as JSON.
///
/// ```
/// use cache_runtime::{cache_region, CacheManager, manager::EntryQuery};
///
/// #[cache_region(name = "doc-manager-models", key = String, value = Vec<String>, ttl = "1h")]
/// struct Models;
///
/// # fn main() -> Result<(), cache_runtime::CacheError> {
/// let manager = CacheManager::builder().build()?;
/// let models = manager.region::<Models>()?;
/// models.insert_blocking("openai".into(), vec!["gpt-5".into()]);
///
/// // What an admin tool does, by name:
/// let value = manager.get_json_blocking("doc-manager-models", &"openai".into())?;
/// assert_eq!(value, Some(serde_json::json!(["gpt-5"])));
/// let page = manager.entries_blocking("doc-manager-models", &EntryQuery::first(10))?;
/// assert_eq!(page.entries[0].key, "openai");
/// assert_eq!(manager.clear_matching_blocking("doc-manager-models", "open*")?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CacheManager {
    inner: Arc<Inner>,
}

struct Inner {
    /// Shared with the statistics thread, which reads the current
    /// registries from it.
    table: Arc<RwLock<Table>>,
    /// The link-time registry the first slots mirror (slot `i` is its
    /// region `i`), for constant-time typed lookups.
    linked: Option<&'static Registry>,
    events: Events,
    disk_root: PathBuf,
    write_behind: usize,
    temp_grace: Option<Duration>,
    value_format: ValueFormat,
    stats_settings: Settings,
    stats_file: Option<PathBuf>,
    stats_save_every: Duration,
    worker: Mutex<Option<StatsWorker>>,
    restored: Option<RestoreOutcome>,
    /// The Redis connection and backplane, when built with one.
    redis: Option<RedisShared>,
    /// The storage backends registered on the builder.
    backends: crate::backend::Backends,
    /// Layers, version, overrides and audit trail of the configuration.
    config: configure::ConfigRuntime,
}

struct Table {
    slots: Vec<Arc<Slot>>,
    by_name: HashMap<Arc<str>, usize>,
    /// The regions' statistics, for exports.
    stats: Arc<StatsRegistry>,
    /// Statistics restored from the file for regions not (yet) in the
    /// manager: a region of that name added later takes them over, and
    /// until then they are saved again rather than dropped.
    pending: HashMap<Arc<str>, Arc<RegionStats>>,
    /// `stats` plus `pending`: what the statistics thread saves.
    saved: Arc<StatsRegistry>,
    /// Regions were added since `stats` and `saved` were built: they are
    /// rebuilt on their next use, so adding a region costs O(1).
    stale: bool,
}

/// One region of the manager.
struct Slot {
    name: Arc<str>,
    descriptor: RegionDescriptor,
    /// The effective settings: the declaration with every configuration
    /// layer over it.
    settings: RwLock<RegionSettings>,
    stats: Arc<RegionStats>,
    /// Codecs given at registration, for a region registered by hand.
    kit: Option<RegionKit>,
    store: OnceLock<Arc<dyn ErasedStore>>,
    opening: Mutex<()>,
}

impl Slot {
    fn kit(&self) -> Option<RegionKit> {
        match &self.kit {
            Some(kit) => Some(kit.clone_kit()),
            None => self.descriptor.kit().map(|make| make()),
        }
    }

    fn settings(&self) -> RegionSettings {
        *self.settings.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn context(&self, inner: &Inner) -> StoreContext {
        StoreContext {
            descriptor: self.descriptor.clone(),
            settings: self.settings(),
            name: Arc::clone(&self.name),
            stats: Arc::clone(&self.stats),
            events: inner.events.clone(),
            disk_root: inner.disk_root.clone(),
            write_behind: inner.write_behind,
            temp_grace: inner.temp_grace,
            value_format: inner.value_format,
            redis: inner.redis.clone(),
            backends: inner.backends.clone(),
        }
    }

    /// The store, opened through the region's kit if it has one; `None`
    /// for a region registered without types that typed code has not
    /// opened yet (it holds nothing).
    fn erased(&self, inner: &Inner) -> Result<Option<Arc<dyn ErasedStore>>, CacheError> {
        if let Some(store) = self.store.get() {
            return Ok(Some(Arc::clone(store)));
        }
        let Some(kit) = self.kit() else {
            return Ok(None);
        };
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = self.store.get() {
            return Ok(Some(Arc::clone(store)));
        }
        let store = kit.open(&self.context(inner))?;
        Ok(Some(Arc::clone(self.store.get_or_init(|| store))))
    }

    fn typed<K, V>(&self, inner: &Inner) -> Result<Arc<RegionStore<K, V>>, CacheError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let store = match self.store.get() {
            Some(store) => Arc::clone(store),
            None => {
                let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
                match self.store.get() {
                    Some(store) => Arc::clone(store),
                    None => {
                        let context = self.context(inner);
                        let store: Arc<dyn ErasedStore> = match self.kit() {
                            Some(kit) if kit.is_for::<K, V>() => kit.open(&context)?,
                            Some(kit) => {
                                return Err(self.mismatch::<K, V>(Some(kit.type_names())));
                            }
                            None => {
                                RegionStore::<K, V>::open_shared(&context, RegionCodecs::plain())?
                            }
                        };
                        Arc::clone(self.store.get_or_init(|| store))
                    }
                }
            }
        };
        let names = store.type_names();
        store
            .as_any()
            .downcast::<RegionStore<K, V>>()
            .map_err(|_| self.mismatch::<K, V>(Some(names)))
    }

    /// Sets the entry count and size gauges from the store, after moka's
    /// pending maintenance (so they count what a get would find).
    fn update_gauges(&self) {
        if let Some(store) = self.store.get() {
            store.run_pending_tasks();
            self.stats.set_entries(store.len());
            self.stats.set_bytes(store.bytes());
        }
    }

    fn mismatch<K, V>(&self, opened: Option<(&'static str, &'static str)>) -> CacheError {
        let (key, value) = match opened {
            Some(names) => names,
            None => (
                self.descriptor.key_type().unwrap_or("?"),
                self.descriptor.value_type().unwrap_or("?"),
            ),
        };
        CacheError::type_mismatch::<K, V>(&self.name, key, value)
    }
}

impl CacheManager {
    /// A builder: every linked region, the default disk folder, write-behind
    /// disk writes, no statistics file.
    pub fn builder() -> CacheManagerBuilder {
        CacheManagerBuilder::default()
    }

    /// The typed handle of region `R`: keep it, its operations do no
    /// lookup. A region the manager does not have yet (declared in a crate
    /// built without the registry, say) is added.
    ///
    /// # Errors
    ///
    /// [`CacheError::Disk`] when the region's disk folder cannot be created,
    /// [`CacheError::TierUnavailable`], [`CacheError::TypeMismatch`] when
    /// the name belongs to a region of other types.
    pub fn region<R>(&self) -> Result<RegionHandle<R::Key, R::Value>, CacheError>
    where
        R: CacheRegion,
        R::Key: Hash + Eq + Clone + Send + Sync,
        R::Value: Clone + Send + Sync,
    {
        let slot = match self.linked_slot::<R>() {
            Some(slot) => slot,
            None => match self.slot(R::DESCRIPTOR.name()) {
                Ok(slot) => slot,
                Err(_) => self.add(R::DESCRIPTOR.clone(), None)?,
            },
        };
        Ok(RegionHandle::new(slot.typed(&self.inner)?))
    }

    /// The typed handle of the region called `name`: for regions registered
    /// by hand or added at run time, and for regions a linked library
    /// declared whose marker type the program does not name (`use
    /// that_crate as _;`). Declared regions whose type is at hand are
    /// cheaper to reach with [`region`](Self::region).
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::TypeMismatch`], and
    /// what opening the region's tier can fail with.
    pub fn region_named<K, V>(&self, name: &str) -> Result<RegionHandle<K, V>, CacheError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        Ok(RegionHandle::new(self.slot(name)?.typed(&self.inner)?))
    }

    fn linked_slot<R: CacheRegion>(&self) -> Option<Arc<Slot>> {
        let id = self.inner.linked?.id_of::<R>()?;
        let table = self.inner.read();
        let slot = table.slots.get(id.index())?;
        // The slot mirrors the registry unless a hand registration shadowed
        // nothing: check the name to be sure.
        (*slot.name == *R::DESCRIPTOR.name()).then(|| Arc::clone(slot))
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, CacheError> {
        let table = self.inner.read();
        match table.by_name.get(name) {
            Some(index) => Ok(Arc::clone(&table.slots[*index])),
            None => Err(CacheError::UnknownRegion {
                name: name.to_owned(),
                suggestion: {
                    // Sorted, so that a tie always suggests the same name.
                    let mut names: Vec<&str> = table.by_name.keys().map(|name| &**name).collect();
                    names.sort_unstable();
                    cache_spec::suggest::closest(name, names.into_iter()).map(str::to_owned)
                },
            }),
        }
    }

    /// Adds a region at run time; announced with [`EventKind::RegionAdded`].
    ///
    /// # Errors
    ///
    /// [`CacheError::Register`] when a region of that name exists.
    pub fn add_region(&self, descriptor: RegionDescriptor) -> Result<(), CacheError> {
        self.add(descriptor, None).map(drop)
    }

    /// Adds a region at run time with the codecs of its key and value types
    /// (so tools can read it as JSON and it can live on disk).
    ///
    /// # Errors
    ///
    /// [`CacheError::Register`] when a region of that name exists.
    pub fn add_region_with<K, V>(
        &self,
        descriptor: RegionDescriptor,
        codecs: RegionCodecs<K, V>,
    ) -> Result<(), CacheError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.add(descriptor, Some(RegionKit::new(codecs))).map(drop)
    }

    fn add(
        &self,
        descriptor: RegionDescriptor,
        kit: Option<RegionKit>,
    ) -> Result<Arc<Slot>, CacheError> {
        let name = descriptor.name().to_owned();
        let slot = {
            let mut table = self.inner.write();
            if table.by_name.contains_key(name.as_str()) {
                return Err(CacheError::Register {
                    region: name,
                    reason: String::from("a region of that name is already in the manager"),
                });
            }
            let stats = table
                .pending
                .remove(name.as_str())
                .unwrap_or_else(|| self.inner.new_stats(&name));
            let settings = self.inner.effective(&descriptor)?;
            let slot = Inner::new_slot(descriptor, kit, stats, settings);
            table.push(Arc::clone(&slot));
            slot
        };
        self.inner
            .events
            .send(&slot.name, EventKind::RegionAdded, None);
        Ok(slot)
    }

    fn store(&self, name: &str) -> Result<Option<Arc<dyn ErasedStore>>, CacheError> {
        self.slot(name)?.erased(&self.inner)
    }

    /// The names of the regions, in name order.
    pub fn region_names(&self) -> Vec<String> {
        let table = self.inner.read();
        let mut names: Vec<String> = table
            .slots
            .iter()
            .map(|slot| slot.name.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    /// The descriptor of the region called `name`.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn descriptor(&self, name: &str) -> Result<RegionDescriptor, CacheError> {
        Ok(self.slot(name)?.descriptor.clone())
    }

    /// The key and value types of the region called `name`, as the
    /// declaration spells them or, for a region registered by hand with
    /// codecs, as `std::any::type_name` does; `None` for a region whose
    /// types are not known yet (registered without codecs, never opened).
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn type_names(&self, name: &str) -> Result<Option<(String, String)>, CacheError> {
        let slot = self.slot(name)?;
        let descriptor = &slot.descriptor;
        if let (Some(key), Some(value)) = (descriptor.key_type(), descriptor.value_type()) {
            return Ok(Some((key.to_owned(), value.to_owned())));
        }
        Ok(slot.kit().map(|kit| {
            let (key, value) = kit.type_names();
            (key.to_owned(), value.to_owned())
        }))
    }

    /// The value of `key` (given as JSON, or as its text form in a JSON
    /// string) in region `name`, as JSON; counted like a typed get.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::Sensitive`],
    /// [`CacheError::BadKey`], [`CacheError::NotSerializable`].
    pub async fn get_json(&self, name: &str, key: &Value) -> Result<Option<Value>, CacheError> {
        match self.store(name)? {
            Some(store) => store.get_json(key).await,
            None => Ok(None),
        }
    }

    /// The state of the Redis connection; `None` without one.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_health(&self) -> Option<crate::redis_tier::RedisHealth> {
        self.inner.redis.as_ref().map(|redis| redis.link.health())
    }

    /// The backplane's counters; `None` without Redis or with the backplane
    /// off.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn backplane_stats(&self) -> Option<crate::redis_tier::BackplaneStats> {
        self.inner
            .redis
            .as_ref()
            .and_then(|redis| redis.backplane.as_ref())
            .map(|backplane| backplane.stats())
    }

    /// Region `name`'s counters summed over every instance that flushes
    /// them ([`RedisConfig::fleet_stats`](crate::redis::RedisConfig::fleet_stats)).
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::Redis`], or
    /// [`CacheError::TierUnavailable`] without Redis.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn fleet_stats(
        &self,
        name: &str,
    ) -> Result<crate::redis_tier::FleetStats, CacheError> {
        let slot = self.slot(name)?;
        let redis = self.redis_or_refuse(name)?;
        redis
            .link
            .enter(crate::redis_tier::Fleet::read(&redis.link, &slot.name))
            .await
            .map_err(|source| CacheError::Redis {
                region: name.to_owned(),
                source,
            })
    }

    /// Adds this instance's counters to the fleet's now (also done every
    /// [`RedisConfig::fleet_stats`](crate::redis::RedisConfig::fleet_stats) period).
    ///
    /// # Errors
    ///
    /// [`CacheError::Redis`] (the counts are sent by the next flush), or
    /// [`CacheError::TierUnavailable`] without Redis.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn flush_fleet_stats(&self) -> Result<(), CacheError> {
        let redis = self.redis_or_refuse("(fleet statistics)")?;
        self.refresh_gauges();
        let snapshots = self.inner.stats_registry().snapshots();
        redis
            .link
            .enter(redis.fleet.flush(&redis.link, &snapshots))
            .await
            .map_err(|source| CacheError::Redis {
                region: String::from("(fleet statistics)"),
                source,
            })
    }

    /// Clears region `name` (the keys matching `pattern`, or all of it) on
    /// this instance and on every other instance sharing this manager's
    /// Redis, through the backplane: the others clear their own copy (a
    /// memory level, a disk level; a shared Redis level is cleared once
    /// here and finds nothing left there) and answer within `wait`.
    ///
    /// Only instances whose backplane is subscribed at that moment are
    /// reached; [`FleetClear::reached`](crate::redis::FleetClear::reached)
    /// says how many, `answers` who answered and what each removed.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`]; what a local clear reports;
    /// [`CacheError::TierUnavailable`] without Redis or with the
    /// backplane off; [`CacheError::Redis`] when the request cannot be
    /// published or this instance is not subscribed (the local clear is
    /// done by then).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub async fn clear_fleet(
        &self,
        name: &str,
        pattern: Option<&str>,
        wait: Duration,
    ) -> Result<crate::redis_tier::FleetClear, CacheError> {
        let slot = self.slot(name)?;
        let backplane = self
            .inner
            .redis
            .as_ref()
            .and_then(|redis| Some((redis, redis.backplane.as_ref()?)))
            .ok_or_else(|| CacheError::TierUnavailable {
                region: name.to_owned(),
                tier: "redis",
                reason: "a fleet clear travels on the Redis backplane: build the manager with CacheManagerBuilder::redis(RedisConfig::new(url)) and keep its backplane on",
            });
        let (redis, backplane) = backplane?;
        let removed = match pattern {
            Some(pattern) => self.clear_matching(name, pattern).await?,
            None => self.clear_region(name).await?,
        };
        let (reached, answers) = redis
            .link
            .enter(backplane.fleet_clear(&slot.name, pattern, wait))
            .await
            .map_err(|source| CacheError::Redis {
                region: name.to_owned(),
                source,
            })?;
        Ok(crate::redis_tier::FleetClear {
            region: name.to_owned(),
            pattern: pattern.map(str::to_owned),
            instance: backplane.instance().to_owned(),
            removed,
            reached,
            answers,
        })
    }

    /// Documents and leases kept in the manager's Redis under its prefix,
    /// shared by every instance on that Redis (`None` without Redis): what
    /// tools built on the manager use to share state and pick one
    /// instance for a job.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_documents(&self) -> Option<crate::redis_tier::SharedDocuments> {
        self.inner.redis.as_ref().map(|redis| {
            crate::redis_tier::SharedDocuments::new(Arc::clone(&redis.link), redis.holder.clone())
        })
    }

    #[cfg(feature = "redis")]
    fn redis_or_refuse(&self, region: &str) -> Result<&RedisShared, CacheError> {
        self.inner
            .redis
            .as_ref()
            .ok_or_else(|| CacheError::TierUnavailable {
                region: region.to_owned(),
                tier: "redis",
                reason: "fleet statistics live in Redis: build the manager with CacheManagerBuilder::redis(RedisConfig::new(url).fleet_stats(every))",
            })
    }

    /// Removes `key` from region `name`; whether it was cached.
    ///
    /// # Errors
    ///
    /// As [`get_json`](Self::get_json), sensitivity aside.
    pub async fn remove(&self, name: &str, key: &Value) -> Result<bool, CacheError> {
        match self.store(name)? {
            Some(store) => store.remove_json(key).await,
            None => Ok(false),
        }
    }

    /// Removes every entry of region `name`; how many there were.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::Disk`].
    pub async fn clear_region(&self, name: &str) -> Result<u64, CacheError> {
        match self.store(name)? {
            Some(store) => store.clear().await,
            None => Ok(0),
        }
    }

    /// Removes the entries of region `name` whose key's text form matches
    /// `pattern` (Redis' glob, byte for byte, on every tier: `*`, `?` one
    /// byte, `[...]`, `[^...]`, `\` escapes; see [`Glob::key`](crate::disk::Glob::key)); how many.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::NotSerializable`],
    /// [`CacheError::Disk`].
    pub async fn clear_matching(&self, name: &str, pattern: &str) -> Result<u64, CacheError> {
        match self.store(name)? {
            Some(store) => store.clear_matching(pattern).await,
            None => Ok(0),
        }
    }

    /// One page of region `name`'s entries, for browsing.
    ///
    /// # Errors
    ///
    /// [`CacheError::Sensitive`] (sensitive regions refuse),
    /// [`CacheError::UnknownRegion`], [`CacheError::BadCursor`],
    /// [`CacheError::NotSerializable`].
    pub async fn entries(&self, name: &str, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        let slot = self.slot(name)?;
        if slot.settings().sensitive {
            return Err(CacheError::Sensitive {
                region: name.to_owned(),
                action: "listed",
            });
        }
        match slot.erased(&self.inner)? {
            Some(store) => store.entries(query).await,
            None => Ok(EntryPage::default()),
        }
    }

    /// [`get_json`](Self::get_json), blocking.
    ///
    /// # Errors
    ///
    /// As [`get_json`](Self::get_json).
    pub fn get_json_blocking(&self, name: &str, key: &Value) -> Result<Option<Value>, CacheError> {
        crate::block_on::block_on(self.get_json(name, key))
    }

    /// [`remove`](Self::remove), blocking.
    ///
    /// # Errors
    ///
    /// As [`remove`](Self::remove).
    pub fn remove_blocking(&self, name: &str, key: &Value) -> Result<bool, CacheError> {
        crate::block_on::block_on(self.remove(name, key))
    }

    /// [`clear_region`](Self::clear_region), blocking.
    ///
    /// # Errors
    ///
    /// As [`clear_region`](Self::clear_region).
    pub fn clear_region_blocking(&self, name: &str) -> Result<u64, CacheError> {
        crate::block_on::block_on(self.clear_region(name))
    }

    /// [`clear_matching`](Self::clear_matching), blocking.
    ///
    /// # Errors
    ///
    /// As [`clear_matching`](Self::clear_matching).
    pub fn clear_matching_blocking(&self, name: &str, pattern: &str) -> Result<u64, CacheError> {
        crate::block_on::block_on(self.clear_matching(name, pattern))
    }

    /// [`entries`](Self::entries), blocking.
    ///
    /// # Errors
    ///
    /// As [`entries`](Self::entries).
    pub fn entries_blocking(
        &self,
        name: &str,
        query: &EntryQuery,
    ) -> Result<EntryPage, CacheError> {
        crate::block_on::block_on(self.entries(name, query))
    }

    /// Re-runs region `name`'s registered loader for `keys` (every cached
    /// key with `None`); without a loader, removes them.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::BadKey`].
    pub async fn refresh(
        &self,
        name: &str,
        keys: Option<Vec<Value>>,
    ) -> Result<RefreshReport, CacheError> {
        match self.store(name)? {
            Some(store) => store.refresh(keys).await,
            None => Ok(RefreshReport::default()),
        }
    }

    /// Region `name`'s statistics, with its entry count and size updated.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn stats(&self, name: &str) -> Result<StatsSnapshot, CacheError> {
        let slot = self.slot(name)?;
        slot.update_gauges();
        Ok(slot.stats.snapshot())
    }

    /// Region `name`'s metric history over `range` (10 s points for the
    /// last hour, 1 min points for the last day), oldest first; restored
    /// from the statistics file with the counters.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn stats_history(
        &self,
        name: &str,
        range: crate::stats::HistoryRange,
    ) -> Result<Vec<crate::stats::HistoryPoint>, CacheError> {
        let slot = self.slot(name)?;
        Ok(slot.stats.history(range))
    }

    /// Every region's statistics, in name order.
    pub fn all_stats(&self) -> Vec<StatsSnapshot> {
        self.refresh_gauges();
        self.inner.stats_registry().snapshots()
    }

    /// The Prometheus text exposition of every region's statistics.
    ///
    /// Besides the statistics registry's families, it has what only the
    /// manager knows: `cache_region_info`, `cache_max_entries` /
    /// `cache_max_bytes`, and the per-tier families
    /// (`cache_tier_gets_total`, `cache_tier_writes_total`,
    /// `cache_tier_errors_total`, `cache_tier_operation_duration_seconds`).
    pub fn prometheus(&self) -> String {
        self.refresh_gauges();
        let slots: HashMap<Arc<str>, Arc<Slot>> = self
            .inner
            .read()
            .slots
            .iter()
            .map(|slot| (Arc::clone(&slot.name), Arc::clone(slot)))
            .collect();
        let info = |name: &str| {
            let slot = slots.get(name)?;
            let settings = slot.settings();
            Some(RegionInfo {
                tier: settings.tier.as_str(),
                memory: matches!(settings.tier, Tier::Memory | Tier::Hybrid),
                second: slot.store.get().and_then(|store| store.second_name()),
                sensitive: settings.sensitive,
                max_entries: settings.max_entries,
                max_bytes: settings.max_bytes,
            })
        };
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self
            .inner
            .stats_registry()
            .write_prometheus_with(&mut out, &info);
        out
    }

    /// What restoring the [`stats_file`](CacheManagerBuilder::stats_file)
    /// found when the manager was built (`None` without a statistics file):
    /// worth a log line at start-up.
    pub fn stats_restore(&self) -> Option<&RestoreOutcome> {
        self.inner.restored.as_ref()
    }

    /// The statistics of every region, for exports and persistence.
    pub fn stats_registry(&self) -> Arc<StatsRegistry> {
        self.inner.stats_registry()
    }

    fn refresh_gauges(&self) {
        for slot in self.inner.read().slots.iter() {
            slot.update_gauges();
        }
    }

    /// Events of every region: inserts, removals, evictions with their
    /// cause, clears, refreshes, regions added. A receiver that falls more
    /// than the channel's capacity behind loses the oldest events (and is
    /// told how many with `RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.inner.events.subscribe()
    }

    /// Runs every open region's pending memory-tier maintenance.
    pub fn run_pending_tasks(&self) {
        for slot in self.inner.read().slots.iter() {
            if let Some(store) = slot.store.get() {
                store.run_pending_tasks();
            }
        }
    }

    /// Cleans up region `name`'s second level (see
    /// [`RegionHandle::cleanup`]): on the disk tier, expired and damaged
    /// files; `None` without a second level or with nothing to clean.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`], [`CacheError::Disk`].
    pub fn cleanup(&self, name: &str) -> Result<Option<CleanupReport>, CacheError> {
        match self.store(name)? {
            Some(store) => store.cleanup(),
            None => Ok(None),
        }
    }

    /// Waits until every acknowledged write is durable (the disk tier's
    /// write-behind queues, a backend's [`flush`](crate::backend::Backend::flush)).
    ///
    /// # Errors
    ///
    /// The first region whose acknowledged writes failed.
    pub fn flush(&self) -> Result<(), CacheError> {
        let slots: Vec<Arc<Slot>> = self.inner.read().slots.clone();
        for slot in slots {
            if let Some(store) = slot.store.get() {
                store.flush()?;
            }
        }
        Ok(())
    }

    /// Flushes disk writes and saves the statistics (when a statistics
    /// file is set): call before exiting. Dropping the last clone of the
    /// manager does the same, without reporting errors.
    ///
    /// # Errors
    ///
    /// A failed disk flush; a failed final statistics save
    /// ([`CacheError::StatsSave`]).
    pub fn shutdown(&self) -> Result<(), CacheError> {
        self.flush()?;
        let worker = self
            .inner
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            worker.shutdown().map_err(|source| CacheError::StatsSave {
                path: self.inner.stats_file.clone().unwrap_or_default(),
                source,
            })?;
        }
        Ok(())
    }
}

impl fmt::Debug for CacheManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheManager")
            .field("regions", &self.inner.read().slots.len())
            .field("disk_root", &self.inner.disk_root)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A region's effective settings under the configuration in force,
    /// checked (a region added at run time takes the overrides kept for
    /// its name).
    fn effective(&self, descriptor: &RegionDescriptor) -> Result<RegionSettings, CacheError> {
        let settled = config::layers::settle(
            &mut self
                .config
                .layers
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            descriptor,
            config::layers::CheckContext {
                running: false,
                redis: self.redis.is_some(),
                backends: &self.backends,
            },
        );
        match settled {
            Ok((settings, set_aside)) => {
                self.config.warn(set_aside);
                Ok(settings)
            }
            Err(problems) => Err(CacheError::Config(config::ConfigError::Invalid {
                problems,
            })),
        }
    }

    fn new_stats(&self, name: &str) -> Arc<RegionStats> {
        Arc::new(RegionStats::with_settings(
            name.to_owned(),
            &self.stats_settings,
        ))
    }

    fn new_slot(
        descriptor: RegionDescriptor,
        kit: Option<RegionKit>,
        stats: Arc<RegionStats>,
        settings: RegionSettings,
    ) -> Arc<Slot> {
        let name: Arc<str> = Arc::from(descriptor.name());
        Arc::new(Slot {
            stats,
            name,
            descriptor,
            settings: RwLock::new(settings),
            kit,
            store: OnceLock::new(),
            opening: Mutex::new(()),
        })
    }

    /// Every region's statistics, for exports (rebuilt here if regions
    /// were added since).
    fn stats_registry(&self) -> Arc<StatsRegistry> {
        current_registries(&self.table, &self.stats_settings).0
    }

    /// A statistics thread that follows the regions as they are added.
    fn spawn_worker(&self) -> Option<StatsWorker> {
        let (table, settings) = (Arc::clone(&self.table), self.stats_settings.clone());
        let slots = Arc::clone(&table);
        let mut builder =
            StatsWorker::following(Arc::new(move || current_registries(&table, &settings).1))
                // The history's points carry the gauges of their step's end.
                .refresh_gauges(
                    Arc::new(move || {
                        let open: Vec<Arc<Slot>> = slots
                            .read()
                            .unwrap_or_else(PoisonError::into_inner)
                            .slots
                            .clone();
                        for slot in open {
                            slot.update_gauges();
                        }
                    }),
                    Duration::from_secs(5),
                );
        if let Some(path) = &self.stats_file {
            builder = builder.save_to(path).save_every(self.stats_save_every);
        }
        builder.spawn().ok()
    }
}

/// The table's statistics registries for exports and for saving, rebuilt
/// first when regions were added since they were built.
fn current_registries(
    table: &RwLock<Table>,
    settings: &Settings,
) -> (Arc<StatsRegistry>, Arc<StatsRegistry>) {
    {
        let table = table.read().unwrap_or_else(PoisonError::into_inner);
        if !table.stale {
            return (Arc::clone(&table.stats), Arc::clone(&table.saved));
        }
    }
    let mut table = table.write().unwrap_or_else(PoisonError::into_inner);
    if table.stale {
        table.rebuild_stats(settings);
    }
    (Arc::clone(&table.stats), Arc::clone(&table.saved))
}

impl Table {
    /// Adds a region; its statistics join the registries on their next use.
    fn push(&mut self, slot: Arc<Slot>) {
        let index = self.slots.len();
        self.by_name.entry(Arc::clone(&slot.name)).or_insert(index);
        self.slots.push(slot);
        self.stale = true;
    }

    fn rebuild_stats(&mut self, settings: &Settings) {
        self.stale = false;
        let stats = self
            .slots
            .iter()
            .map(|slot| Arc::clone(&slot.stats))
            .collect();
        self.stats = Arc::new(StatsRegistry::from_shared(
            stats,
            Arc::clone(&settings.clock),
        ));
        let saved = self
            .slots
            .iter()
            .map(|slot| Arc::clone(&slot.stats))
            .chain(self.pending.values().cloned())
            .collect();
        self.saved = Arc::new(StatsRegistry::from_shared(
            saved,
            Arc::clone(&settings.clock),
        ));
    }
}

/// Builds a [`CacheManager`]; see [`CacheManager::builder`].
#[must_use]
pub struct CacheManagerBuilder {
    linked: bool,
    regions: Vec<(RegionDescriptor, Option<RegionKit>)>,
    disk_root: Option<PathBuf>,
    write_behind: usize,
    temp_grace: Option<Duration>,
    value_format: ValueFormat,
    event_capacity: usize,
    sampling: Sampling,
    clock: Arc<dyn Clock>,
    stats_file: Option<PathBuf>,
    stats_retention: Duration,
    stats_save_every: Duration,
    background: bool,
    #[cfg(feature = "redis")]
    redis: Option<crate::redis_tier::RedisConfig>,
    fail_safe: HashMap<String, Duration>,
    config_file: Option<PathBuf>,
    config_poll: Option<Duration>,
    env_prefix: Option<String>,
    env_vars: Option<Vec<(String, String)>>,
    config_state: Option<PathBuf>,
    config_history: usize,
    backends: crate::backend::Backends,
}

impl Default for CacheManagerBuilder {
    fn default() -> CacheManagerBuilder {
        CacheManagerBuilder {
            linked: true,
            regions: Vec::new(),
            disk_root: None,
            write_behind: 1024,
            temp_grace: None,
            value_format: ValueFormat::Binary,
            event_capacity: 1024,
            sampling: Sampling::default(),
            clock: Arc::new(SystemClock),
            stats_file: None,
            stats_retention: Duration::from_secs(7 * 24 * 3600),
            stats_save_every: Duration::from_secs(60),
            background: true,
            #[cfg(feature = "redis")]
            redis: None,
            fail_safe: HashMap::new(),
            config_file: None,
            config_poll: Some(Duration::from_secs(1)),
            env_prefix: Some(String::from(config::env::DEFAULT_PREFIX)),
            env_vars: None,
            config_state: None,
            config_history: 1_000,
            backends: crate::backend::Backends::default(),
        }
    }
}

impl fmt::Debug for CacheManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheManagerBuilder")
            .field("linked", &self.linked)
            .field("regions", &self.regions.len())
            .field("disk_root", &self.disk_root)
            .field("write_behind", &self.write_behind)
            .finish_non_exhaustive()
    }
}

impl CacheManagerBuilder {
    /// Leaves out the regions the linker collected: only those registered
    /// with [`region`](Self::region) (and added later) are managed.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().without_linked_regions().build()?;
    /// assert!(manager.region_names().is_empty());
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn without_linked_regions(mut self) -> CacheManagerBuilder {
        self.linked = false;
        self
    }

    /// Registers a region by hand; its key and value types are fixed by the
    /// first [`CacheManager::region_named`] call.
    ///
    /// ```
    /// # use cache_runtime::{CacheManager, RegionDescriptor};
    /// let sessions = RegionDescriptor::builder("doc-sessions").max_entries(100).build()?;
    /// let manager = CacheManager::builder().region(sessions).build()?;
    /// let handle = manager.region_named::<u64, String>("doc-sessions")?;
    /// handle.insert_blocking(1, "s1".into());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn region(mut self, descriptor: RegionDescriptor) -> CacheManagerBuilder {
        self.regions.push((descriptor, None));
        self
    }

    /// Registers a region by hand with its codecs (serde for tools and the
    /// disk tier).
    ///
    /// ```
    /// # use cache_runtime::{CacheManager, RegionDescriptor, manager::RegionCodecs};
    /// let users = RegionDescriptor::builder("doc-users").build()?;
    /// let manager = CacheManager::builder()
    ///     .region_with(users, RegionCodecs::<u64, String>::serde())
    ///     .build()?;
    /// manager.region_named::<u64, String>("doc-users")?.insert_blocking(7, "Ada".into());
    /// assert_eq!(manager.get_json_blocking("doc-users", &7.into())?, Some("Ada".into()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn region_with<K, V>(
        mut self,
        descriptor: RegionDescriptor,
        codecs: RegionCodecs<K, V>,
    ) -> CacheManagerBuilder
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        self.regions
            .push((descriptor, Some(RegionKit::new(codecs))));
        self
    }

    /// The folder under which disk and hybrid regions keep one folder each
    /// (default: `$XDG_CACHE_HOME/cache-runtime/regions/<program>`, or
    /// under `~/.cache`, or the temporary folder).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder()
    ///     .disk_root(std::env::temp_dir().join("my-service-cache"))
    ///     .build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn disk_root(mut self, folder: impl Into<PathBuf>) -> CacheManagerBuilder {
        self.disk_root = Some(folder.into());
        self
    }

    /// The capacity of each disk region's write-behind queue (default
    /// 1,024): writes return once queued, a full queue makes writers wait,
    /// reads see queued writes, and [`CacheManager::shutdown`] (or drop)
    /// writes out everything acknowledged. `0` writes on the caller's
    /// thread.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().write_behind(0).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn write_behind(mut self, capacity: usize) -> CacheManagerBuilder {
        self.write_behind = capacity;
        self
    }

    /// Persists values with postcard, a compact serde binary format: the
    /// default. A value whose type postcard cannot carry (one that does not
    /// read back as the same bytes: `skip_serializing_if`, `flatten`,
    /// untagged enums, `serde_json::Value`) is written as JSON instead; the
    /// envelope records which, and reads accept both, so entries written
    /// with [`json_values`](CacheManagerBuilder::json_values) stay readable.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().compact_binary_values().build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn compact_binary_values(mut self) -> CacheManagerBuilder {
        self.value_format = ValueFormat::Binary;
        self
    }

    /// Persists values as serde_json text instead of postcard: larger and
    /// slower to read, but readable by other tools looking at the disk
    /// files or Redis values. Entries written in postcard stay readable.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().json_values().build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn json_values(mut self) -> CacheManagerBuilder {
        self.value_format = ValueFormat::Json;
        self
    }

    /// How old an orphaned temporary file (left by a process killed while
    /// writing) must be before [`CacheManager::cleanup`] removes it, so that
    /// another process's write in progress is never taken for one (default:
    /// the disk store's, 10 minutes).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().disk_temp_grace(Duration::from_secs(60)).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn disk_temp_grace(mut self, grace: Duration) -> CacheManagerBuilder {
        self.temp_grace = Some(grace);
        self
    }

    /// How many events a [`subscribe`](CacheManager::subscribe)r may fall
    /// behind before losing the oldest (default 1,024).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().event_capacity(16).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn event_capacity(mut self, capacity: usize) -> CacheManagerBuilder {
        self.event_capacity = capacity;
        self
    }

    /// Times one get in `every` for the latency histograms, however busy
    /// the region (see
    /// [`StatsRegistryBuilder::latency_sample_every`](crate::stats::StatsRegistryBuilder::latency_sample_every));
    /// the default is [`latency_samples_per_second`](CacheManagerBuilder::latency_samples_per_second).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().latency_sample_every(1).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn latency_sample_every(mut self, every: u32) -> CacheManagerBuilder {
        self.sampling = Sampling::Every(every);
        self
    }

    /// Times about `per_second` gets a second in each region for the
    /// latency histograms (default 1,000): all of a quiet region's, a
    /// share of a busy one's, re-rated every second (see
    /// [`StatsRegistryBuilder::latency_samples_per_second`](crate::stats::StatsRegistryBuilder::latency_samples_per_second)).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().latency_samples_per_second(200).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn latency_samples_per_second(mut self, per_second: u32) -> CacheManagerBuilder {
        self.sampling = Sampling::PerSecond(per_second);
        self
    }

    /// The clock that dates statistics windows and saved statistics.
    ///
    /// ```
    /// # use cache_runtime::{CacheManager, stats::ManualClock};
    /// let manager = CacheManager::builder().stats_clock(ManualClock::new(0)).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn stats_clock(mut self, clock: impl Clock) -> CacheManagerBuilder {
        self.clock = Arc::new(clock);
        self
    }

    /// Restores the statistics saved in `path` when built (if younger than
    /// the retention), saves them there every
    /// [`stats_save_every`](Self::stats_save_every) and on shutdown.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// # let path = std::env::temp_dir().join(format!("doc-stats-{}.json", std::process::id()));
    /// let manager = CacheManager::builder().stats_file(&path).build()?;
    /// manager.shutdown()?; // saved
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn stats_file(mut self, path: impl Into<PathBuf>) -> CacheManagerBuilder {
        self.stats_file = Some(path.into());
        self
    }

    /// How old saved statistics may be to be restored (default 7 days).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().stats_retention(Duration::from_secs(3600)).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn stats_retention(mut self, retention: Duration) -> CacheManagerBuilder {
        self.stats_retention = retention;
        self
    }

    /// How often statistics are saved to the [`stats_file`](Self::stats_file)
    /// (default a minute).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().stats_save_every(Duration::from_secs(10)).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn stats_save_every(mut self, every: Duration) -> CacheManagerBuilder {
        self.stats_save_every = every;
        self
    }

    /// Whether to run the statistics thread (ticking windows every second,
    /// saving to the statistics file). Default on; off, windows advance
    /// only when snapshots are taken and nothing is saved but by
    /// [`StatsRegistry::save`].
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let manager = CacheManager::builder().background_stats(false).build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    pub fn background_stats(mut self, on: bool) -> CacheManagerBuilder {
        self.background = on;
        self
    }

    /// Connects the manager to Redis (feature `redis`): `redis` regions
    /// store there, and `hybrid` regions become memory over Redis (instead
    /// of memory over disk), kept coherent across instances by the
    /// backplane. Nothing is opened until first use: a manager builds and
    /// serves its memory regions while Redis is down.
    ///
    /// ```no_run
    /// use cache_runtime::{CacheManager, redis::RedisConfig};
    ///
    /// let manager = CacheManager::builder()
    ///     .redis(RedisConfig::new("redis://127.0.0.1:6379").prefix("shop"))
    ///     .build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(mut self, config: crate::redis_tier::RedisConfig) -> CacheManagerBuilder {
        self.redis = Some(config);
        self
    }

    /// Fail-safe for the region `name`: an entry whose TTL ran out stays in
    /// memory for `grace` more, and is served (counted as `stale_served`)
    /// when Redis fails or the loader fails, instead of an error or a
    /// miss. Fresh reads still go to Redis and the loader first.
    pub fn fail_safe(mut self, name: impl Into<String>, grace: Duration) -> CacheManagerBuilder {
        self.fail_safe.insert(name.into(), grace);
        self
    }

    /// Reads region settings from a TOML file (a `[regions.<name>]` table
    /// per region; see the README), above config providers and below the
    /// environment. The file is watched: an edit is checked and applied as
    /// a new configuration version; a bad edit is rejected (an
    /// [`EventKind::ConfigRejected`] event, [`CacheManager::config_warnings`])
    /// and the running configuration stays.
    ///
    /// ```
    /// # use cache_runtime::{CacheManager, RegionDescriptor};
    /// # let dir = std::env::temp_dir().join(format!("doc-config-file-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("cache.toml");
    /// std::fs::write(&path, "[regions.doc-file-models]\nttl = \"10m\"\n")?;
    /// let manager = CacheManager::builder()
    ///     .without_linked_regions()
    ///     .region(RegionDescriptor::builder("doc-file-models").build()?)
    ///     .config_file(&path)
    ///     .config_state_file(dir.join("state.json"))
    ///     .build()?;
    /// assert_eq!(manager.settings("doc-file-models")?.ttl, Some(std::time::Duration::from_secs(600)));
    /// # drop(manager);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> CacheManagerBuilder {
        self.config_file = Some(path.into());
        self
    }

    /// How often the [`config_file`](Self::config_file) is checked for
    /// edits (default every second; `None`: never, call
    /// [`CacheManager::reload_config_file`] instead).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder().config_file_poll(Some(Duration::from_millis(200)));
    /// ```
    pub fn config_file_poll(mut self, every: Option<Duration>) -> CacheManagerBuilder {
        self.config_poll = every;
        self
    }

    /// The prefix of configuration environment variables (default
    /// `CACHE_REGION__`: `CACHE_REGION__MODEL_METADATA__TTL=10m`).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder().config_env_prefix("SHOP_CACHE__");
    /// ```
    pub fn config_env_prefix(mut self, prefix: impl Into<String>) -> CacheManagerBuilder {
        self.env_prefix = Some(prefix.into());
        self
    }

    /// Reads configuration variables from `vars` instead of the process
    /// environment (for tests, or a program that gathers them itself).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder()
    ///     .config_env_vars([("CACHE_REGION__SESSIONS__TTL".to_string(), "5m".to_string())]);
    /// ```
    pub fn config_env_vars(
        mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> CacheManagerBuilder {
        self.env_vars = Some(vars.into_iter().collect());
        self
    }

    /// Ignores configuration environment variables.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder().without_config_env();
    /// ```
    pub fn without_config_env(mut self) -> CacheManagerBuilder {
        self.env_prefix = None;
        self
    }

    /// Where run-time overrides and the audit trail are kept when the
    /// manager has no Redis connection (default:
    /// `config-state.json` in the [`disk_root`](Self::disk_root)). With
    /// Redis they are kept there, shared by every instance.
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder().config_state_file("/var/lib/my-service/cache-config.json");
    /// ```
    pub fn config_state_file(mut self, path: impl Into<PathBuf>) -> CacheManagerBuilder {
        self.config_state = Some(path.into());
        self
    }

    /// How many audit records are kept (default 1,000; older versions can
    /// no longer be rolled back to).
    ///
    /// ```
    /// # use cache_runtime::CacheManager;
    /// let builder = CacheManager::builder().config_history(100);
    /// ```
    pub fn config_history(mut self, keep: usize) -> CacheManagerBuilder {
        self.config_history = keep.max(1);
        self
    }

    /// Registers a storage backend as `name`: regions declared with
    /// `#[custom_cache_region(backend = "name")]`, or configured with
    /// `backend = "name"`, keep their entries in what `factory` makes for
    /// them (one [`Backend`](crate::backend::Backend) per region, made when
    /// the region opens). A second registration of a name replaces the
    /// first.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// use cache_runtime::CacheManager;
    /// use cache_runtime::backend::{Backend, BackendContext, BackendError};
    /// use cache_runtime::disk::{DiskBackend, DiskStore};
    ///
    /// let root = std::env::temp_dir().join("doc-backend");
    /// let manager = CacheManager::builder()
    ///     .backend("local-files", move |context: &BackendContext<'_>| {
    ///         let store = DiskStore::open(root.join(context.region()))
    ///             .map_err(|error| BackendError::Other(error.into()))?;
    ///         Ok(Arc::new(DiskBackend::new(store)) as Arc<dyn Backend>)
    ///     })
    ///     .build()?;
    /// # Ok::<(), cache_runtime::CacheError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// When `name` is not a valid backend name (lowercase kebab-case, at
    /// most 64 bytes), or is `"none"` (which configuration reads as "no
    /// backend").
    pub fn backend(
        mut self,
        name: &str,
        factory: impl crate::backend::BackendFactory,
    ) -> CacheManagerBuilder {
        if let Err(error) = cache_spec::validate_name(name) {
            panic!("CacheManagerBuilder::backend: {name:?} is not a backend name: {error}");
        }
        assert!(
            name != "none",
            "CacheManagerBuilder::backend: \"none\" means \"no backend\" in configuration; pick another name"
        );
        self.backends.insert(name, Arc::new(factory));
        self
    }

    /// Builds the manager. Regions' tiers open on first use.
    ///
    /// # Errors
    ///
    /// [`CacheError::Register`] when the link-time registry has duplicate
    /// names or a hand-registered region's name is taken;
    /// [`CacheError::Config`] when a config provider fails, or the config
    /// file, the environment or the builder's settings are invalid (every
    /// problem listed), or the saved configuration cannot be read.
    pub fn build(self) -> Result<CacheManager, CacheError> {
        let linked = if self.linked {
            Some(crate::try_registry().map_err(|error| CacheError::Register {
                region: String::from("(linked regions)"),
                reason: error.to_string(),
            })?)
        } else {
            None
        };
        let redis = redis_shared(&self)?;
        let disk_root = self.disk_root.unwrap_or_else(default_disk_root);
        // Every region, linked first (slot `i` is the registry's region `i`,
        // so a marker type's slot is found by address arithmetic).
        let mut regions: Vec<(RegionDescriptor, Option<RegionKit>)> = Vec::new();
        if let Some(registry) = linked {
            for index in 0..registry.len() {
                let descriptor = registry.descriptor(RegionId::from_index(index)).clone();
                regions.push((descriptor, None));
            }
        }
        for (descriptor, kit) in self.regions {
            if regions
                .iter()
                .any(|(known, _)| known.name() == descriptor.name())
            {
                return Err(CacheError::Register {
                    region: descriptor.name().to_owned(),
                    reason: String::from(
                        "a region of that name is already registered (declared or by hand)",
                    ),
                });
            }
            regions.push((descriptor, kit));
        }
        let setup = startup::Startup {
            linked,
            file: self.config_file.clone(),
            env_prefix: self.env_prefix.clone(),
            env_vars: self.env_vars.clone(),
            fail_safe: &self.fail_safe,
            state_file: self
                .config_state
                .clone()
                .unwrap_or_else(|| disk_root.join("config-state.json")),
            keep: self.config_history,
            redis: redis.as_ref(),
            backends: &self.backends,
        };
        let started = setup.run(&regions)?;
        let inner = Inner {
            table: Arc::new(RwLock::new(Table {
                slots: Vec::new(),
                by_name: HashMap::new(),
                stats: Arc::new(StatsRegistry::new(Vec::<String>::new())),
                pending: HashMap::new(),
                saved: Arc::new(StatsRegistry::new(Vec::<String>::new())),
                stale: false,
            })),
            linked,
            events: Events::new(self.event_capacity),
            disk_root,
            write_behind: self.write_behind,
            temp_grace: self.temp_grace,
            value_format: self.value_format,
            stats_settings: Settings::new(self.sampling, Arc::clone(&self.clock)),
            stats_file: self.stats_file,
            stats_save_every: self.stats_save_every,
            worker: Mutex::new(None),
            restored: None,
            redis,
            backends: self.backends,
            config: configure::ConfigRuntime {
                layers: RwLock::new(started.layers),
                version: std::sync::atomic::AtomicU64::new(started.version),
                state: started.state,
                lock: tokio::sync::Mutex::new(()),
                warnings: Mutex::new(started.warnings),
                instance: started.instance,
                watcher: Mutex::new(None),
            },
        };
        let mut inner = inner;
        {
            let mut table = inner.write();
            for ((descriptor, kit), settings) in regions.into_iter().zip(started.settings) {
                let stats = inner.new_stats(descriptor.name());
                let slot = Inner::new_slot(descriptor, kit, stats, settings);
                let index = table.slots.len();
                table.by_name.insert(Arc::clone(&slot.name), index);
                table.slots.push(slot);
            }
            table.rebuild_stats(&inner.stats_settings);
        }
        if let Some(path) = inner.stats_file.clone() {
            let outcome = inner.read().stats.restore(&path, self.stats_retention);
            if let RestoreOutcome::Restored { unknown, .. } = &outcome
                && !unknown.is_empty()
            {
                // Keep what the file says about regions added later.
                let pending: Vec<Arc<RegionStats>> =
                    unknown.iter().map(|name| inner.new_stats(name)).collect();
                StatsRegistry::from_shared(
                    pending.clone(),
                    Arc::clone(&inner.stats_settings.clock),
                )
                .restore(&path, self.stats_retention);
                let mut table = inner.write();
                for stats in pending {
                    table.pending.insert(Arc::from(stats.name()), stats);
                }
                table.rebuild_stats(&inner.stats_settings);
            }
            inner.restored = Some(outcome);
        }
        if self.background {
            let worker = inner.spawn_worker();
            *inner.worker.lock().unwrap_or_else(PoisonError::into_inner) = worker;
        }
        let inner = Arc::new(inner);
        #[cfg(feature = "redis")]
        start_fleet_flusher(&inner);
        #[cfg(feature = "redis")]
        answer_fleet_clears(&inner);
        if let (Some(path), Some(every)) = (self.config_file, self.config_poll) {
            configure::watch_file(&inner, path, every);
        }
        #[cfg(feature = "redis")]
        startup::follow_redis(&inner);
        Ok(CacheManager { inner })
    }
}

/// The Redis link (and backplane) the builder asks for.
#[cfg(feature = "redis")]
fn redis_shared(builder: &CacheManagerBuilder) -> Result<Option<RedisShared>, CacheError> {
    let Some(config) = &builder.redis else {
        return Ok(None);
    };
    let link = Arc::new(
        crate::redis_tier::RedisLink::open(config.clone())
            .map_err(|source| CacheError::RedisSetup { source })?,
    );
    let backplane = config
        .backplane
        .then(|| crate::redis_tier::Backplane::start(&link));
    Ok(Some(RedisShared {
        holder: format!(
            "{}/{}",
            startup::instance_name(),
            &crate::redis_tier::holder_id()[..8]
        ),
        link,
        backplane,
        fleet: Arc::default(),
    }))
}

/// Flushes the manager's counters to the fleet's every `every`, on the
/// Redis I/O thread, until the manager is dropped.
#[cfg(feature = "redis")]
fn start_fleet_flusher(inner: &Arc<Inner>) {
    let Some(redis) = &inner.redis else {
        return;
    };
    let Some(every) = redis.link.config().fleet_every else {
        return;
    };
    let weak = Arc::downgrade(inner);
    redis.link.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let snapshots = inner.stats_registry().snapshots();
            let Some(redis) = inner.redis.clone() else {
                return;
            };
            drop(inner);
            // A failure is retried by the next flush.
            let _ = redis.fleet.flush(&redis.link, &snapshots).await;
        }
    });
}

/// Runs the clears other instances ask for through the backplane on this
/// manager's regions, while the manager lives.
#[cfg(feature = "redis")]
fn answer_fleet_clears(inner: &Arc<Inner>) {
    let Some(backplane) = inner
        .redis
        .as_ref()
        .and_then(|redis| redis.backplane.as_ref())
    else {
        return;
    };
    let weak = Arc::downgrade(inner);
    backplane.set_clear_handler(Arc::new(move |region: String, pattern: Option<String>| {
        let weak = weak.clone();
        Box::pin(async move {
            let Some(inner) = weak.upgrade() else {
                return Err(String::from("the manager is shutting down"));
            };
            let manager = CacheManager { inner };
            let cleared = match &pattern {
                Some(pattern) => manager.clear_matching(&region, pattern).await,
                None => manager.clear_region(&region).await,
            };
            cleared.map_err(|error| error.to_string())
        })
    }));
}

#[cfg(not(feature = "redis"))]
fn redis_shared(_: &CacheManagerBuilder) -> Result<Option<RedisShared>, CacheError> {
    Ok(None)
}

/// `$XDG_CACHE_HOME/cache-runtime/regions/<program>`, else under
/// `~/.cache`, else the temporary folder.
fn default_disk_root() -> PathBuf {
    let program = startup::program_name();
    let base = crate::discovery_cache::cache_root(|name| std::env::var_os(name))
        .unwrap_or_else(|| std::env::temp_dir().join("cache-runtime"));
    base.join("regions").join(program)
}

#[cfg(test)]
// The attribute's linker statics carry `link_section`, which the crate's
// `unsafe_code = deny` rejects; users' crates allow it.
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use crate::cache_region;

    #[cache_region(name = "manager-unit-first", key = u64, value = String)]
    struct First;

    #[cache_region(name = "manager-unit-second", key = String, value = u32)]
    struct Second;

    #[test]
    fn manager_and_handles_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<CacheManager>();
        is::<RegionHandle<String, String>>();
    }

    #[tokio::test]
    async fn linked_regions_are_found_by_address_not_by_name() {
        let manager = CacheManager::builder()
            .background_stats(false)
            .build()
            .expect("manager");
        let first = manager.linked_slot::<First>().expect("slot of First");
        let second = manager.linked_slot::<Second>().expect("slot of Second");
        assert_eq!(&*first.name, "manager-unit-first");
        assert_eq!(&*second.name, "manager-unit-second");
        let handle = manager.region::<Second>().expect("handle");
        handle.insert_blocking("a".into(), 1);
        assert_eq!(
            manager
                .get_json("manager-unit-second", &"a".into())
                .await
                .ok()
                .flatten(),
            Some(1.into())
        );
    }
}
