//! [`EntryExpiry`]: moka's per-entry expiry over [`Live`], TTI included.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::entry::Entry;
use super::live::{Live, READ_RETIME};
use super::retime::SWEEPING;

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
pub(super) struct EntryExpiry {
    pub(super) live: Arc<Live>,
}

impl EntryExpiry {
    /// Time left from `at` for an entry written at `at`.
    #[inline]
    fn on_write<V>(&self, entry: &Entry<V>, at: Instant) -> Option<Duration> {
        let by_age = self
            .live
            .lifetime(entry.own_ttl())
            .map(|lifetime| left(entry.stored_at(), lifetime, at));
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
            .lifetime(entry.own_ttl())
            .map(|lifetime| left(entry.stored_at(), lifetime, read_at));
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
                            .map_or(entry.stored_at(), |last| last.max(entry.stored_at()))
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
