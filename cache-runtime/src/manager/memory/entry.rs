//! [`Entry`]: what the memory tier stores per key, the value with what its
//! expiry needs.

use std::time::{Duration, Instant};

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
