//! Benchmarks of the link-time registry over generated regions.
//!
//! `build.rs` generates `CACHE_BENCH_REGIONS` regions (default 10,000 in
//! optimized builds, 100 in debug ones) into
//! `OUT_DIR`: declared with `#[cache_region]` (collected by `linkme`), as
//! the same descriptors submitted with `inventory`, and as raw `linkme`
//! statics (of a plain struct, and of the same descriptors). The library does
//! not compile them; the bench (`benches/registry.rs`) and the start-up
//! examples `include!` them. Run everything with
//! `scripts/bench-registry.sh`.

use std::collections::HashMap;

use cache_runtime::RegionDescriptor;

/// The naive index a program collecting its regions with `inventory` would
/// build: one `HashMap` from name to descriptor (std's SipHash), filled by
/// iterating the collected entries.
pub fn naive_index<'a>(
    descriptors: impl Iterator<Item = &'a RegionDescriptor>,
) -> HashMap<&'a str, &'a RegionDescriptor> {
    index_by(descriptors, RegionDescriptor::name)
}

/// The same naive index over entries of any type, named by `name`.
pub fn index_by<'a, T>(
    entries: impl Iterator<Item = &'a T>,
    name: impl Fn(&'a T) -> &'a str,
) -> HashMap<&'a str, &'a T> {
    let mut index = HashMap::with_capacity(entries.size_hint().0);
    for entry in entries {
        index.insert(name(entry), entry);
    }
    index
}

/// Whether two descriptors declare the same region: name, marker, types,
/// description, preset, options and settings (not the declaration site).
pub fn same_declaration(a: &RegionDescriptor, b: &RegionDescriptor) -> bool {
    a.name() == b.name()
        && a.item() == b.item()
        && a.key_type() == b.key_type()
        && a.value_type() == b.value_type()
        && a.description() == b.description()
        && a.preset() == b.preset()
        && a.options() == b.options()
        && a.settings() == b.settings()
        && a.is_custom() == b.is_custom()
}
