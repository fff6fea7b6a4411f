//! The trait that makes a type a region marker.

use crate::descriptor::RegionDescriptor;

/// A type that names a cache region: `#[cache_region(...)]` and
/// `#[custom_cache_region(...)]` implement it on the unit struct (or
/// fieldless enum) they annotate. The type is the typed, compile-time handle
/// to the region: `registry().region::<ModelMetadata>()` reaches its
/// descriptor without looking up a name.
///
/// Implement it through the attributes; a hand-written impl whose
/// descriptor is not in the link-time registry is found by name instead.
pub trait CacheRegion: 'static {
    /// The type of the region's keys.
    type Key: 'static;
    /// The type of the region's values.
    type Value: 'static;
    /// The region's descriptor, stored in the link-time registry.
    const DESCRIPTOR: &'static RegionDescriptor;
    /// The region's entry in the linker's list, for a declared region
    /// (`None` for a hand-written impl): how the registry finds it by type
    /// in constant time. Set by the attributes; not public API.
    #[doc(hidden)]
    const __LINKED: Option<&'static crate::registry::slices::RegionIndexEntry> = None;
}
