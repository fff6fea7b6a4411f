//! [`Entry`]: what the memory tier stores per key, the value with what its
//! expiry needs, in 16 bytes beside the value.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The instant entries count their storage time from: the first use in the
/// process. Every entry's `stored_at` is at or after it.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// `own_ttl_ns` for an entry that follows the region's TTL.
const NO_OWN_TTL: u64 = u64::MAX;

/// What the memory tier stores per key: the value and what expiry needs.
/// The two times are nanoseconds in a `u64` each (584 years) rather than a
/// `Duration` and an `Instant` (16 bytes each with padding): an entry costs
/// its value plus 16 bytes.
#[derive(Clone)]
pub(crate) struct Entry<V> {
    pub(crate) value: V,
    /// The entry's own TTL in ns (`insert_with_ttl`, a policy's
    /// `expire_after`, the time left on a promoted persisted entry);
    /// [`NO_OWN_TTL`] follows the region's memory TTL, whatever it is at
    /// the time. A TTL of 584 years or more is stored as 584 years.
    own_ttl_ns: u64,
    /// When it was stored, in ns after [`EPOCH`]: ages are counted from
    /// here, also across a rebuild.
    stored_ns: u64,
}

impl<V> Entry<V> {
    pub(crate) fn new(value: V, own_ttl: Option<Duration>) -> Entry<V> {
        let epoch = *EPOCH;
        Entry {
            value,
            own_ttl_ns: own_ttl.map_or(NO_OWN_TTL, |ttl| nanos(ttl).min(NO_OWN_TTL - 1)),
            stored_ns: nanos(Instant::now().saturating_duration_since(epoch)),
        }
    }

    /// The entry's own TTL; `None` follows the region's.
    #[inline]
    pub(crate) fn own_ttl(&self) -> Option<Duration> {
        (self.own_ttl_ns != NO_OWN_TTL).then(|| Duration::from_nanos(self.own_ttl_ns))
    }

    /// Whether the entry has a TTL of its own.
    #[inline]
    pub(crate) fn has_own_ttl(&self) -> bool {
        self.own_ttl_ns != NO_OWN_TTL
    }

    /// When it was stored.
    #[inline]
    pub(crate) fn stored_at(&self) -> Instant {
        *EPOCH + Duration::from_nanos(self.stored_ns)
    }
}

/// `duration` in whole nanoseconds, saturating at `u64::MAX`.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_costs_its_value_and_16_bytes() {
        assert_eq!(
            size_of::<Entry<Vec<u8>>>(),
            size_of::<Vec<u8>>() + 16,
            "the memory tier's per-entry overhead on top of moka"
        );
        assert_eq!(size_of::<Entry<u64>>(), 24);
    }

    #[test]
    fn times_read_back_as_stored() {
        let before = Instant::now();
        let entry = Entry::new("v", Some(Duration::from_millis(1_500)));
        let after = Instant::now();
        assert_eq!(entry.own_ttl(), Some(Duration::from_millis(1_500)));
        // At or after the instant before it was made, at or before the one
        // after (nanosecond rounding of the epoch offset aside).
        assert!(entry.stored_at() + Duration::from_nanos(1) >= before);
        assert!(entry.stored_at() <= after);

        assert_eq!(Entry::new("v", None).own_ttl(), None);
        let forever = Entry::new("v", Some(Duration::MAX));
        assert_eq!(
            forever.own_ttl(),
            Some(Duration::from_nanos(NO_OWN_TTL - 1)),
            "a TTL beyond 584 years is 584 years, not none"
        );
        assert_eq!(
            Entry::new("v", Some(Duration::ZERO)).own_ttl(),
            Some(Duration::ZERO)
        );
    }
}
