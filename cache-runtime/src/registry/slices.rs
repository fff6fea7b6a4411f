//! The linker's lists the registry is built from: the ground floor every
//! declaration adds to (through `__private`, which re-exports them for the
//! generated code).

use linkme::distributed_slice;

use crate::descriptor::RegionDescriptor;
use crate::provider::ProviderDescriptor;

// linkme names a slice's linker section after the static's identifier, so two
// slices with one name in one binary collide. These carry the crate and its
// minor version so that another library (or another version of this one)
// never clashes with them.

/// One 16-byte entry per region declared with `#[cache_region]` or
/// `#[custom_cache_region]` in the program: the name's hash (computed when
/// the declaration is expanded) and the address of the descriptor, a plain
/// static beside it. Building the registry's index reads only this
/// contiguous list, never the descriptors themselves, which are large and
/// spread over many pages; a declaration adds one element to one list (each
/// element is a linkme expansion, a large part of what a declaration costs
/// the compiler).
#[distributed_slice]
pub static CACHE_RUNTIME_0_1_REGIONS: [RegionIndexEntry];

/// An entry of `CACHE_RUNTIME_0_1_REGIONS`.
pub struct RegionIndexEntry {
    /// `name_hash` of the region's name.
    pub hash: u64,
    /// The region's descriptor.
    pub descriptor: &'static RegionDescriptor,
}

/// Every function declared with `#[cache_config_provider]` in the program.
#[distributed_slice]
pub static CACHE_RUNTIME_0_1_PROVIDERS: [ProviderDescriptor];
