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

/// Every region declared with `#[cache_region]` or `#[custom_cache_region]`
/// in the program.
#[distributed_slice]
pub static CACHE_RUNTIME_0_1_REGIONS: [RegionDescriptor];

/// One 16-byte entry per declared region, beside its descriptor: the name's
/// hash (computed by the compiler) and the descriptor's address. Building
/// the registry's index reads only this contiguous list, never the
/// descriptors themselves, which are large and spread over many pages.
#[distributed_slice]
pub static CACHE_RUNTIME_0_1_REGION_INDEX: [RegionIndexEntry];

/// An entry of `CACHE_RUNTIME_0_1_REGION_INDEX`.
pub struct RegionIndexEntry {
    /// `name_hash` of the region's name.
    pub hash: u64,
    /// The region's descriptor, an element of `CACHE_RUNTIME_0_1_REGIONS`.
    pub descriptor: &'static RegionDescriptor,
}

/// Every function declared with `#[cache_config_provider]` in the program.
#[distributed_slice]
pub static CACHE_RUNTIME_0_1_PROVIDERS: [ProviderDescriptor];
