//! Regions registered by hand beside the link-time ones: the API the
//! run-time manager is built from.

use std::time::Duration;

use cache_runtime::{
    RegionDescriptor,
    config::Tier,
    registry,
    registry::{RegistryBuilder, RegistryProblem},
};

use fixture_auth::VirtualKeys;

#[test]
fn hand_registered_regions_join_the_linked_ones() {
    let plugin = RegionDescriptor::builder("plugin-results")
        .key::<String>()
        .value::<Vec<u8>>()
        .ttl(Duration::from_secs(60))
        .tier(Tier::Memory)
        .build()
        .expect("valid region");
    let built = RegistryBuilder::linked()
        .region(plugin)
        .build()
        .expect("distinct names");
    assert_eq!(built.len(), registry().len() + 1);
    assert_eq!(
        built.get("plugin-results").and_then(|r| r.key_type()),
        Some("String")
    );
    assert!(
        built.region::<VirtualKeys>().is_some(),
        "typed lookup works in a built registry too"
    );
    let names: Vec<&str> = built.iter().map(|r| r.name()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn a_hand_registered_name_clash_is_rejected_with_both_sites() {
    let line = line!() + 1;
    let clash = RegionDescriptor::builder("virtual-keys")
        .build()
        .expect("valid on its own");
    let error = RegistryBuilder::linked()
        .region(clash)
        .build()
        .expect_err("clashes with fixture-auth");
    let [RegistryProblem::DuplicateRegion { first, second, .. }] = error.problems() else {
        panic!("expected one duplicate, got {error}");
    };
    assert_eq!(first.crate_name(), Some("fixture_auth"));
    assert_eq!(second.line(), line);
    assert!(second.file().ends_with("hand_registered.rs"));
}

#[test]
fn a_registry_without_linked_regions_does_not_find_them() {
    let empty = RegistryBuilder::new().build().expect("empty");
    assert!(empty.is_empty());
    assert!(empty.region::<VirtualKeys>().is_none());
    assert!(empty.get("virtual-keys").is_none());
    assert!(empty.providers().is_empty());
}
