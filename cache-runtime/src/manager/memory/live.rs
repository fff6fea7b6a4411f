//! [`Live`]: a region's settings that apply without rebuilding anything
//! (timing and hot-path flags), read with one relaxed load each;
//! [`LiveDuration`], what its durations are; [`Freshness`], what a hit is
//! under them.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use cache_spec::{RegionSettings, Tier};

use super::entry::Entry;

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

/// What `EntryExpiry::expire_after_read` (moka's `Expiry`) has to do: a TTI is set.
const READ_TTI: u8 = 1;
/// What `EntryExpiry::expire_after_read` (moka's `Expiry`) has to do: re-time the entry.
pub(super) const READ_RETIME: u8 = 2;

/// A region's settings that apply without rebuilding anything, shared by
/// the store, the expiry and the listeners; every field is read with one
/// relaxed load.
pub(crate) struct Live {
    /// [`DISABLED`], [`FAIL_SAFE`], [`CHECKING`]: the one load a get pays.
    flags: AtomicU8,
    /// [`READ_TTI`], [`READ_RETIME`]: the one load moka's read callback pays.
    pub(super) read_mode: AtomicU8,
    /// The region's TTL (the second level's, for disk and Redis writes).
    ttl: LiveDuration,
    /// The memory level's TTL for entries without their own: `ttl`, or a
    /// hybrid region's `min(memory_ttl, ttl)`.
    level_ttl: LiveDuration,
    pub(super) tti: LiveDuration,
    /// Fail-safe grace; none when off.
    grace: LiveDuration,
    /// The TTI before the re-timing in progress.
    pub(super) old_tti: LiveDuration,
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

    /// Whether entries without a TTL of their own expire under `settings`
    /// (a memory TTL or a TTI): what needs moka's per-entry expiry. The
    /// fail-safe grace alone does not: it lengthens a lifetime, and with no
    /// TTL there is none.
    pub(crate) fn times_entries(&self, settings: &RegionSettings) -> bool {
        let (_, level_ttl, tti, _) = Live::timing_of(settings, self.cap_own);
        level_ttl.is_some() || tti.is_some()
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
    pub(super) fn lifetime(&self, own: Option<Duration>) -> Option<Duration> {
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
        let Some(ttl) = self.entry_ttl(entry.own_ttl()) else {
            return Freshness::Fresh;
        };
        let age = entry.stored_at().elapsed();
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

    pub(super) fn id(&self) -> usize {
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
