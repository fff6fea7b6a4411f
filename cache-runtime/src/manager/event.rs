//! [`CacheEvent`]: what the manager announces to [`subscribe`](super::CacheManager::subscribe)rs.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::stats::EvictionCause;

/// Something that happened to a region, as [`CacheManager::subscribe`]
/// delivers it.
///
/// [`CacheManager::subscribe`]: super::CacheManager::subscribe
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CacheEvent {
    /// The region's name.
    #[serde(serialize_with = "serialize_str")]
    pub region: Arc<str>,
    /// What happened.
    pub kind: EventKind,
    /// The key's text form (see [`RegionHandle::key_text`]); `None` for
    /// region-wide events, for keys without a text form, and always for
    /// sensitive regions.
    ///
    /// [`RegionHandle::key_text`]: super::RegionHandle::key_text
    pub key: Option<String>,
    /// What changed or went wrong, in words: the fields a configuration
    /// change set (`ttl: 1h -> 10m`), why a config file was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn serialize_str<S: serde::Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// The kind of a [`CacheEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
pub enum EventKind {
    /// A value was stored (an insert, or a load's result).
    Insert,
    /// An entry was removed on request.
    Remove,
    /// An entry left on its own (expiry, idleness, size limit).
    Evict {
        /// Why.
        cause: EvictionCause,
    },
    /// The region was cleared, wholly or by a pattern.
    Clear {
        /// How many entries were removed.
        removed: u64,
    },
    /// Entries were reloaded or invalidated by [`refresh`].
    ///
    /// [`refresh`]: super::CacheManager::refresh
    Refresh {
        /// How many keys were refreshed.
        keys: u64,
    },
    /// The region's configuration changed (details in
    /// [`CacheEvent::detail`]).
    ConfigChange {
        /// The configuration version that changed it.
        version: u64,
    },
    /// A configuration (the watched config file, a change from another
    /// instance) was rejected; the running one stays. The region is
    /// `(config)`; the reason is in [`CacheEvent::detail`].
    ConfigRejected,
    /// A region was added to the manager at run time.
    RegionAdded,
    /// A value was not stored: its second level refused the write (a key
    /// or value over the tier's limits, a file that cannot be written).
    /// The reason is in [`CacheEvent::detail`]; `try_insert` returns it as
    /// an error, `insert` returns `false`.
    WriteRefused,
}

/// The sending side every region of a manager shares. Sending costs one
/// atomic load when nobody listens.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    sender: broadcast::Sender<CacheEvent>,
}

impl Events {
    pub(crate) fn new(capacity: usize) -> Events {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Events { sender }
    }

    /// Whether anyone listens: check before building an event.
    #[inline]
    pub(crate) fn wanted(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub(crate) fn send(&self, region: &Arc<str>, kind: EventKind, key: Option<String>) {
        if self.wanted() {
            // No receiver left between the check and the send: nothing to do.
            let _ = self.sender.send(CacheEvent {
                region: Arc::clone(region),
                kind,
                key,
                detail: None,
            });
        }
    }

    /// Sends an event with a detail (configuration events).
    pub(crate) fn send_detail(&self, region: &Arc<str>, kind: EventKind, detail: String) {
        if self.wanted() {
            let _ = self.sender.send(CacheEvent {
                region: Arc::clone(region),
                kind,
                key: None,
                detail: Some(detail),
            });
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.sender.subscribe()
    }
}
