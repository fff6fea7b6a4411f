//! The memory tier: a region's moka cache, whose settings can change while
//! the region runs.
//!
//! - [`Live`]: the timing settings (memory TTL, TTI, fail-safe grace) and
//!   the hot-path flags, as relaxed atomics every part reads at use;
//! - [`EntryExpiry`]: moka's per-entry expiry over [`Live`], TTI included
//!   (moka's own `time_to_idle` is fixed when the cache is built);
//! - [`MemoryLevel`]: the cache behind an [`ArcSwap`], rebuilt and migrated
//!   when the limits or the eviction policy change, re-timed in place when
//!   only the timing does;
//! - [`Listener`]: the eviction listener feeding statistics and events.
//!
//! # Timing changes
//!
//! An entry stored without its own TTL follows the region's *current*
//! memory TTL: the expiry computes its deadline from when it was stored and
//! the setting of the moment (an entry's own TTL — `insert_with_ttl`, a
//! policy's `expire_after`, the time left on a promoted disk or Redis
//! value — stays its own). moka only asks the expiry on a create, an update
//! or a read, so a change re-times the entries already held with a sweep of
//! reads, coldest first so that an LRU order keeps its hottest entries
//! last; each read gives the entry its deadline under the new settings. An
//! entry already past it gets no time left: reads miss it at once, and moka
//! removes it, counted as expired (or idle) by the listener, on its timer
//! wheel's next tick (about a second), as any entry that expires. Reads,
//! not writes: a re-timing write could overwrite a value written meanwhile
//! (moka's compute operations do not exclude plain inserts), a read
//! changes nothing but the deadline. Until the sweep ends, the hit path
//! checks each hit's age against the new settings (the `CHECKING` flag),
//! so no read returns an entry past its new deadline.
//!
//! Idleness is moka's last read, which the expiry cannot see: a sweep
//! estimates it from the entry's old deadline (the latest it can have been
//! read given the old TTI), which may expire an entry whose age limit was
//! the binding one a little early; a TTI set where there was none counts
//! idleness from the change; a migrated entry's idleness restarts; the
//! `CHECKING` hit check looks at age only.
//!
//! # Rebuilds
//!
//! moka cannot resize a cache or change its policy: a new cache is built and
//! published at once, with the old one kept as a read-through *previous*
//! (a hit there is promoted), writes go to the new one under per-key locks
//! while it exists, removals and clears apply to both, and the old entries
//! are copied hottest first (by a sampled [`Sketch`], ties by recency) up to
//! the new limit; the rest are counted as size evictions. See
//! [`MemoryLevel::rebuild`].
//!
//! # Cost
//!
//! A hit pays one relaxed load of [`Live`]'s flags (disabled, fail-safe,
//! re-timing), one of `swapped` (the level still uses the cache it opened
//! with, read directly) and, inside moka's read callback, one of the read
//! mode. Once a rebuild has replaced that cache, a hit also pays an
//! [`ArcSwap::load`] of the published one (a thread-local debt slot, ~5 ns
//! and ~60 instructions here, no shared write, no lock). A timed hit (one
//! in 16) also hashes its key into the sketch (four relaxed adds). A write
//! to the first cache counts itself in and out on its thread's own counter
//! (so the first rebuild can wait for it); per-key locks only while a
//! rebuild runs.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cache_spec::{Eviction, RegionSettings, Tier};
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::event::{EventKind, Events};
use super::policy_slot::PolicySlot;
use crate::stats::{EvictionCause, RegionStats};

#[path = "sketch.rs"]
mod sketch;

use self::sketch::{Sketch, SketchHasher};

/// moka refuses durations over 1,000 years; nobody means more than 100.
pub(crate) fn clamp(ttl: Option<Duration>) -> Option<Duration> {
    const LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    ttl.map(|ttl| ttl.min(LIMIT))
}

/// An optional duration that can change while others read it: nanoseconds,
/// `u64::MAX` for none.
pub(crate) struct LiveDuration(AtomicU64);

impl LiveDuration {
    const NONE: u64 = u64::MAX;

    pub(crate) fn new(duration: Option<Duration>) -> LiveDuration {
        LiveDuration(AtomicU64::new(LiveDuration::nanos(duration)))
    }

    fn nanos(duration: Option<Duration>) -> u64 {
        match duration {
            Some(duration) => u64::try_from(duration.as_nanos())
                .unwrap_or(u64::MAX)
                .min(LiveDuration::NONE - 1),
            None => LiveDuration::NONE,
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> Option<Duration> {
        let nanos = self.0.load(Ordering::Relaxed);
        (nanos != LiveDuration::NONE).then(|| Duration::from_nanos(nanos))
    }

    pub(crate) fn set(&self, duration: Option<Duration>) {
        self.0
            .store(LiveDuration::nanos(duration), Ordering::Relaxed);
    }
}

/// [`Live::flags`]: the region caches nothing (reads miss, writes remove).
pub(crate) const DISABLED: u8 = 1;
/// [`Live::flags`]: fail-safe grace is on (a hit may be stale).
pub(crate) const FAIL_SAFE: u8 = 2;
/// [`Live::flags`]: a timing change is being applied: a hit's age must be
/// checked against the new settings.
pub(crate) const CHECKING: u8 = 4;

/// What [`EntryExpiry::expire_after_read`] has to do: a TTI is set.
const READ_TTI: u8 = 1;
/// What [`EntryExpiry::expire_after_read`] has to do: re-time the entry.
const READ_RETIME: u8 = 2;

thread_local! {
    /// Set while this thread changes a cache being migrated away from (its
    /// listener counts none of that: the entries move, or are counted by
    /// whoever removes them).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The [`Live`] whose sweep this thread runs (its address), 0 for none:
    /// the sweep's reads must not count as reads for idleness.
    static SWEEPING: Cell<usize> = const { Cell::new(0) };
}

/// A region's settings that apply without rebuilding anything, shared by
/// the store, the expiry and the listeners; every field is read with one
/// relaxed load.
pub(crate) struct Live {
    /// [`DISABLED`], [`FAIL_SAFE`], [`CHECKING`]: the one load a get pays.
    flags: AtomicU8,
    /// [`READ_TTI`], [`READ_RETIME`]: the one load moka's read callback pays.
    read_mode: AtomicU8,
    /// The region's TTL (the second level's, for disk and Redis writes).
    ttl: LiveDuration,
    /// The memory level's TTL for entries without their own: `ttl`, or a
    /// hybrid region's `min(memory_ttl, ttl)`.
    level_ttl: LiveDuration,
    tti: LiveDuration,
    /// Fail-safe grace; none when off.
    grace: LiveDuration,
    /// The TTI before the re-timing in progress.
    old_tti: LiveDuration,
    /// Whether an entry's own TTL is capped by the level's (hybrid: a value
    /// promoted from the second level lives in memory at most `memory_ttl`).
    cap_own: bool,
}

impl Live {
    pub(crate) fn new(settings: &RegionSettings) -> Live {
        let live = Live {
            flags: AtomicU8::new(0),
            read_mode: AtomicU8::new(0),
            ttl: LiveDuration::new(None),
            level_ttl: LiveDuration::new(None),
            tti: LiveDuration::new(None),
            grace: LiveDuration::new(None),
            old_tti: LiveDuration::new(None),
            cap_own: settings.tier == Tier::Hybrid,
        };
        live.set_timing(settings);
        live.set_enabled(settings.enabled);
        live
    }

    /// The hot-path flags ([`DISABLED`], [`FAIL_SAFE`], [`CHECKING`]).
    #[inline]
    pub(crate) fn flags(&self) -> u8 {
        self.flags.load(Ordering::Relaxed)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.flags() & DISABLED == 0
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        if enabled {
            self.flags.fetch_and(!DISABLED, Ordering::Relaxed);
        } else {
            self.flags.fetch_or(DISABLED, Ordering::Relaxed);
        }
    }

    /// The region's TTL (what persisted writes live).
    #[inline]
    pub(crate) fn ttl(&self) -> Option<Duration> {
        self.ttl.get()
    }

    pub(crate) fn tti(&self) -> Option<Duration> {
        self.tti.get()
    }

    /// The fail-safe grace, if on.
    #[inline]
    pub(crate) fn grace(&self) -> Option<Duration> {
        self.grace.get()
    }

    /// Whether the memory level's timing (its TTL, TTI, fail-safe grace)
    /// differs under `settings`: what needs entries re-timed.
    pub(crate) fn memory_timing_differs(&self, settings: &RegionSettings) -> bool {
        let (_, level_ttl, tti, grace) = Live::timing_of(settings, self.cap_own);
        self.level_ttl.get() != level_ttl || self.tti.get() != tti || self.grace.get() != grace
    }

    fn timing_of(
        settings: &RegionSettings,
        hybrid: bool,
    ) -> (
        Option<Duration>,
        Option<Duration>,
        Option<Duration>,
        Option<Duration>,
    ) {
        let level = if hybrid {
            settings.effective_memory_ttl()
        } else {
            settings.ttl
        };
        (
            clamp(settings.ttl),
            clamp(level),
            clamp(settings.tti),
            clamp(settings.fail_safe.filter(|grace| !grace.is_zero())),
        )
    }

    /// Takes `settings`' TTL, memory TTL, TTI and grace.
    pub(crate) fn set_timing(&self, settings: &RegionSettings) {
        let (ttl, level_ttl, tti, grace) = Live::timing_of(settings, self.cap_own);
        self.ttl.set(ttl);
        self.level_ttl.set(level_ttl);
        self.tti.set(tti);
        self.grace.set(grace);
        if grace.is_some() {
            self.flags.fetch_or(FAIL_SAFE, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!FAIL_SAFE, Ordering::Relaxed);
        }
        if tti.is_some() {
            self.read_mode.fetch_or(READ_TTI, Ordering::Relaxed);
        } else {
            self.read_mode.fetch_and(!READ_TTI, Ordering::Relaxed);
        }
    }

    /// Starts applying new timing settings: until [`Live::end_retime`],
    /// hits are checked against the settings of the moment and reads
    /// re-time the entries they find.
    pub(crate) fn begin_retime(&self) {
        self.old_tti.set(self.tti.get());
        self.flags.fetch_or(CHECKING, Ordering::SeqCst);
        self.read_mode.fetch_or(READ_RETIME, Ordering::SeqCst);
    }

    pub(crate) fn end_retime(&self) {
        self.read_mode.fetch_and(!READ_RETIME, Ordering::SeqCst);
        self.flags.fetch_and(!CHECKING, Ordering::SeqCst);
    }

    /// How long an entry with its own TTL `own` (none: it follows the
    /// region) lives in memory before it is stale.
    #[inline]
    pub(crate) fn entry_ttl(&self, own: Option<Duration>) -> Option<Duration> {
        let level = self.level_ttl.get();
        match own {
            None => level,
            Some(own) if self.cap_own => Some(level.map_or(own, |level| own.min(level))),
            Some(own) => Some(own),
        }
    }

    /// How long such an entry is kept: its TTL plus the fail-safe grace.
    #[inline]
    fn lifetime(&self, own: Option<Duration>) -> Option<Duration> {
        let ttl = self.entry_ttl(own)?;
        Some(match self.grace.get() {
            Some(grace) => ttl.saturating_add(grace),
            None => ttl,
        })
    }

    /// What a hit on `entry` is under the current settings, given the
    /// `flags` the get loaded (with [`FAIL_SAFE`] or [`CHECKING`] set).
    #[cold]
    pub(crate) fn classify<V>(&self, entry: &Entry<V>, flags: u8) -> Freshness {
        let Some(ttl) = self.entry_ttl(entry.own_ttl) else {
            return Freshness::Fresh;
        };
        let age = entry.stored_at.elapsed();
        if age < ttl {
            return Freshness::Fresh;
        }
        if flags & CHECKING == 0 {
            // moka drops entries past their lifetime: this one is in its
            // grace period.
            return Freshness::Stale;
        }
        match self.grace.get() {
            Some(grace) if age < ttl.saturating_add(grace) => Freshness::Stale,
            _ => Freshness::Expired,
        }
    }

    fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

/// A memory hit under the current settings.
pub(crate) enum Freshness {
    Fresh,
    /// Past its TTL, kept by the fail-safe grace.
    Stale,
    /// Past its lifetime under new settings, not yet re-timed.
    Expired,
}

/// Marks this thread as running `live`'s sweep until dropped.
struct Sweeping;

impl Sweeping {
    fn enter(live: &Live) -> Sweeping {
        SWEEPING.with(|sweeping| sweeping.set(live.id()));
        Sweeping
    }
}

impl Drop for Sweeping {
    fn drop(&mut self) {
        SWEEPING.with(|sweeping| sweeping.set(0));
    }
}

/// Runs `change` on a cache being migrated away from without its listener
/// counting the removals and replacements it makes (moka calls the listener
/// for those in the calling thread).
fn quietly<R>(change: impl FnOnce() -> R) -> R {
    struct Loud;
    impl Drop for Loud {
        fn drop(&mut self) {
            QUIET.with(|quiet| quiet.set(false));
        }
    }
    QUIET.with(|quiet| quiet.set(true));
    let _loud = Loud;
    change()
}

/// What the memory tier stores per key: the value and what expiry needs.
#[derive(Clone)]
pub(crate) struct Entry<V> {
    pub(crate) value: V,
    /// The entry's own TTL (`insert_with_ttl`, a policy's `expire_after`,
    /// the time left on a promoted persisted entry); `None` follows the
    /// region's memory TTL, whatever it is at the time.
    pub(crate) own_ttl: Option<Duration>,
    /// When it was stored: ages are counted from here, also across a
    /// rebuild.
    pub(crate) stored_at: Instant,
}

impl<V> Entry<V> {
    pub(crate) fn new(value: V, own_ttl: Option<Duration>) -> Entry<V> {
        Entry {
            value,
            own_ttl,
            stored_at: Instant::now(),
        }
    }
}

/// The time from `at` until `lifetime` after `from`.
#[inline]
fn left(from: Instant, lifetime: Duration, at: Instant) -> Duration {
    match from.checked_add(lifetime) {
        Some(end) => end.saturating_duration_since(at),
        None => lifetime,
    }
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// moka's per-entry expiry: each entry's lifetime under the current
/// settings (its TTL plus the fail-safe grace, counted from when it was
/// stored), and the TTI (counted from its last read).
struct EntryExpiry {
    live: Arc<Live>,
}

impl EntryExpiry {
    /// Time left from `at` for an entry written at `at`.
    #[inline]
    fn on_write<V>(&self, entry: &Entry<V>, at: Instant) -> Option<Duration> {
        let by_age = self
            .live
            .lifetime(entry.own_ttl)
            .map(|lifetime| left(entry.stored_at, lifetime, at));
        earliest(by_age, self.live.tti.get())
    }

    /// Time left from `read_at`, with TTI or while re-timing.
    fn on_read<V>(
        &self,
        entry: &Entry<V>,
        read_at: Instant,
        before: Option<Duration>,
        mode: u8,
    ) -> Option<Duration> {
        let by_age = self
            .live
            .lifetime(entry.own_ttl)
            .map(|lifetime| left(entry.stored_at, lifetime, read_at));
        let by_idle = match self.live.tti.get() {
            None => None,
            Some(tti) if mode & READ_RETIME != 0 && SWEEPING.with(Cell::get) == self.live.id() => {
                // The sweep's read is not a read: idleness runs from the
                // last one, at the latest the old deadline less the old TTI.
                match (self.live.old_tti.get(), before) {
                    (Some(old_tti), Some(before)) => {
                        let last = read_at
                            .checked_add(before)
                            .and_then(|deadline| deadline.checked_sub(old_tti))
                            .map_or(entry.stored_at, |last| last.max(entry.stored_at))
                            .min(read_at);
                        Some(left(last, tti, read_at))
                    }
                    _ => Some(tti),
                }
            }
            Some(tti) => Some(tti),
        };
        earliest(by_age, by_idle)
    }
}

impl<K, V> moka::Expiry<K, Entry<V>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _: &K,
        entry: &Entry<V>,
        created_at: Instant,
    ) -> Option<Duration> {
        self.on_write(entry, created_at)
    }

    fn expire_after_update(
        &self,
        _: &K,
        entry: &Entry<V>,
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.on_write(entry, updated_at)
    }

    #[inline]
    fn expire_after_read(
        &self,
        _: &K,
        entry: &Entry<V>,
        read_at: Instant,
        before: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        match self.live.read_mode.load(Ordering::Relaxed) {
            0 => before,
            mode => self.on_read(entry, read_at, before, mode),
        }
    }
}

/// What every listener of a region shares: where removals are counted and
/// announced.
pub(crate) struct ListenerBase<K> {
    pub(crate) region: Arc<str>,
    pub(crate) stats: Arc<RegionStats>,
    pub(crate) events: Events,
    /// The key's text for events; `None` for sensitive regions or keys
    /// without a text form.
    pub(crate) key_text: Option<fn(&K) -> String>,
}

impl<K> Clone for ListenerBase<K> {
    fn clone(&self) -> Self {
        ListenerBase {
            region: Arc::clone(&self.region),
            stats: Arc::clone(&self.stats),
            events: self.events.clone(),
            key_text: self.key_text,
        }
    }
}

impl<K> ListenerBase<K> {
    /// Counts and announces an entry leaving for `cause`.
    fn evicted(&self, key: &K, cause: EvictionCause) {
        self.stats.evict(cause);
        if self.events.wanted() {
            let key = self.key_text.map(|text| text(key));
            self.events
                .send(&self.region, EventKind::Evict { cause }, key);
        }
    }

    /// Counts an entry removed on request, as the listener does.
    fn removed(&self) {
        self.stats.remove();
        self.stats.evict(EvictionCause::Explicit);
    }
}

/// One cache's eviction listener.
struct Listener<K> {
    base: ListenerBase<K>,
    live: Arc<Live>,
}

impl<K> Listener<K> {
    fn on_removal<V>(&self, key: &K, entry: &Entry<V>, cause: RemovalCause) {
        let kind = match cause {
            // A migration's own changes to the old cache: moves, or
            // removals counted by whoever made them.
            RemovalCause::Replaced | RemovalCause::Explicit if QUIET.with(Cell::get) => return,
            // Counted under their cause too, so the causes add up to every
            // value that left; announced by the operation that made them
            // (one event for a whole clear), not here.
            RemovalCause::Replaced => {
                self.base.stats.update();
                self.base.stats.evict(EvictionCause::Replaced);
                return;
            }
            RemovalCause::Explicit => {
                self.base.removed();
                return;
            }
            RemovalCause::Size => EvictionCause::Size,
            RemovalCause::Expired => self.expiry_cause(entry),
        };
        self.base.evicted(key, kind);
    }

    /// moka says `Expired` for both age and idleness: an entry that expired
    /// before its TTL (under the current settings) was idle.
    fn expiry_cause<V>(&self, entry: &Entry<V>) -> EvictionCause {
        if self.live.tti().is_none() {
            return EvictionCause::Expired;
        }
        match self.live.entry_ttl(entry.own_ttl) {
            Some(ttl) if entry.stored_at.elapsed() >= ttl => EvictionCause::Expired,
            _ => EvictionCause::Idle,
        }
    }
}

/// What a memory cache is built with: what a change can only apply by a
/// rebuild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) eviction: Eviction,
    pub(crate) max_entries: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
}

impl Shape {
    pub(crate) fn of(settings: &RegionSettings) -> Shape {
        Shape {
            eviction: settings.eviction,
            max_entries: settings.max_entries,
            max_bytes: settings.max_bytes,
        }
    }
}

/// One moka cache and what it was built with.
struct Level<K, V> {
    cache: Cache<K, Entry<V>>,
    shape: Shape,
}

/// The caches readers use: the current one and, during a migration, the
/// previous one.
struct Caches<K, V> {
    current: Level<K, V>,
    previous: Option<Level<K, V>>,
}

/// Per-thread counts of the writers using [`MemoryLevel::first`] directly,
/// so that the first rebuild can wait for them (they pay two uncontended
/// adds on their own cache line; readers pay nothing).
struct Writers {
    shards: Box<[Padded]>,
}

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

/// A writer in flight: leaves its shard when dropped.
struct Writing<'a>(&'a AtomicU64);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_INDEX: Cell<u64> = const { Cell::new(u64::MAX) };
}

fn thread_index() -> usize {
    THREAD_INDEX
        .try_with(|index| {
            if index.get() == u64::MAX {
                index.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
            }
            index.get() as usize
        })
        .unwrap_or(0)
}

impl Writers {
    fn new() -> Writers {
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .saturating_mul(2)
            .next_power_of_two()
            .clamp(2, 64);
        Writers {
            shards: (0..shards).map(|_| Padded::default()).collect(),
        }
    }

    /// Counts this thread in until the guard drops. A flag it loads after
    /// this is seen set, or the [`Writers::drain`] of whoever set it waits
    /// for it (the fences pair up: Dekker).
    fn enter(&self) -> Writing<'_> {
        let shard = &self.shards[thread_index() & (self.shards.len() - 1)].0;
        shard.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        Writing(shard)
    }

    /// Waits until every writer that entered before this call has left.
    fn drain(&self) {
        fence(Ordering::SeqCst);
        for shard in self.shards.iter() {
            // A shard seen at zero once is enough: a writer that entered
            // before keeps it above zero until it leaves; one entering
            // after sees the flag.
            while shard.0.load(Ordering::SeqCst) != 0 {
                std::thread::yield_now();
            }
        }
    }
}

/// Per-key locks taken while a migration runs (writers, promotions, the
/// migration's copies).
const KEY_LOCKS: usize = 64;

/// What a rebuild did.
pub(crate) struct Rebuilt {
    /// Old entries now in the new cache (copied, or promoted by a read).
    pub(crate) kept: u64,
    /// Old entries dropped because the new limit is smaller.
    pub(crate) dropped: u64,
}

/// A new cache of `shape`: count or weight limit, TinyLFU or LRU, the live
/// expiry and a listener of its own.
fn build<K, V>(
    shape: Shape,
    live: &Arc<Live>,
    weigh: fn(&K, &V) -> u32,
    policy: &Arc<PolicySlot<K, V>>,
    base: &ListenerBase<K>,
) -> Level<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let listener = Listener {
        base: base.clone(),
        live: Arc::clone(live),
    };
    let mut builder = Cache::builder()
        .eviction_policy(match shape.eviction {
            Eviction::TinyLfu => EvictionPolicy::tiny_lfu(),
            Eviction::Lru => EvictionPolicy::lru(),
        })
        .expire_after(EntryExpiry {
            live: Arc::clone(live),
        });
    if let Some(max_bytes) = shape.max_bytes {
        let policy = Arc::clone(policy);
        builder = builder
            .max_capacity(max_bytes)
            .weigher(move |key: &K, entry: &Entry<V>| {
                policy
                    .weigh(key, &entry.value)
                    .unwrap_or_else(|| weigh(key, &entry.value))
            });
    } else if let Some(max_entries) = shape.max_entries {
        builder = builder.max_capacity(max_entries);
    }
    let cache = builder
        .eviction_listener(move |key: Arc<K>, entry: Entry<V>, cause| {
            listener.on_removal(&key, &entry, cause);
        })
        .build();
    Level { cache, shape }
}

/// A region's memory level: the published moka cache(s), how to build
/// them, and the hotness sketch.
pub(crate) struct MemoryLevel<K, V> {
    /// The cache the level opened with, used directly (one relaxed load of
    /// `swapped`, no arc-swap) until the first rebuild. It stays allocated,
    /// empty, after that.
    first: Cache<K, Entry<V>>,
    /// Set for good by the first rebuild: from then on `caches` is used.
    swapped: AtomicBool,
    /// The writers using `first` directly.
    writers: Writers,
    /// The published cache(s): `first` alone until the first rebuild.
    caches: ArcSwap<Caches<K, V>>,
    locks: Box<[Mutex<()>]>,
    hasher: SketchHasher,
    sketch: Sketch,
    live: Arc<Live>,
    weigh: fn(&K, &V) -> u32,
    policy: Arc<PolicySlot<K, V>>,
    base: ListenerBase<K>,
    /// Old entries promoted by reads during the migration in progress.
    promoted: AtomicU64,
    /// Whether entries move from the old cache to the new one (see
    /// [`MemoryLevel::rebuild`]): not until no one uses the old one alone.
    moving: AtomicBool,
}

impl<K, V> MemoryLevel<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(
        settings: &RegionSettings,
        weigh: fn(&K, &V) -> u32,
        policy: Arc<PolicySlot<K, V>>,
        base: ListenerBase<K>,
        live: Arc<Live>,
    ) -> MemoryLevel<K, V> {
        let shape = Shape::of(settings);
        let current = build(shape, &live, weigh, &policy, &base);
        MemoryLevel {
            first: current.cache.clone(),
            swapped: AtomicBool::new(false),
            writers: Writers::new(),
            caches: ArcSwap::from_pointee(Caches {
                current,
                previous: None,
            }),
            locks: (0..KEY_LOCKS).map(|_| Mutex::new(())).collect(),
            hasher: SketchHasher::new(),
            sketch: Sketch::new(shape.max_entries.unwrap_or(4_096)),
            live,
            weigh,
            policy,
            base,
            promoted: AtomicU64::new(0),
            moving: AtomicBool::new(false),
        }
    }

    /// `key`'s entry (the hit path): one moka get, after one load of
    /// `swapped` (and, once rebuilt, of the published caches).
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<Entry<V>> {
        if !self.swapped.load(Ordering::Acquire) {
            if let Some(entry) = self.first.get(key) {
                return Some(entry);
            }
            // A miss may be an entry the first rebuild has just moved (it
            // sets the flag before it moves anything).
            if !self.swapped.load(Ordering::Acquire) {
                return None;
            }
        }
        self.get_published(key)
    }

    /// [`MemoryLevel::get`] once the level has been rebuilt.
    fn get_published(&self, key: &K) -> Option<Entry<V>> {
        let caches = self.caches.load();
        match caches.current.cache.get(key) {
            Some(entry) => Some(entry),
            None => match &caches.previous {
                None => None,
                Some(previous) => self.get_previous(&caches, previous, key),
            },
        }
    }

    /// A read missing the new cache during a migration: the previous one,
    /// whose hit is promoted once entries move; else the new one again (an
    /// entry may have moved between the two reads: a move writes the new
    /// cache before it removes from the old).
    #[cold]
    fn get_previous(
        &self,
        caches: &Caches<K, V>,
        previous: &Level<K, V>,
        key: &K,
    ) -> Option<Entry<V>> {
        match previous.cache.get(key) {
            Some(entry) if !self.moving.load(Ordering::Acquire) => Some(entry),
            Some(entry) => {
                let _key = self.lock(key);
                if let Some(entry) = previous.cache.get(key) {
                    if !caches.current.cache.contains_key(key) {
                        caches.current.cache.insert(key.clone(), entry);
                        self.promoted.fetch_add(1, Ordering::Relaxed);
                    }
                    quietly(|| previous.cache.invalidate(key));
                }
                Some(entry)
            }
            None => caches.current.cache.get(key),
        }
    }

    /// Counts a read of `key` in the hotness sketch (timed hits only).
    #[inline]
    pub(crate) fn record(&self, key: &K) {
        self.sketch.record(&self.hasher, key);
    }

    fn lock(&self, key: &K) -> MutexGuard<'_, ()> {
        let index = self.hasher.hash_one(key) as usize % self.locks.len();
        self.locks[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `entry` for `key`. Without a migration, straight into the
    /// cache; during one, under the key's lock, into the new cache, and the
    /// old cache's entry goes (so the migration never copies an older value
    /// over it, and nothing older resurfaces from the old cache).
    pub(crate) fn insert(&self, key: K, entry: Entry<V>) {
        if !self.swapped.load(Ordering::Acquire) {
            let _writing = self.writers.enter();
            if !self.swapped.load(Ordering::SeqCst) {
                // The first rebuild waits for this before it ranks entries.
                self.first.insert(key, entry);
                return;
            }
        }
        let caches = self.caches.load();
        if caches.previous.is_none() {
            // A rebuild waits for this guard before it moves anything.
            caches.current.cache.insert(key, entry);
            return;
        }
        let _key = self.lock(&key);
        caches.current.cache.insert(key.clone(), entry);
        if let Some(previous) = &caches.previous
            && self.moving.load(Ordering::Acquire)
        {
            quietly(|| previous.cache.invalidate(&key));
        }
    }

    /// Removes `key`; whether it was held (counted as a removal either way,
    /// by the listener or here).
    pub(crate) fn remove(&self, key: &K) -> bool {
        if !self.swapped.load(Ordering::Acquire) {
            let _writing = self.writers.enter();
            if !self.swapped.load(Ordering::SeqCst) {
                return self.first.remove(key).is_some();
            }
        }
        let caches = self.caches.load();
        if caches.previous.is_none() {
            return caches.current.cache.remove(key).is_some();
        }
        let _key = self.lock(key);
        let in_current = caches.current.cache.remove(key).is_some();
        let in_previous = caches
            .previous
            .as_ref()
            .is_some_and(|previous| quietly(|| previous.cache.remove(key)).is_some());
        if in_previous && !in_current {
            self.base.removed();
        }
        in_current || in_previous
    }

    /// Empties the level; how many entries it held (each counted as a
    /// removal).
    pub(crate) fn clear(&self) -> u64 {
        // Through the published caches: a rebuild waits for this guard.
        let caches = self.caches.load();
        if caches.previous.is_none() {
            let cache = &caches.current.cache;
            cache.run_pending_tasks();
            let removed = cache.entry_count();
            cache.invalidate_all();
            cache.run_pending_tasks();
            return removed;
        }
        // Every key lock: no copy or promotion is half done.
        let _all: Vec<MutexGuard<'_, ()>> = self
            .locks
            .iter()
            .map(|lock| lock.lock().unwrap_or_else(PoisonError::into_inner))
            .collect();
        let mut removed = 0;
        if let Some(previous) = &caches.previous {
            // Key by key, counted here: moka would announce an
            // `invalidate_all` later, from whichever thread maintains it.
            for (key, _) in previous.cache.iter() {
                if quietly(|| previous.cache.remove(&*key)).is_some() {
                    self.base.removed();
                    removed += 1;
                }
            }
        }
        let cache = &caches.current.cache;
        cache.run_pending_tasks();
        removed += cache.entry_count();
        cache.invalidate_all();
        cache.run_pending_tasks();
        removed
    }

    /// Calls `each` on every entry held (both caches during a migration,
    /// each key once).
    pub(crate) fn for_each(&self, mut each: impl FnMut(&K, Entry<V>)) {
        self.for_each_while(|key, entry| {
            each(key, entry);
            true
        });
    }

    /// [`MemoryLevel::for_each`] until `each` returns `false`.
    pub(crate) fn for_each_while(&self, mut each: impl FnMut(&K, Entry<V>) -> bool) {
        let caches = self.caches.load();
        for (key, entry) in caches.current.cache.iter() {
            if !each(&key, entry) {
                return;
            }
        }
        if let Some(previous) = &caches.previous {
            for (key, entry) in previous.cache.iter() {
                if !caches.current.cache.contains_key(&*key) && !each(&key, entry) {
                    return;
                }
            }
        }
    }

    /// Whether the level is limited by weight (`max_bytes`).
    pub(crate) fn by_weight(&self) -> bool {
        self.caches.load().current.shape.max_bytes.is_some()
    }

    pub(crate) fn entry_count(&self) -> u64 {
        let caches = self.caches.load();
        caches.current.cache.entry_count()
            + caches
                .previous
                .as_ref()
                .map_or(0, |previous| previous.cache.entry_count())
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        let caches = self.caches.load();
        caches.current.cache.weighted_size()
            + caches
                .previous
                .as_ref()
                .map_or(0, |previous| previous.cache.weighted_size())
    }

    /// Applies moka's pending maintenance (evictions, listener calls).
    pub(crate) fn run_pending_tasks(&self) {
        let caches = self.caches.load();
        caches.current.cache.run_pending_tasks();
        if let Some(previous) = &caches.previous {
            previous.cache.run_pending_tasks();
        }
    }

    /// The current cache's shape.
    pub(crate) fn shape(&self) -> Shape {
        self.caches.load().current.shape
    }

    /// The weight `entry` counts for in a byte-limited cache.
    fn weight(&self, key: &K, entry: &Entry<V>) -> u64 {
        u64::from(
            self.policy
                .weigh(key, &entry.value)
                .unwrap_or_else(|| (self.weigh)(key, &entry.value)),
        )
    }

    /// `cache`'s keys, hottest first: by the sketch's estimate, ties by
    /// the most recently stored; with each entry's weight.
    fn ranked(&self, cache: &Cache<K, Entry<V>>, weighed: bool) -> Vec<Ranked<K>> {
        let mut ranked: Vec<Ranked<K>> = cache
            .iter()
            .map(|(key, entry)| Ranked {
                hits: self.sketch.estimate(&self.hasher, &*key),
                stored_at: entry.stored_at,
                weight: if weighed {
                    self.weight(&key, &entry)
                } else {
                    1
                },
                key,
            })
            .collect();
        ranked.sort_unstable_by(|a, b| {
            b.hits
                .cmp(&a.hits)
                .then_with(|| b.stored_at.cmp(&a.stored_at))
        });
        ranked
    }

    /// Gives every entry its deadline under the timing settings now in
    /// [`Live`] (see the module's notes): one recorded read per entry,
    /// coldest first.
    pub(crate) fn retime(&self) {
        let caches = self.caches.load_full();
        let cache = &caches.current.cache;
        let _sweeping = Sweeping::enter(&self.live);
        cache.run_pending_tasks();
        let ranked = self.ranked(cache, false);
        for (done, ranked) in ranked.iter().rev().enumerate() {
            let _ = cache.get(&*ranked.key);
            if done % 256 == 255 {
                // Apply the reads (and their new deadlines) before moka's
                // read log fills and drops some.
                cache.run_pending_tasks();
            }
        }
        cache.run_pending_tasks();
    }

    /// Replaces the cache with one of `shape`, keeping the old entries
    /// that fit, hottest first, while readers and writers go on.
    ///
    /// 1. The new cache is published with the old one as `previous`: reads
    ///    try the new one, then the old one, then the new one again; writes
    ///    go to the new one, under the key's lock; removals and clears
    ///    apply to both.
    /// 2. Some may still use the old cache alone (they loaded it before):
    ///    until they are done (arc-swap counts them once it is replaced;
    ///    the first rebuild also waits for the writers of the first cache,
    ///    and its readers check the published caches after a miss),
    ///    nothing moves out of it.
    /// 3. Then entries move: a write removes the old value, a hit in the old
    ///    cache is promoted, and the old entries are ranked (the sketch's
    ///    estimate, ties by recency). Those that do not fit the new limit
    ///    are dropped and counted as size evictions; the others are copied,
    ///    coldest of them first so the hottest are the most recent, unless
    ///    their key was written since. Each move takes the key's lock,
    ///    writes the new cache before it removes from the old one, and is
    ///    not counted by the old cache's listener.
    /// 4. The new cache is published alone.
    pub(crate) fn rebuild(&self, shape: Shape) -> Rebuilt {
        let fresh = build(shape, &self.live, self.weigh, &self.policy, &self.base);
        let old = self.caches.load_full();
        let migrating = Arc::new(Caches {
            current: Level {
                cache: fresh.cache.clone(),
                shape,
            },
            previous: Some(Level {
                cache: old.current.cache.clone(),
                shape: old.current.shape,
            }),
        });
        self.promoted.store(0, Ordering::Relaxed);
        self.caches.store(migrating);
        if !self.swapped.load(Ordering::Relaxed) {
            // The first rebuild: readers and writers of `first` switch to
            // the published caches. A reader missing `first` from now on
            // checks them; the writers still on `first` are waited for.
            self.swapped.store(true, Ordering::SeqCst);
            self.writers.drain();
        }
        // Replacing the caches turned every guard still on the old ones
        // into a counted reference: once only ours is left, every reader
        // and writer uses both caches (and nothing moved before could be
        // missed, nor written to the old cache alone after).
        while Arc::strong_count(&old) > 1 {
            std::thread::yield_now();
        }
        // Until now, someone may have read the old cache alone: nothing
        // moved out of it (no promotion, no removal for a write) so that
        // such a read found what it would have before.
        self.moving.store(true, Ordering::SeqCst);
        // Writers that had not seen that yet are done once each key lock
        // has been free once.
        for lock in self.locks.iter() {
            drop(lock.lock().unwrap_or_else(PoisonError::into_inner));
        }
        let new = fresh.cache.clone();
        let previous = &old.current.cache;
        // Values written to the new cache meanwhile replace the old ones.
        for (key, _) in new.iter() {
            let _key = self.lock(&key);
            quietly(|| previous.invalidate(&*key));
        }

        previous.run_pending_tasks();
        let weighed = shape.max_bytes.is_some();
        let ranked = self.ranked(previous, weighed);
        // What reads promoted and writers stored since the publication
        // takes room already (measured after the ranking: a key promoted
        // in between counts twice, never not at all).
        new.run_pending_tasks();
        let taken = if weighed {
            new.weighted_size()
        } else {
            new.entry_count()
        };
        let limit = shape
            .max_bytes
            .or(shape.max_entries)
            .unwrap_or(u64::MAX)
            .saturating_sub(taken);
        // Hottest first while they fit (a heavy entry that does not fit
        // leaves room for lighter, colder ones).
        let mut used = 0u64;
        let (keep, drop): (Vec<Ranked<K>>, Vec<Ranked<K>>) =
            ranked
                .into_iter()
                .partition(|ranked| match used.checked_add(ranked.weight) {
                    Some(total) if total <= limit => {
                        used = total;
                        true
                    }
                    _ => false,
                });
        let mut rebuilt = Rebuilt {
            kept: 0,
            dropped: 0,
        };
        for ranked in &drop {
            let key = &*ranked.key;
            let _key = self.lock(key);
            // Gone already when promoted, rewritten, removed or expired.
            if quietly(|| previous.remove(key)).is_some() {
                self.base.evicted(key, EvictionCause::Size);
                rebuilt.dropped += 1;
            }
        }
        // Coldest of the kept first, so that the hottest are the most
        // recent in the new cache's LRU order.
        for ranked in keep.iter().rev() {
            let key = &*ranked.key;
            let _key = self.lock(key);
            if let Some(entry) = previous.get(key) {
                // A key written since is newer in the new cache already.
                if !new.contains_key(key) {
                    new.insert(key.clone(), entry);
                    rebuilt.kept += 1;
                }
                // After the insert: a reader missing both caches reads the
                // new one again.
                quietly(|| previous.invalidate(key));
            }
        }
        self.caches.store(Arc::new(Caches {
            current: fresh,
            previous: None,
        }));
        self.moving.store(false, Ordering::SeqCst);
        rebuilt.kept += self.promoted.swap(0, Ordering::Relaxed);
        new.run_pending_tasks();
        rebuilt
    }
}

/// An entry of a cache being migrated, as ranked.
struct Ranked<K> {
    key: Arc<K>,
    hits: u32,
    stored_at: Instant,
    weight: u64,
}
