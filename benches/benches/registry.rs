//! The link-time registry over 10,000 generated regions (see `build.rs`),
//! beside the same descriptors collected with `inventory`:
//!
//! - `build`: `RegistryBuilder::linked().build()`, exactly the work of the
//!   first `registry()` call, vs iterating `inventory` into a `HashMap`, and
//!   vs a `HashMap` built over linkme's slice;
//! - `lookup_by_name`: `Registry::get` vs `HashMap::get`, black-boxed names;
//! - `lookup_by_type`: `Registry::region::<R>()` for the first, middle and
//!   last region (constant time: pointer arithmetic);
//! - `iterate`: name-ordered iteration, and the first one's lazy sort.
//!
//! `cargo bench -p cache-benches --bench registry`; the ratios are printed by
//! `scripts/bench-registry.sh`. No timing is asserted anywhere.

use std::collections::HashMap;

use cache_benches::{naive_index, same_declaration};
use cache_runtime::{CacheRegion, RegionDescriptor, Registry, registry, registry::RegistryBuilder};
use divan::{Bencher, black_box};

#[allow(missing_docs, unreachable_pub, dead_code)]
mod linked {
    include!(concat!(env!("OUT_DIR"), "/linked_regions.rs"));
}

#[allow(missing_docs, unreachable_pub, dead_code)]
mod inventoried {
    include!(concat!(env!("OUT_DIR"), "/inventory_regions.rs"));
}

/// Names looked up: present ones and one miss.
const NAMES: [&str; 4] = [
    linked::LOOKUP_NAMES[0],
    linked::LOOKUP_NAMES[1],
    linked::LOOKUP_NAMES[2],
    "region-absent",
];

fn inventory_descriptors() -> impl Iterator<Item = &'static RegionDescriptor> {
    inventory::iter::<inventoried::InventoryRegion>
        .into_iter()
        .map(|entry| &entry.0)
}

fn inventory_index() -> HashMap<&'static str, &'static RegionDescriptor> {
    naive_index(inventory_descriptors())
}

fn main() {
    check();
    divan::main();
}

/// Both collections hold the generated regions, the same declarations.
fn check() {
    let registry = registry();
    assert_eq!(registry.len(), linked::REGION_COUNT, "linkme regions");
    assert_eq!(
        inventory_descriptors().count(),
        inventoried::REGION_COUNT,
        "inventory entries"
    );
    for descriptor in inventory_descriptors() {
        let linked = registry.get(descriptor.name()).expect("same names");
        assert!(
            same_declaration(linked, descriptor),
            "{} differs:\n{linked:?}\n{descriptor:?}",
            descriptor.name()
        );
    }
    assert!(std::ptr::eq(
        registry.region::<linked::MiddleRegion>().expect("linked"),
        linked::MiddleRegion::DESCRIPTOR
    ));
}

/// Building the index: the first `registry()` call vs the naive `inventory`
/// equivalent. Outputs are dropped outside the timed section.
mod build {
    use super::*;

    #[divan::bench]
    fn registry_linked() -> Registry {
        RegistryBuilder::linked()
            .build()
            .expect("no duplicate names")
    }

    #[divan::bench]
    fn inventory_hashmap() -> HashMap<&'static str, &'static RegionDescriptor> {
        inventory_index()
    }

    /// The same naive `HashMap` over linkme's slice (a contiguous array,
    /// exact capacity): the reference a hand-written registry would start
    /// from.
    #[divan::bench]
    fn slice_hashmap() -> HashMap<&'static str, &'static RegionDescriptor> {
        naive_index(
            cache_runtime::__private::CACHE_RUNTIME_0_1_REGIONS
                .iter()
                .map(|entry| entry.descriptor),
        )
    }
}

mod lookup_by_name {
    use super::*;

    #[divan::bench(args = NAMES)]
    fn registry_get(bencher: Bencher<'_, '_>, name: &str) {
        let registry = registry();
        bencher.bench(|| registry.get(black_box(name)).map(RegionDescriptor::name));
    }

    #[divan::bench(args = NAMES)]
    fn inventory_hashmap_get(bencher: Bencher<'_, '_>, name: &str) {
        let index = inventory_index();
        bencher.bench(|| index.get(black_box(name)).map(|d| d.name()));
    }
}

mod lookup_by_type {
    use super::*;

    #[divan::bench(types = [linked::FirstRegion, linked::MiddleRegion, linked::LastRegion])]
    fn registry_region<R: CacheRegion>() -> Option<&'static str> {
        black_box(registry())
            .region::<R>()
            .map(RegionDescriptor::name)
    }
}

mod iterate {
    use super::*;

    fn total_length<'a>(names: impl Iterator<Item = &'a RegionDescriptor>) -> usize {
        names.map(|d| d.name().len()).sum()
    }

    /// Name-ordered iteration once the order is computed.
    #[divan::bench]
    fn registry_iter() -> usize {
        total_length(black_box(registry()).iter())
    }

    /// The first `iter()` of a fresh registry, which sorts the ids by name.
    #[divan::bench]
    fn registry_first_iter(bencher: Bencher<'_, '_>) {
        bencher
            .with_inputs(|| {
                RegistryBuilder::linked()
                    .build()
                    .expect("no duplicate names")
            })
            .bench_local_refs(|registry| total_length(registry.iter()));
    }

    /// `inventory`'s linked list, in registration order.
    #[divan::bench]
    fn inventory_iter() -> usize {
        total_length(inventory_descriptors())
    }
}
