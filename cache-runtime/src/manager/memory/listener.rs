//! The eviction listener: [`ListenerBase`], where a region's evictions (the
//! cache's own decisions: expired, idle, size) are counted and announced;
//! [`Listener`], one cache's; [`quietly`], for a migration's own changes,
//! which no listener counts. Removals and clears are counted by the store
//! that makes them, once per key across levels.

use std::cell::Cell;
use std::sync::Arc;

use moka::notification::RemovalCause;

use super::entry::Entry;
use super::live::Live;
use crate::manager::event::{EventKind, Events};
use crate::stats::{EvictionCause, RegionStats};

thread_local! {
    /// Set while this thread changes a cache being migrated away from (its
    /// listener counts none of that: the entries move, or are counted by
    /// whoever removes them).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `change` on a cache being migrated away from without its listener
/// counting the removals and replacements it makes (moka calls the listener
/// for those in the calling thread).
pub(super) fn quietly<R>(change: impl FnOnce() -> R) -> R {
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

/// What every listener of a region shares: where removals are counted and
/// announced.
pub(crate) struct ListenerBase<K> {
    pub(crate) region: Arc<str>,
    pub(crate) stats: Arc<RegionStats>,
    pub(crate) events: Events,
    /// The key's text for events; `None` for sensitive regions or keys
    /// without a text form.
    pub(crate) key_text: Option<fn(&K) -> String>,
    /// Whether replacements here are the region's updates: true for a
    /// memory-only region (a hybrid's second level decides instead).
    pub(crate) counts_updates: bool,
}

impl<K> Clone for ListenerBase<K> {
    fn clone(&self) -> Self {
        ListenerBase {
            region: Arc::clone(&self.region),
            stats: Arc::clone(&self.stats),
            events: self.events.clone(),
            key_text: self.key_text,
            counts_updates: self.counts_updates,
        }
    }
}

impl<K> ListenerBase<K> {
    /// Counts and announces an entry leaving for `cause`.
    pub(super) fn evicted(&self, key: &K, cause: EvictionCause) {
        self.stats.evict(cause);
        if self.events.wanted() {
            let key = self.key_text.map(|text| text(key));
            self.events
                .send(&self.region, EventKind::Evict { cause }, key);
        }
    }
}

/// One cache's eviction listener.
pub(super) struct Listener<K> {
    pub(super) base: ListenerBase<K>,
    pub(super) live: Arc<Live>,
}

impl<K> Listener<K> {
    pub(super) fn on_removal<V>(&self, key: &K, entry: &Entry<V>, cause: RemovalCause) {
        let kind = match cause {
            // A migration's own changes to the old cache: moves, or
            // removals counted by whoever made them.
            RemovalCause::Replaced | RemovalCause::Explicit if QUIET.with(Cell::get) => return,
            // An update, not an eviction; announced by the insert.
            RemovalCause::Replaced => {
                if self.base.counts_updates {
                    self.base.stats.update();
                }
                return;
            }
            // Removals and clears: counted and announced by the store.
            RemovalCause::Explicit => return,
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
        match self.live.entry_ttl(entry.own_ttl()) {
            Some(ttl) if entry.stored_at().elapsed() >= ttl => EvictionCause::Expired,
            _ => EvictionCause::Idle,
        }
    }
}
