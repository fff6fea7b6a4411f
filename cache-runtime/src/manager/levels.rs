//! [`Levels`]: where a region's entries live, by the shape its tier gives
//! it — a memory level, a second level, or both as a [`Hybrid`].

use super::hybrid::Hybrid;
use super::memory::MemoryLevel;
use super::second::Second;

/// A region's levels.
// One per region, read on every get: the hybrid pair inline (no pointer to
// follow on a hybrid hit) is worth the bytes the smaller shapes waste.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Levels<K, V> {
    /// `memory`: a moka cache, nothing else.
    Memory(MemoryLevel<K, V>),
    /// `disk`, `redis`, `backend`: a second level only (every read waits
    /// for it).
    Second(Second<K, V>),
    /// `hybrid`: a memory level in front of a second level.
    Hybrid(Hybrid<K, V>),
}

impl<K, V> Levels<K, V> {
    /// The memory level, when there is one.
    #[inline]
    pub(crate) fn memory(&self) -> Option<&MemoryLevel<K, V>> {
        match self {
            Levels::Memory(memory) => Some(memory),
            Levels::Hybrid(hybrid) => Some(hybrid.memory()),
            Levels::Second(_) => None,
        }
    }

    /// The second level, when there is one.
    #[inline]
    pub(crate) fn second(&self) -> Option<&Second<K, V>> {
        match self {
            Levels::Second(second) => Some(second),
            Levels::Hybrid(hybrid) => Some(hybrid.second()),
            Levels::Memory(_) => None,
        }
    }

    /// The hybrid pair, for a hybrid region.
    #[inline]
    pub(crate) fn hybrid(&self) -> Option<&Hybrid<K, V>> {
        match self {
            Levels::Hybrid(hybrid) => Some(hybrid),
            Levels::Memory(_) | Levels::Second(_) => None,
        }
    }
}
