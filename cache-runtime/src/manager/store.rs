//! [`RegionStore`]: one region's typed entries over its tiers, with
//! single-flight loads, statistics and events.

use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use cache_spec::{RegionSettings, Tier};

use super::entries::{EntryPage, EntryQuery, EntryView};
use super::error::CacheError;
use super::event::{EventKind, Events};
use super::flight::{Flights, Outcome};
use super::hybrid::Hybrid;
use super::levels::Levels;
use super::memory::{
    CHECKING, DISABLED, Entry, FAIL_SAFE, Freshness, ListenerBase, Live, MemoryLevel, clamp,
};
use super::policy_slot::PolicySlot;
use super::remote::{Announcer, RedisShared};
use super::second::{BackendLevel, BuiltIn, SecondError, SecondWrite};
use crate::backend::{Backend, BackendContext, Backends};
use crate::block_on::block_on;
use crate::descriptor::RegionDescriptor;
use crate::disk::{DiskBackend, DiskStore, Glob};
use crate::envelope::{Schema, ValueFormat};
use crate::kit::RegionCodecs;
use crate::policy::CachePolicy;
use crate::provider::BoxError;
use crate::stats::{GetTimer, RegionStats, TierEvent};

pub use crate::future::BoxFuture;

/// A region's registered loader: what `refresh` and `get_or_load` run.
pub(crate) type Loader<K, V> =
    Arc<dyn Fn(K) -> BoxFuture<'static, Result<V, BoxError>> + Send + Sync>;

/// Everything a store needs from its manager when it opens.
pub(crate) struct StoreContext {
    pub(crate) descriptor: RegionDescriptor,
    pub(crate) settings: RegionSettings,
    pub(crate) name: Arc<str>,
    pub(crate) stats: Arc<RegionStats>,
    pub(crate) events: Events,
    pub(crate) disk_root: PathBuf,
    pub(crate) write_behind: usize,
    pub(crate) temp_grace: Option<Duration>,
    pub(crate) value_format: ValueFormat,
    /// The manager's Redis connection, if it has one.
    pub(crate) redis: Option<RedisShared>,
    /// The storage backends registered on the manager, by name.
    pub(crate) backends: Backends,
}

/// What browsing entries needs: the key's text and the value's serde.
type Browsable<K, V> = (fn(&K) -> String, crate::kit::SerdeFns<V>);

/// What the memory level holds for a key.
enum Lookup<V> {
    Fresh(V),
    /// Expired, kept by the fail-safe grace.
    Stale(V),
    Absent,
}

/// The Redis write a single-flight's leader owes once its value is stored
/// locally (the flight's store step cannot wait).
struct PendingWrite(std::sync::Mutex<Option<SecondWrite>>);

impl Default for PendingWrite {
    fn default() -> PendingWrite {
        PendingWrite(std::sync::Mutex::new(None))
    }
}

impl PendingWrite {
    fn store<K, V>(&self, store: &RegionStore<K, V>, key: &K, value: &V)
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if let Stored::Remote(write) = store.store_local(key.clone(), value.clone(), None) {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(write);
        }
    }

    fn take(self) -> Option<SecondWrite> {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a get counts its own miss, or leaves it to a caller that knows
/// more (a single flight: loaded, or waited for).
#[derive(Clone, Copy)]
enum Miss {
    Count,
    Defer,
}

/// What storing a value did.
pub(crate) enum Stored {
    /// The policy refused it.
    Refused,
    /// Stored in the memory level, and that is all there is.
    Local,
    /// Stored in the memory level, if any; this still has to reach the
    /// second level (disk, Redis, a named backend).
    Remote(SecondWrite),
    /// The second level cannot take it (serde or the envelope refused it),
    /// and no memory level holds it: counted, announced, not stored.
    Failed(CacheError),
}

/// What a `refresh` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RefreshReport {
    /// Keys whose loader ran and whose new value was stored.
    pub reloaded: u64,
    /// Keys whose loader failed (their old value stays).
    pub failed: u64,
    /// Keys removed because the region has no loader, or because its
    /// policy refused the reloaded value.
    pub invalidated: u64,
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What applying new settings to a running store did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reconfigured {
    /// Whether the memory level was rebuilt (new limit or eviction policy).
    pub(crate) rebuilt: bool,
    /// Entries the rebuilt memory level kept.
    pub(crate) kept: u64,
    /// Entries it dropped to fit the new limit (counted as size evictions).
    pub(crate) dropped: u64,
}

/// One region's entries: a moka cache (memory and hybrid tiers) and a
/// second level over a [`Backend`] (the disk tier's folder, Redis, a named
/// backend), keyed and valued by the region's types.
///
/// Its settings can change while it runs ([`RegionStore::reconfigure`]):
/// the timing ones (TTL, memory TTL, TTI, fail-safe grace), `enabled` and
/// compression apply in place through [`Live`] and the levels' own live
/// values; the memory limits and eviction policy rebuild the memory level.
pub(crate) struct RegionStore<K, V> {
    pub(crate) name: Arc<str>,
    pub(crate) descriptor: RegionDescriptor,
    /// The settings in force (see [`RegionStore::settings`]).
    settings: RwLock<RegionSettings>,
    /// Fixed for the store's life (as `tier` and `version`, which only
    /// opening reads).
    sensitive: bool,
    /// The settings read on the hot paths, as atomics.
    live: Arc<Live>,
    /// A memory level, a second level (the disk tier's, Redis, a named
    /// backend) or both.
    pub(crate) levels: Levels<K, V>,
    /// The disk tier's folder, for a region on it.
    disk_dir: Option<PathBuf>,
    /// What the second level is (`disk`, `redis` or a backend's name), for
    /// the per-tier metrics.
    second_name: Option<&'static str>,
    /// One reconfiguration at a time.
    reconfiguring: Mutex<()>,
    pub(crate) stats: Arc<RegionStats>,
    pub(crate) events: Events,
    pub(crate) codecs: RegionCodecs<K, V>,
    pub(crate) flights: Flights<K, V>,
    policy: Arc<PolicySlot<K, V>>,
    loader: RwLock<Option<Loader<K, V>>>,
}

impl<K, V> RegionStore<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn open(
        context: &StoreContext,
        codecs: RegionCodecs<K, V>,
    ) -> Result<RegionStore<K, V>, CacheError> {
        let settings = context.settings;
        let name = Arc::clone(&context.name);
        let region = || name.to_string();
        let declared_policy = context
            .descriptor
            .policy()
            .and_then(|info| info.instantiate::<K, V>());
        let policy = Arc::new(PolicySlot::new(declared_policy));
        let sensitive = settings.sensitive;

        // A hybrid region's second level is its named backend when it has
        // one, else Redis when the manager has a connection, else the disk.
        let backend = match settings.tier {
            Tier::Backend | Tier::Hybrid => settings.backend,
            Tier::Memory | Tier::Disk | Tier::Redis => None,
        };
        let (wants_memory, wants_disk, wants_redis) = match settings.tier {
            Tier::Memory => (true, false, false),
            Tier::Disk => (false, true, false),
            Tier::Backend if backend.is_some() => (false, false, false),
            Tier::Backend => {
                return Err(CacheError::TierUnavailable {
                    region: region(),
                    tier: "backend",
                    reason: "names no backend: set backend = \"<name>\" (declared or configured), or use another tier",
                });
            }
            Tier::Hybrid if backend.is_some() => (true, false, false),
            Tier::Hybrid => (true, context.redis.is_none(), context.redis.is_some()),
            Tier::Redis if context.redis.is_some() => (false, false, true),
            Tier::Redis => {
                return Err(CacheError::TierUnavailable {
                    region: region(),
                    tier: "redis",
                    reason: if cfg!(feature = "redis") {
                        "needs a Redis connection, which this manager does not have: build it with CacheManagerBuilder::redis(RedisConfig::new(url)), or use tier = \"memory\", \"disk\" or \"hybrid\""
                    } else {
                        "needs the `redis` feature of cache-runtime, which this build lacks; or use tier = \"memory\", \"disk\" or \"hybrid\""
                    },
                });
            }
        };
        if (wants_disk || wants_redis || backend.is_some()) && sensitive {
            return Err(CacheError::Sensitive {
                region: region(),
                action: "persisted (a sensitive region stays in memory)",
            });
        }
        let live = Arc::new(Live::new(&settings));
        let memory = wants_memory.then(|| {
            MemoryLevel::new(
                &settings,
                codecs.weigh,
                Arc::clone(&policy),
                ListenerBase {
                    region: Arc::clone(&name),
                    stats: Arc::clone(&context.stats),
                    events: context.events.clone(),
                    key_text: if sensitive { None } else { codecs.key_text },
                    counts_updates: !(wants_disk || wants_redis || backend.is_some()),
                },
                Arc::clone(&live),
            )
        });
        // What a persistent level needs: the key's text and the value's serde.
        let persistable = |action: &'static str| {
            let (Some(key_text), Some(_)) = (codecs.key_text, codecs.key_serde) else {
                return Err(CacheError::NotSerializable {
                    region: region(),
                    what: "key type",
                    type_name: context.descriptor.key_type().unwrap_or("?").to_owned(),
                    needs: "Serialize and Deserialize",
                    action,
                });
            };
            let Some(value_serde) = codecs.value_serde else {
                return Err(CacheError::NotSerializable {
                    region: region(),
                    what: "value type",
                    type_name: context.descriptor.value_type().unwrap_or("?").to_owned(),
                    needs: "Serialize and Deserialize",
                    action,
                });
            };
            Ok((key_text, value_serde))
        };
        // Each value is decoded by the format its envelope records (see
        // `BackendLevel::encode`), so either serde format reads.
        let schema = Schema::for_region(&context.descriptor)
            .with_format(context.value_format)
            .reading_either_serde_format();
        // The second level: the manager's Redis, the region's named
        // backend, or the region's folder under the disk root.
        let kind = if wants_redis {
            Some(("redis", "the Redis tier", BuiltIn::Redis))
        } else if let Some(backend) = backend {
            Some((backend, "a storage backend", BuiltIn::Named))
        } else if wants_disk {
            Some(("disk", "the disk tier", BuiltIn::Disk))
        } else {
            None
        };
        let mut disk_dir = None;
        let second_name = kind.as_ref().map(|(name, _, _)| *name);
        let remote = match kind {
            Some((backend_name, what, tier)) => {
                let (key_text, value_serde) = persistable(what)?;
                let made: Arc<dyn Backend> = match (tier, &context.redis) {
                    (BuiltIn::Redis, Some(shared)) => super::remote::tier_backend(shared, &name),
                    (BuiltIn::Disk, _) => {
                        let disk = open_disk(context, &schema)?;
                        disk_dir = Some(disk.store().dir().to_path_buf());
                        Arc::new(disk)
                    }
                    _ => {
                        let Some(factory) = context.backends.get(backend_name) else {
                            return Err(CacheError::UnknownBackend {
                                region: region(),
                                backend: backend_name.to_owned(),
                                registered: context.backends.listed(),
                            });
                        };
                        factory
                            .make(&BackendContext::new(&name, backend_name, &settings))
                            .map_err(|source| CacheError::Backend {
                                region: region(),
                                backend: backend_name.to_owned(),
                                source,
                            })?
                    }
                };
                let shared = made.capabilities().shared;
                Some(
                    BackendLevel::new(
                        made,
                        backend_name,
                        &name,
                        schema,
                        settings.compression,
                        key_text,
                        value_serde,
                        settings.ttl,
                        &context.stats,
                        Announcer::for_region(context.redis.as_ref(), wants_memory, shared),
                    )
                    .built_in(tier),
                )
            }
            None => None,
        };
        let levels = match (memory, remote) {
            (Some(memory), None) => Levels::Memory(memory),
            (None, Some(second)) => Levels::Second(second),
            (Some(memory), Some(second)) => Levels::Hybrid(Hybrid::new(
                memory,
                second,
                codecs,
                Arc::clone(&context.stats),
            )),
            // Every tier above opens a level; kept as an error, not a panic.
            (None, None) => {
                return Err(CacheError::TierUnavailable {
                    region: region(),
                    tier: settings.tier.as_str(),
                    reason: "opens no level in this build",
                });
            }
        };
        Ok(RegionStore {
            name,
            descriptor: context.descriptor.clone(),
            settings: RwLock::new(settings),
            sensitive,
            live,
            levels,
            disk_dir,
            second_name,
            reconfiguring: Mutex::new(()),
            stats: Arc::clone(&context.stats),
            events: context.events.clone(),
            codecs,
            flights: Flights::new(),
            policy,
            loader: RwLock::new(None),
        })
    }

    /// [`RegionStore::open`], shared, and attached to the backplane when it
    /// is a hybrid region over Redis.
    pub(crate) fn open_shared(
        context: &StoreContext,
        codecs: RegionCodecs<K, V>,
    ) -> Result<Arc<RegionStore<K, V>>, CacheError> {
        let store = Arc::new(RegionStore::open(context, codecs)?);
        super::remote::attach_backplane(&store);
        Ok(store)
    }

    /// Whether the region is sensitive (never browsable, logged or
    /// persisted).
    pub(crate) fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// The settings in force.
    pub(crate) fn settings(&self) -> RegionSettings {
        *self.settings.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `settings` to the running store, without losing its entries
    /// or failing a concurrent operation. The caller has checked them;
    /// `tier`, `sensitive` and `version` never change on a running store
    /// (they are ignored).
    ///
    /// - `enabled`: a disabled region's gets are counted misses that read
    ///   no level, its inserts remove the key everywhere instead of storing,
    ///   and its loads run every time and store nothing; its entries stay
    ///   (expiring as usual) and serve again once it is enabled.
    /// - `ttl`, `memory_ttl`, `tti`, `fail_safe`: entries without their own
    ///   TTL follow the new values, those already held included (re-timed in
    ///   place: see the memory module); disk and Redis writes from now on
    ///   live the new `ttl`, entries already persisted keep the expiry they
    ///   were written with.
    /// - `compression`: disk and Redis writes from now on (reads take any
    ///   codec).
    /// - `max_entries`, `max_bytes`, `eviction`: the memory level is rebuilt
    ///   and its entries migrated, hottest first, up to the new limit.
    pub(crate) fn reconfigure(&self, settings: &RegionSettings) -> Reconfigured {
        let _one_at_a_time = self
            .reconfiguring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.settings();
        debug_assert!(
            old.tier == settings.tier
                && old.sensitive == settings.sensitive
                && old.version == settings.version,
            "tier, sensitive and version cannot change on a running store"
        );
        let new = RegionSettings {
            tier: old.tier,
            sensitive: old.sensitive,
            version: old.version,
            ..*settings
        };
        let mut report = Reconfigured::default();
        if !new.enabled {
            self.live.set_enabled(false);
        }
        if new.compression != old.compression
            && let Some(remote) = self.levels.second()
        {
            remote.set_compression(new.compression);
        }
        if let Some(remote) = self.levels.second() {
            remote.set_ttl(new.ttl);
        }
        let retime = self.live.memory_timing_differs(&new);
        if retime {
            // Hits are checked against the new values until every entry
            // has its new deadline.
            self.live.begin_retime();
        }
        self.live.set_timing(&new);
        if let Some(memory) = self.levels.memory() {
            // Copies get their deadlines under the new timing too.
            if let Some(rebuilt) = memory.reshape(&new) {
                report = Reconfigured {
                    rebuilt: true,
                    kept: rebuilt.kept,
                    dropped: rebuilt.dropped,
                };
            } else if retime && memory.shape().expiry {
                memory.retime();
            }
        }
        if retime {
            self.live.end_retime();
        }
        if new.enabled {
            self.live.set_enabled(true);
        }
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = new;
        report
    }

    /// The key's text for events (none for sensitive regions).
    fn event_key(&self, key: &K) -> Option<String> {
        if self.sensitive {
            return None;
        }
        self.codecs.key_text.map(|text| text(key))
    }

    /// A counted, timed get: memory, then the second level (promoting into
    /// memory). Blocks on the second level; its failure is a miss (see
    /// [`RegionStore::try_get`]).
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        // The one load of the live settings a hit pays.
        let flags = self.live.flags();
        match self.memory_hit(key, flags) {
            Some(Ok(value)) => Some(value),
            Some(Err(timer)) => self.get_past_memory(key, timer),
            None => self.get_with_flags(key, flags, Miss::Count),
        }
    }

    /// The hit path, inlined into the caller: with no live flag set (the
    /// region enabled, no fail-safe grace, no re-timing under way) a memory
    /// entry is fresh, so a get is the level's read and a counted hit.
    /// `Some(Ok)` is that hit; `Some(Err)` a memory miss, to go on past
    /// memory with the get's timer; `None` when the path does not apply (a
    /// flag is set, or the region has no memory level).
    /// A get the sampler picks for timing takes [`Self::timed_memory_hit`],
    /// out of line, so the untimed hit carries no timer.
    #[inline(always)]
    fn memory_hit(&self, key: &K, flags: u8) -> Option<Result<V, GetTimer<'_>>> {
        if flags != 0 {
            return None;
        }
        let memory = self.levels.memory()?;
        if self.stats.picks_get_for_timing() {
            return Some(self.timed_memory_hit(memory, key));
        }
        Some(match memory.get(key) {
            Some(entry) => {
                self.stats.hit();
                Ok(entry.value)
            }
            None => Err(self.stats.untimed_get()),
        })
    }

    /// [`Self::memory_hit`] for a get picked for timing: its latency, and
    /// the key's hotness for rebuilds (fed from the timed sample only).
    #[inline(never)]
    fn timed_memory_hit(&self, memory: &MemoryLevel<K, V>, key: &K) -> Result<V, GetTimer<'_>> {
        let timer = self.stats.timed_get();
        match memory.get(key) {
            Some(entry) => {
                memory.record(key);
                timer.hit();
                Ok(entry.value)
            }
            None => Err(timer),
        }
    }

    /// A get that missed the memory level with no live flag set: a counted
    /// miss, or the second level's answer (blocking on it).
    #[inline(never)]
    fn get_past_memory(&self, key: &K, timer: GetTimer<'_>) -> Option<V> {
        match &self.levels {
            Levels::Memory(_) => {
                timer.miss();
                None
            }
            Levels::Second(_) | Levels::Hybrid(_) => {
                block_on(self.read_second(key, timer, None)).ok().flatten()
            }
        }
    }

    /// [`RegionStore::get`] with the live flags already loaded, whatever
    /// they are.
    #[inline(never)]
    fn get_with_flags(&self, key: &K, flags: u8, miss: Miss) -> Option<V> {
        if flags & DISABLED != 0 {
            return self.disabled_get();
        }
        let (timer, stale) = match self.get_from_memory(key, flags, miss) {
            Ok(value) => return Some(value),
            Err(rest) => rest,
        };
        match &self.levels {
            Levels::Memory(_) => {
                timer.miss();
                None
            }
            Levels::Second(_) | Levels::Hybrid(_) => {
                block_on(self.read_second(key, timer, stale)).ok().flatten()
            }
        }
    }

    /// [`RegionStore::get`] awaiting Redis, and saying when it failed.
    pub(crate) async fn try_get(&self, key: &K) -> Result<Option<V>, CacheError> {
        let flags = self.live.flags();
        // One await, for the second level: what comes before it is plain
        // code, not a nested future.
        let (timer, stale) = match self.memory_hit(key, flags) {
            Some(Ok(value)) => return Ok(Some(value)),
            Some(Err(timer)) => match &self.levels {
                Levels::Memory(_) => {
                    timer.miss();
                    return Ok(None);
                }
                Levels::Second(_) | Levels::Hybrid(_) => (timer, None),
            },
            None => match self.before_second(key, flags, Miss::Count) {
                Ok(answer) => return Ok(answer),
                Err(rest) => rest,
            },
        };
        self.read_second(key, timer, stale).await
    }

    /// [`RegionStore::try_get`] with the live flags already loaded.
    async fn try_get_with_flags(
        &self,
        key: &K,
        flags: u8,
        miss: Miss,
    ) -> Result<Option<V>, CacheError> {
        match self.before_second(key, flags, miss) {
            Ok(answer) => Ok(answer),
            Err((timer, stale)) => self.read_second(key, timer, stale).await,
        }
    }

    /// A get up to the second level: the answer when memory (or a disabled
    /// region) gives it, else the get's timer and the stale value
    /// fail-safe kept, for the second level's read.
    fn before_second(
        &self,
        key: &K,
        flags: u8,
        miss: Miss,
    ) -> Result<Option<V>, (GetTimer<'_>, Option<V>)> {
        if let Levels::Memory(_) = &self.levels {
            return Ok(self.get_with_flags(key, flags, miss));
        }
        if flags & DISABLED != 0 {
            return Ok(self.disabled_get());
        }
        self.get_from_memory(key, flags, miss).map(Some)
    }

    /// Starts a counted get at the memory level: a fresh value (a counted
    /// hit), or the get's timer and the stale value fail-safe kept, to go
    /// on with.
    #[inline]
    fn get_from_memory(
        &self,
        key: &K,
        flags: u8,
        miss: Miss,
    ) -> Result<V, (GetTimer<'_>, Option<V>)> {
        let timer = match miss {
            Miss::Count => self.stats.time_get(),
            Miss::Defer => self.stats.time_get_deferring_miss(),
        };
        match self.memory_lookup(key, flags) {
            Lookup::Fresh(value) => {
                if timer.is_sampled()
                    && let Some(memory) = self.levels.memory()
                {
                    // Hotness for rebuilds, from the timed sample only.
                    memory.record(key);
                }
                timer.hit();
                Ok(value)
            }
            Lookup::Stale(value) => Err((timer, Some(value))),
            Lookup::Absent => Err((timer, None)),
        }
    }

    /// A get of a disabled region: a counted miss, no level read.
    #[cold]
    fn disabled_get(&self) -> Option<V> {
        self.stats.miss();
        None
    }

    /// The memory level's entry for `key`: fresh, or (fail-safe only)
    /// expired but kept. `flags` are the live flags the get loaded: without
    /// fail-safe or a timing change in progress, a hit is fresh (moka
    /// drops entries at their deadline).
    #[inline]
    fn memory_lookup(&self, key: &K, flags: u8) -> Lookup<V> {
        let Some(memory) = self.levels.memory() else {
            return Lookup::Absent;
        };
        match memory.get(key) {
            Some(entry) if flags & (FAIL_SAFE | CHECKING) == 0 => Lookup::Fresh(entry.value),
            Some(entry) => match self.live.classify(&entry, flags) {
                Freshness::Fresh => Lookup::Fresh(entry.value),
                Freshness::Stale => Lookup::Stale(entry.value),
                Freshness::Expired => Lookup::Absent,
            },
            None => Lookup::Absent,
        }
    }

    /// A read past the memory level: the second level's value (promoted
    /// into memory by a hybrid region); when the second level fails, the
    /// stale value fail-safe kept in memory, if any, else the error.
    async fn read_second(
        &self,
        key: &K,
        timer: GetTimer<'_>,
        stale: Option<V>,
    ) -> Result<Option<V>, CacheError> {
        let read = match &self.levels {
            Levels::Hybrid(hybrid) => hybrid.read_through(key, stale).await,
            Levels::Second(second) => second.read(key).await.map(|hit| hit.map(|hit| hit.value)),
            Levels::Memory(_) => Ok(None),
        };
        match read {
            Ok(Some(value)) => {
                timer.hit();
                Ok(Some(value))
            }
            Ok(None) => {
                timer.miss();
                Ok(None)
            }
            Err(error) => {
                timer.miss();
                Err(self.second_error(error))
            }
        }
    }

    fn second_error(&self, source: SecondError) -> CacheError {
        source.into_cache_error(&self.name)
    }

    /// A fail-safe value for `key`: its expired memory entry, if kept.
    fn stale(&self, key: &K) -> Option<V> {
        self.live.grace()?;
        let entry = self.levels.memory()?.get(key)?;
        let flags = self.live.flags() | FAIL_SAFE;
        if let Freshness::Expired = self.live.classify(&entry, flags) {
            return None;
        }
        self.stats.tiers().count(TierEvent::StaleServed);
        Some(entry.value)
    }

    /// A get that is not counted: what a single-flight checks before it
    /// starts a load.
    fn peek(&self, key: &K) -> Option<V> {
        // A hybrid region's loads store into memory too. A region with only
        // a second level cannot be read here without waiting; a caller that
        // raced a finished load may load again.
        match self.memory_lookup(key, self.live.flags()) {
            Lookup::Fresh(value) => Some(value),
            Lookup::Stale(_) | Lookup::Absent => None,
        }
    }

    /// Stores `value` unless the policy refuses it; whether it was stored.
    /// Blocks on Redis; a value Redis could not take is stored only in
    /// memory (hybrid) or not at all (Redis only).
    ///
    /// A disabled region stores nothing: it removes `key` from every level
    /// instead, so that no older value resurfaces once it is enabled again.
    pub(crate) fn store(&self, key: K, value: V, ttl: Option<Duration>) -> bool {
        if !self.live.enabled() {
            self.remove(&key);
            return false;
        }
        match self.store_local(key, value, ttl) {
            Stored::Refused | Stored::Failed(_) => false,
            Stored::Local => true,
            Stored::Remote(write) => self.finish_blocking(write).is_ok(),
        }
    }

    /// [`RegionStore::store`] awaiting Redis, and saying when it failed.
    pub(crate) async fn try_store(
        &self,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        if !self.live.enabled() {
            return self.try_remove(&key).await.map(|_| false);
        }
        match self.store_local(key, value, ttl) {
            Stored::Refused => Ok(false),
            Stored::Local => Ok(true),
            Stored::Remote(write) => self.finish(write).await.map(|()| true),
            Stored::Failed(error) => Err(error),
        }
    }

    /// Sends a stored value to the second level. A hybrid region keeps it
    /// in memory when the second level fails (counted as a skipped write);
    /// a region without a memory level reports the failure (and announces
    /// it: the value was not stored anywhere).
    pub(crate) async fn finish(&self, write: SecondWrite) -> Result<(), CacheError> {
        match &self.levels {
            Levels::Memory(_) => Ok(()),
            Levels::Hybrid(hybrid) => {
                hybrid.finish(write).await;
                Ok(())
            }
            Levels::Second(second) => second
                .write(write)
                .await
                .map_err(|error| self.refused(self.second_error(error))),
        }
    }

    /// Announces a write no level took.
    fn refused(&self, error: CacheError) -> CacheError {
        self.events
            .send_detail(&self.name, EventKind::WriteRefused, error.to_string());
        error
    }

    /// [`RegionStore::finish`], unless Redis already failed this call: a
    /// caller then waits for Redis at most once (its read's timeout), not
    /// once more for the write of what it loaded (counted as skipped).
    async fn finish_unless(
        &self,
        redis_failed: bool,
        write: SecondWrite,
    ) -> Result<(), CacheError> {
        match self.levels.second() {
            Some(remote) if redis_failed => {
                remote.skipped();
                Ok(())
            }
            _ => self.finish(write).await,
        }
    }

    /// A get-or-load's first look, on this thread: Redis' failure is told
    /// apart from a miss (a failed read skips the write that follows).
    fn lookup_blocking(&self, key: &K, flags: u8) -> Result<Option<V>, CacheError> {
        match &self.levels {
            Levels::Memory(_) => Ok(self.get_with_flags(key, flags, Miss::Defer)),
            Levels::Second(_) | Levels::Hybrid(_) => {
                block_on(self.try_get_with_flags(key, flags, Miss::Defer))
            }
        }
    }

    /// [`RegionStore::finish`] on this thread.
    fn finish_blocking(&self, write: SecondWrite) -> Result<(), CacheError> {
        block_on(self.finish(write))
    }

    /// The values of `keys`, in order: from memory, the rest from the
    /// second level in one call (its `get_many`: pipelined `GET`s on Redis),
    /// promoted into memory by a hybrid region; one by one from memory for
    /// a memory region. Each key is counted as a hit or a miss.
    pub(crate) async fn try_get_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, CacheError> {
        let Some(remote) = self.levels.second() else {
            return Ok(keys.iter().map(|key| self.get(key)).collect());
        };
        let flags = self.live.flags();
        if flags & DISABLED != 0 {
            return Ok(keys.iter().map(|_| self.disabled_get()).collect());
        }
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        // Counted once per batch: one update for the hits, one for the
        // misses.
        let mut hit_count = 0;
        for (index, key) in keys.iter().enumerate() {
            match self.memory_lookup(key, flags) {
                Lookup::Fresh(value) => {
                    hit_count += 1;
                    found.push(Some(value));
                }
                Lookup::Stale(_) | Lookup::Absent => {
                    found.push(None);
                    missing.push(index);
                }
            }
        }
        if missing.is_empty() {
            self.stats.hits_and_misses(hit_count, 0);
            return Ok(found);
        }
        let asked: Vec<&K> = missing.iter().map(|&index| &keys[index]).collect();
        let hits = match remote.read_many(&asked).await {
            Ok(hits) => hits,
            Err(error) => {
                self.stats.hits_and_misses(hit_count, missing.len() as u64);
                return Err(self.second_error(error));
            }
        };
        let hybrid = self.levels.hybrid();
        let mut miss_count = 0;
        for (index, hit) in missing.into_iter().zip(hits) {
            match hit {
                Some(hit) => {
                    if let Some(hybrid) = hybrid {
                        hybrid.promote(&keys[index], &hit);
                    }
                    hit_count += 1;
                    found[index] = Some(hit.value);
                }
                None => miss_count += 1,
            }
        }
        self.stats.hits_and_misses(hit_count, miss_count);
        Ok(found)
    }

    /// Stores `entries` (each as [`RegionStore::store`] would), sending
    /// them to Redis with pipelined `SET`s; how many were stored (not
    /// refused by the policy). A disabled region removes the keys instead
    /// and stores none.
    pub(crate) async fn try_store_many(&self, entries: Vec<(K, V)>) -> Result<u64, CacheError> {
        if !self.live.enabled() {
            for (key, _) in entries {
                self.try_remove(&key).await?;
            }
            return Ok(0);
        }
        let mut stored = 0;
        let mut writes = Vec::new();
        for (key, value) in entries {
            match self.store_local(key, value, None) {
                Stored::Refused => {}
                Stored::Failed(error) => return Err(error),
                Stored::Local => stored += 1,
                Stored::Remote(write) => {
                    stored += 1;
                    writes.push(write);
                }
            }
        }
        if writes.is_empty() {
            return Ok(stored);
        }
        match &self.levels {
            Levels::Memory(_) => {}
            Levels::Hybrid(hybrid) => hybrid.finish_many(writes).await,
            Levels::Second(second) => second
                .write_many(writes)
                .await
                .map_err(|error| self.second_error(error))?,
        }
        Ok(stored)
    }

    /// Stores `value` in the memory level unless the policy refuses it (or
    /// the region is disabled); what is left to send to the second level.
    pub(crate) fn store_local(&self, key: K, value: V, ttl: Option<Duration>) -> Stored {
        if !self.live.enabled() {
            // A load that finished after the region was disabled.
            return Stored::Refused;
        }
        // One read of the policy slot for the whole store.
        let policy = self.policy.current();
        if let Some(policy) = &policy
            && !policy.admit(&key, &value)
        {
            return Stored::Refused;
        }
        // An explicit TTL shortens the region's; a policy's replaces it.
        // Either is the entry's own; without one, each level applies the
        // region's TTL of the moment.
        let ttl = clamp(match ttl {
            Some(ttl) => Some(match self.live.ttl() {
                Some(region) => ttl.min(region),
                None => ttl,
            }),
            None => policy.and_then(|policy| policy.expire_after(&key, &value)),
        });
        let event_key = if self.events.wanted() {
            self.event_key(&key)
        } else {
            None
        };
        let write = match &self.levels {
            Levels::Memory(memory) => {
                memory.insert(key, Entry::new(value, ttl));
                None
            }
            Levels::Hybrid(hybrid) => hybrid.store(key, value, ttl),
            // Without a memory level, a value the second level cannot take
            // has nowhere to go.
            Levels::Second(second) => match second.prepare(&key, &value, ttl) {
                Ok(write) => Some(write),
                Err(error) => return Stored::Failed(self.refused(self.second_error(error))),
            },
        };
        self.stats.insert();
        self.events.send(&self.name, EventKind::Insert, event_key);
        match write {
            Some(write) => Stored::Remote(write),
            None => Stored::Local,
        }
    }

    /// Removes `key` from every level; whether it was held. Blocks on the
    /// second level; its failure counts as "not held there".
    pub(crate) fn remove(&self, key: &K) -> bool {
        match self.levels.second() {
            Some(_) => block_on(self.try_remove(key)).unwrap_or(false),
            None => self.remove_local(key),
        }
    }

    /// [`RegionStore::remove`] awaiting the second level, and saying when
    /// it failed (the memory level has dropped the key by then).
    pub(crate) async fn try_remove(&self, key: &K) -> Result<bool, CacheError> {
        let Some(remote) = self.levels.second() else {
            return Ok(self.remove_local(key));
        };
        let in_memory = self
            .levels
            .memory()
            .is_some_and(|memory| memory.remove(key));
        let in_second = remote
            .remove(remote.key_text(key))
            .await
            .map_err(|error| self.second_error(error));
        let only_in_second = matches!(in_second, Ok(true)) && !in_memory;
        let existed = in_memory || only_in_second;
        if existed {
            // Once per key, whichever levels held it.
            self.stats.remove();
            self.events
                .send(&self.name, EventKind::Remove, self.event_key(key));
        }
        in_second.map(|_| existed)
    }

    fn remove_local(&self, key: &K) -> bool {
        let existed = self
            .levels
            .memory()
            .is_some_and(|memory| memory.remove(key));
        if existed {
            self.stats.remove();
            self.events
                .send(&self.name, EventKind::Remove, self.event_key(key));
        }
        existed
    }

    pub(crate) async fn get_or_insert_with<F, Fut>(&self, key: &K, init: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let flags = self.live.flags();
        if flags & DISABLED != 0 {
            // Disabled: the loader every time, nothing stored.
            self.disabled_get();
            let start = Instant::now();
            let value = init().await;
            self.stats.load_ok(elapsed_ns(start));
            return value;
        }
        let redis_failed = match self.try_get_with_flags(key, flags, Miss::Defer).await {
            Ok(Some(value)) => return value,
            Ok(None) => false,
            Err(_) => true,
        };
        let pending = PendingWrite::default();
        let outcome = self
            .flights
            .run::<Infallible, _>(
                key,
                || self.peek(key),
                || async {
                    let start = Instant::now();
                    let value = init().await;
                    self.stats.load_ok(elapsed_ns(start));
                    Ok(value)
                },
                |value| pending.store(self, key, value),
            )
            .await;
        if let Some(write) = pending.take() {
            // Counted when it fails; the value is the caller's either way.
            let _ = self.finish_unless(redis_failed, write).await;
        }
        match outcome {
            Ok(outcome) => self.count_outcome(outcome),
            Err(never) => match *never {},
        }
    }

    pub(crate) async fn try_get_or_insert_with<F, Fut, E>(
        &self,
        key: &K,
        init: F,
    ) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let flags = self.live.flags();
        if flags & DISABLED != 0 {
            self.disabled_get();
            let start = Instant::now();
            let loaded = init().await;
            return self.count_load(start, loaded);
        }
        let redis_failed = match self.try_get_with_flags(key, flags, Miss::Defer).await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => false,
            Err(_) => true,
        };
        let pending = PendingWrite::default();
        let outcome = self
            .flights
            .run::<E, _>(
                key,
                || self.peek(key),
                || async {
                    let start = Instant::now();
                    let loaded = init().await;
                    match &loaded {
                        Ok(_) => self.stats.load_ok(elapsed_ns(start)),
                        Err(_) => self.stats.load_err(elapsed_ns(start)),
                    }
                    loaded
                },
                |value| pending.store(self, key, value),
            )
            .await;
        if let Some(write) = pending.take() {
            let _ = self.finish_unless(redis_failed, write).await;
        }
        match outcome {
            Ok(outcome) => Ok(self.count_outcome(outcome)),
            // Fail-safe: the expired value rather than the error.
            Err(error) => {
                self.stats.miss();
                self.stale(key).ok_or(error)
            }
        }
    }

    pub(crate) fn get_or_insert_with_blocking(&self, key: &K, init: impl FnOnce() -> V) -> V {
        let flags = self.live.flags();
        if flags & DISABLED != 0 {
            self.disabled_get();
            let start = Instant::now();
            let value = init();
            self.stats.load_ok(elapsed_ns(start));
            return value;
        }
        let redis_failed = match self.lookup_blocking(key, flags) {
            Ok(Some(value)) => return value,
            Ok(None) => false,
            Err(_) => true,
        };
        let pending = PendingWrite::default();
        let outcome = self.flights.run_blocking::<Infallible>(
            key,
            || self.peek(key),
            || {
                let start = Instant::now();
                let value = init();
                self.stats.load_ok(elapsed_ns(start));
                Ok(value)
            },
            |value| pending.store(self, key, value),
        );
        if let Some(write) = pending.take() {
            let _ = block_on(self.finish_unless(redis_failed, write));
        }
        match outcome {
            Ok(outcome) => self.count_outcome(outcome),
            Err(never) => match *never {},
        }
    }

    pub(crate) fn try_get_or_insert_with_blocking<E>(
        &self,
        key: &K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        let flags = self.live.flags();
        if flags & DISABLED != 0 {
            self.disabled_get();
            let start = Instant::now();
            let loaded = init();
            return self.count_load(start, loaded);
        }
        let redis_failed = match self.lookup_blocking(key, flags) {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => false,
            Err(_) => true,
        };
        let pending = PendingWrite::default();
        let outcome = self.flights.run_blocking::<E>(
            key,
            || self.peek(key),
            || {
                let start = Instant::now();
                let loaded = init();
                match &loaded {
                    Ok(_) => self.stats.load_ok(elapsed_ns(start)),
                    Err(_) => self.stats.load_err(elapsed_ns(start)),
                }
                loaded
            },
            |value| pending.store(self, key, value),
        );
        if let Some(write) = pending.take() {
            let _ = block_on(self.finish_unless(redis_failed, write));
        }
        match outcome {
            Ok(outcome) => Ok(self.count_outcome(outcome)),
            // Fail-safe: the expired value rather than the error.
            Err(error) => {
                self.stats.miss();
                self.stale(key).ok_or(error)
            }
        }
    }

    /// Counts a get whose miss was deferred by how its value came: found
    /// after all (a hit), loaded by this caller (a miss), or another
    /// caller's load waited for (coalesced).
    fn count_outcome(&self, outcome: Outcome<V>) -> V {
        match outcome {
            Outcome::Cached(value) => {
                self.stats.hit();
                value
            }
            Outcome::Loaded(value) => {
                self.stats.miss();
                value
            }
            Outcome::Joined(value) => {
                self.stats.coalesced();
                value
            }
        }
    }

    /// Counts a disabled region's load, which nothing shares or stores.
    #[cold]
    fn count_load<E>(&self, start: Instant, loaded: Result<V, E>) -> Result<V, Arc<E>> {
        match &loaded {
            Ok(_) => self.stats.load_ok(elapsed_ns(start)),
            Err(_) => self.stats.load_err(elapsed_ns(start)),
        }
        loaded.map_err(Arc::new)
    }

    pub(crate) fn set_loader(&self, loader: Option<Loader<K, V>>) {
        *self.loader.write().unwrap_or_else(PoisonError::into_inner) = loader;
    }

    pub(crate) fn loader(&self) -> Option<Loader<K, V>> {
        self.loader
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_policy(&self, policy: Option<Arc<dyn CachePolicy<K, V>>>) {
        self.policy.set(policy);
    }

    /// Reloads `keys` (every key held, when `None`) with the registered
    /// loader, or removes them without one.
    pub(crate) async fn refresh(&self, keys: Option<Vec<K>>) -> RefreshReport {
        let keys = match keys {
            Some(keys) => keys,
            None => self.all_keys().await,
        };
        let mut report = RefreshReport::default();
        let Some(loader) = self.loader() else {
            for key in &keys {
                if self.try_remove(key).await.unwrap_or(false) {
                    report.invalidated += 1;
                }
            }
            self.events.send(
                &self.name,
                EventKind::Refresh {
                    keys: report.invalidated,
                },
                None,
            );
            return report;
        };
        for key in keys {
            let start = Instant::now();
            // A refresh replaces the value even when one is cached, so it
            // does not join get_or_insert_with's flights.
            match loader(key.clone()).await {
                Ok(_) if !self.live.enabled() => {
                    // Disabled: loaded, not stored; the old value goes.
                    self.stats.load_ok(elapsed_ns(start));
                    if self.try_remove(&key).await.unwrap_or(false) {
                        report.invalidated += 1;
                    }
                }
                Ok(value) => {
                    self.stats.load_ok(elapsed_ns(start));
                    match self.try_store(key.clone(), value, None).await {
                        Ok(true) => report.reloaded += 1,
                        // The policy refused the new value: the old one is
                        // stale, so it goes.
                        Ok(false) => {
                            if self.try_remove(&key).await.unwrap_or(false) {
                                report.invalidated += 1;
                            }
                        }
                        Err(_) => report.failed += 1,
                    }
                }
                Err(_) => {
                    self.stats.load_err(elapsed_ns(start));
                    report.failed += 1;
                }
            }
        }
        self.events.send(
            &self.name,
            EventKind::Refresh {
                keys: report.reloaded,
            },
            None,
        );
        report
    }

    /// Every key held: in the second level for a region with one (read back
    /// through the key's serde; the memory level's when it fails), else
    /// [`RegionStore::keys`].
    async fn all_keys(&self) -> Vec<K> {
        let (Some(remote), Some(key_serde)) = (self.levels.second(), self.codecs.key_serde) else {
            return self.keys();
        };
        match remote.key_texts().await {
            Ok(texts) => texts
                .iter()
                .filter_map(|text| key_from_text(key_serde.from_json, text))
                .collect(),
            Err(_) => self.keys(),
        }
    }

    /// Every key held in memory.
    pub(crate) fn keys(&self) -> Vec<K> {
        let mut keys = Vec::new();
        if let Some(memory) = self.levels.memory() {
            memory.for_each(|key, _| keys.push(K::clone(key)));
        }
        keys
    }

    /// Removes every entry; how many. Blocks on the second level.
    pub(crate) fn clear(&self) -> Result<u64, CacheError> {
        match self.levels.second() {
            Some(_) => block_on(self.try_clear()),
            None => {
                let removed = self.clear_memory();
                Ok(self.settle_clear(removed, None))
            }
        }
    }

    /// [`RegionStore::clear`], awaiting the second level.
    pub(crate) async fn try_clear(&self) -> Result<u64, CacheError> {
        let Some(remote) = self.levels.second() else {
            return self.clear();
        };
        let removed = self.clear_memory();
        let in_redis = remote
            .clear()
            .await
            .map_err(|error| self.second_error(error))?;
        Ok(self.settle_clear(removed, Some(in_redis)))
    }

    /// Removes the entries whose key text matches `pattern`; how many.
    /// Blocks on the second level.
    pub(crate) fn clear_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        if self.levels.second().is_some() {
            return block_on(self.try_clear_matching(pattern));
        }
        let glob = Glob::key(pattern);
        let removed = self.clear_memory_matching(&glob)?;
        Ok(self.settle_clear(removed, None))
    }

    /// [`RegionStore::clear_matching`], awaiting the second level.
    pub(crate) async fn try_clear_matching(&self, pattern: &str) -> Result<u64, CacheError> {
        let Some(remote) = self.levels.second() else {
            return self.clear_matching(pattern);
        };
        let glob = Glob::key(pattern);
        let removed = self.clear_memory_matching(&glob)?;
        let in_redis = remote
            .clear_matching(&glob, pattern)
            .await
            .map_err(|error| self.second_error(error))?;
        Ok(self.settle_clear(removed, Some(in_redis)))
    }

    /// Empties the memory level; how many entries it held (its listener
    /// counts them).
    fn clear_memory(&self) -> u64 {
        match self.levels.memory() {
            Some(memory) => memory.clear(),
            None => 0,
        }
    }

    /// Removes the memory level's entries whose key text matches `glob`.
    pub(crate) fn clear_memory_matching(&self, glob: &Glob) -> Result<u64, CacheError> {
        let Some(key_text) = self.codecs.key_text else {
            return Err(self.no_key_text("clear_matching"));
        };
        Ok(self
            .levels
            .memory()
            .map_or(0, |memory| memory.remove_matching(glob, key_text)))
    }

    /// Counts the entries a clear removed (the memory level's, or the
    /// second level's where it held more: it holds every entry the memory
    /// level does), announces the clear and says how many entries went.
    fn settle_clear(&self, mut removed: u64, second_level: Option<u64>) -> u64 {
        if let Some(second) = second_level {
            removed = removed.max(second);
        }
        self.stats.cleared(removed);
        self.events
            .send(&self.name, EventKind::Clear { removed }, None);
        removed
    }

    fn no_key_text(&self, action: &'static str) -> CacheError {
        CacheError::NotSerializable {
            region: self.name.to_string(),
            what: "key type",
            type_name: self.descriptor.key_type().unwrap_or("?").to_owned(),
            needs: "Serialize (or Display)",
            action,
        }
    }

    /// One page of entries in key-text order (memory) or the second
    /// level's scan order (file order on disk, `SCAN` order in Redis).
    /// Blocks on the second level.
    pub(crate) fn entries(&self, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        match self.levels.second() {
            Some(_) => block_on(self.try_entries(query)),
            None => self.local_entries(query),
        }
    }

    /// [`RegionStore::entries`], awaiting the second level.
    pub(crate) async fn try_entries(&self, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        let Some(remote) = self.levels.second() else {
            return self.local_entries(query);
        };
        let (_, value_serde) = self.browsable()?;
        let pattern = query.pattern.as_deref().map(Glob::key);
        let limit = query.limit.clamp(1, 10_000);
        let page = remote
            .page(pattern.as_ref(), query.cursor.as_deref(), limit)
            .await
            .map_err(|error| self.second_error(error))?
            .map_err(|cursor| CacheError::BadCursor {
                region: self.name.to_string(),
                cursor,
            })?;
        let now_ms = crate::envelope::unix_ms(std::time::SystemTime::now());
        let entries = page
            .entries
            .into_iter()
            .filter_map(|(key, decoded)| {
                let value = remote.json(&decoded.value, decoded.format, value_serde.to_json)?;
                Some(EntryView {
                    key,
                    value,
                    age_ms: Some(now_ms.saturating_sub(decoded.written_at_ms)),
                    expires_in_ms: decoded.expires_at_ms.map(|at| at.saturating_sub(now_ms)),
                })
            })
            .collect();
        Ok(EntryPage {
            entries,
            next: page.next,
        })
    }

    /// The codecs browsing needs, or why the region cannot be browsed.
    fn browsable(&self) -> Result<Browsable<K, V>, CacheError> {
        if self.sensitive {
            return Err(CacheError::Sensitive {
                region: self.name.to_string(),
                action: "listed",
            });
        }
        let Some(key_text) = self.codecs.key_text else {
            return Err(self.no_key_text("entries"));
        };
        let Some(value_serde) = self.codecs.value_serde else {
            return Err(CacheError::NotSerializable {
                region: self.name.to_string(),
                what: "value type",
                type_name: self.descriptor.value_type().unwrap_or("?").to_owned(),
                needs: "Serialize",
                action: "entries",
            });
        };
        Ok((key_text, value_serde))
    }

    fn local_entries(&self, query: &EntryQuery) -> Result<EntryPage, CacheError> {
        let (key_text, value_serde) = self.browsable()?;
        let pattern = query.pattern.as_deref().map(Glob::key);
        let limit = query.limit.clamp(1, 10_000);
        let Some(memory) = self.levels.memory() else {
            return Ok(EntryPage::default());
        };
        let mut matching: Vec<(String, Entry<V>)> = Vec::new();
        memory.for_each(|key, entry| {
            let text = key_text(key);
            let wanted = pattern.as_ref().is_none_or(|glob| glob.matches(&text))
                && query
                    .cursor
                    .as_deref()
                    .is_none_or(|cursor| text.as_str() > cursor);
            if wanted {
                matching.push((text, entry));
            }
        });
        matching.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let next = (matching.len() > limit).then(|| matching[limit - 1].0.clone());
        matching.truncate(limit);
        let entries = matching
            .into_iter()
            .map(|(key, entry)| {
                let age = entry.stored_at().elapsed();
                EntryView {
                    value: (value_serde.to_json)(&entry.value).unwrap_or(serde_json::Value::Null),
                    key,
                    age_ms: Some(duration_ms(age)),
                    expires_in_ms: self
                        .live
                        .entry_ttl(entry.own_ttl())
                        .map(|ttl| duration_ms(ttl.saturating_sub(age))),
                }
            })
            .collect();
        Ok(EntryPage { entries, next })
    }

    /// Entries held: the second level's count when there is one (it holds
    /// every entry the memory level does; `None` when it cannot count), else
    /// the memory level's.
    pub(crate) fn len(&self) -> Option<u64> {
        match (self.levels.memory(), self.levels.second()) {
            (_, Some(remote)) => remote.count_blocking(),
            (Some(memory), None) => Some(memory.entry_count()),
            (None, None) => Some(0),
        }
    }

    /// The memory level's size in bytes: the weighed size of a byte-limited
    /// region, an estimate from a sample of 64 entries otherwise.
    pub(crate) fn bytes(&self) -> Option<u64> {
        let memory = self.levels.memory()?;
        if memory.by_weight() {
            return Some(memory.weighted_size());
        }
        let count = memory.entry_count();
        let (mut sampled, mut total) = (0u64, 0u64);
        memory.for_each_while(|key, entry| {
            sampled += 1;
            total += u64::from((self.codecs.weigh)(key, &entry.value));
            sampled < 64
        });
        Some((total * count).checked_div(sampled).unwrap_or(0))
    }

    /// Applies moka's pending maintenance (evictions, listener calls).
    pub(crate) fn run_pending_tasks(&self) {
        if let Some(memory) = self.levels.memory() {
            memory.run_pending_tasks();
        }
    }

    /// Cleans up what the second level keeps but cannot serve (the disk
    /// tier's expired and damaged files, orphaned temporary files); `None`
    /// without a second level, or one with nothing to clean.
    pub(crate) fn cleanup(&self) -> Result<Option<crate::disk::CleanupReport>, CacheError> {
        match self.levels.second() {
            Some(remote) => remote
                .block_on(remote.cleanup())
                .map_err(|error| self.second_error(error)),
            None => Ok(None),
        }
    }

    /// The disk tier's folder, for a region on it.
    /// What the second level is: `disk`, `redis` or a backend's name.
    pub(crate) fn second_name(&self) -> Option<&'static str> {
        self.second_name
    }

    pub(crate) fn disk_dir(&self) -> Option<&std::path::Path> {
        self.disk_dir.as_deref()
    }

    /// Waits until the writes the second level acknowledged are durable
    /// (the disk tier's write-behind queue).
    pub(crate) fn flush(&self) -> Result<(), CacheError> {
        match self.levels.second() {
            Some(remote) => remote
                .block_on(remote.flush())
                .map_err(|error| self.second_error(error)),
            None => Ok(()),
        }
    }
}

/// The disk tier's backend for a region: its folder under the manager's
/// disk root, under the region's schema, writing directly or through a
/// write-behind queue. Values arrive sealed and compressed by the region's
/// level, so the store itself compresses nothing.
fn open_disk(context: &StoreContext, schema: &Schema) -> Result<DiskBackend, CacheError> {
    let dir = context.disk_root.join(&*context.name);
    let mut builder = DiskStore::builder(&dir).schema(schema.clone());
    if let Some(grace) = context.temp_grace {
        builder = builder.temp_grace(grace);
    }
    builder
        .build()
        .and_then(|store| match context.write_behind {
            0 => Ok(DiskBackend::new(store)),
            capacity => DiskBackend::with_write_behind(store, capacity),
        })
        .map_err(|source| CacheError::Disk {
            region: context.name.to_string(),
            source,
        })
}

/// Opens the store of a region with keys `K` and values `V` from its
/// codecs (what a [`crate::kit::RegionKit`] is built with).
pub(crate) fn open_erased<K, V>(
    context: &StoreContext,
    codecs: &dyn std::any::Any,
) -> Result<Arc<dyn super::erased::ErasedStore>, CacheError>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let codecs = codecs
        .downcast_ref::<RegionCodecs<K, V>>()
        .copied()
        .unwrap_or_else(RegionCodecs::plain);
    let store: Arc<dyn super::erased::ErasedStore> =
        RegionStore::<K, V>::open_shared(context, codecs)?;
    Ok(store)
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A key from its text form, through its JSON: a string key is its text;
/// other keys were written as their JSON.
pub(crate) fn key_from_text<K>(
    from_json: fn(serde_json::Value) -> Result<K, serde_json::Error>,
    text: &str,
) -> Option<K> {
    if let Ok(key) = from_json(serde_json::Value::String(text.to_owned())) {
        return Some(key);
    }
    serde_json::from_str(text)
        .ok()
        .and_then(|json| from_json(json).ok())
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod live_tests;
