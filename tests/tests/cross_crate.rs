//! Regions declared in library crates show up in the program's registry,
//! reached by type in constant time and by name; a library nothing
//! references is dropped by the linker.

use std::time::Duration;

use cache_runtime::{
    CacheRegion, check_linked,
    config::{Preset, Tier},
    registry, try_registry,
};
use fixture_auth::VirtualKeys;
use fixture_auth::sessions::SessionTokens;

// Referenced only for its link-time contents: without this line the linker
// drops the crate, and its regions and provider with it.
use fixture_billing as _;

#[test]
fn regions_of_referenced_crates_are_registered() {
    let registry = try_registry().expect("no duplicate names");
    let names: Vec<&str> = registry.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["invoices", "session-tokens", "virtual-keys"],
        "sorted by name"
    );
}

#[test]
fn a_crate_nothing_references_is_dropped() {
    // fixture-dropped is a dependency of this test binary, but no item of it
    // is named, so the linker leaves it (and "forgotten-reports") out.
    assert!(registry().get("forgotten-reports").is_none());
}

#[test]
fn lookup_by_type_and_by_name_agree() {
    let registry = registry();
    let by_type = registry.region::<VirtualKeys>().expect("linked");
    let by_name = registry.get("virtual-keys").expect("linked");
    assert!(std::ptr::eq(by_type, by_name));
    assert!(std::ptr::eq(by_type, VirtualKeys::DESCRIPTOR));
    assert_eq!(registry.id_of::<VirtualKeys>(), registry.id("virtual-keys"));
    assert_eq!(
        registry.id_of::<SessionTokens>(),
        registry.id("session-tokens")
    );
    assert_ne!(
        registry.id_of::<VirtualKeys>(),
        registry.id_of::<SessionTokens>()
    );
}

#[test]
fn descriptors_record_types_options_and_sites() {
    let keys = VirtualKeys::DESCRIPTOR;
    assert_eq!(keys.item(), Some("VirtualKeys"));
    assert_eq!(keys.key_type(), Some("String"));
    assert_eq!(keys.value_type(), Some("VirtualKey"));
    assert_eq!(keys.preset(), Some(Preset::SecurityCritical));
    assert!(keys.is_sensitive());
    assert_eq!(keys.settings().tier, Tier::Memory);
    assert_eq!(keys.site().crate_name(), Some("fixture_auth"));
    assert_eq!(keys.site().module_path(), Some("fixture_auth"));
    assert!(
        keys.site().file().ends_with("fixture-auth/src/lib.rs"),
        "{}",
        keys.site().file()
    );
    assert_eq!(keys.site().line(), 13);

    let sessions = SessionTokens::DESCRIPTOR;
    assert_eq!(
        sessions.site().module_path(),
        Some("fixture_auth::sessions")
    );
    assert_eq!(sessions.value_type(), Some("Vec<u8>"));
    assert_eq!(sessions.settings().ttl, Some(Duration::from_secs(15 * 60)));
    assert_eq!(sessions.settings().tti, Some(Duration::from_secs(5 * 60)));

    let invoices = registry()
        .get("invoices")
        .expect("linked through `use fixture_billing as _`");
    assert_eq!(invoices.settings().tier, Tier::Disk);
    assert_eq!(invoices.settings().version, 2);
}

#[test]
fn providers_are_registered_with_their_site() {
    let providers = registry().providers();
    assert_eq!(providers.len(), 1);
    let billing = providers[0];
    assert_eq!(billing.name(), "billing-defaults");
    assert_eq!(billing.function(), "billing_defaults");
    assert_eq!(billing.priority(), 5);
    assert_eq!(billing.site().crate_name(), Some("fixture_billing"));
    let layer = billing.load().expect("the provider cannot fail");
    assert_eq!(layer.get("invoices").and_then(|o| o.max_entries), Some(500));
}

#[test]
fn check_linked_names_each_dropped_crate_and_the_fix() {
    let report = check_linked!();
    assert!(!report.is_ok());
    assert_eq!(
        report.dropped_crates(),
        ["fixture_clash", "fixture_dropped"]
    );
    let missing: Vec<&str> = report
        .missing_regions()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(missing, ["virtual-keys", "forgotten-reports"]);
    let forgotten = &report.missing_regions()[1];
    assert_eq!(forgotten.crate_name, "fixture_dropped");
    assert_eq!(forgotten.file, "tests/fixtures/fixture-dropped/src/lib.rs");
    assert_eq!(forgotten.line, 7);
    assert!(
        report.missing_providers().is_empty(),
        "billing's provider is linked"
    );
    let message = report.to_string();
    assert!(
        message.contains("2 regions declared in source are missing from `cross_crate`"),
        "{message}"
    );
    assert!(message.contains("`forgotten-reports` declared at tests/fixtures/fixture-dropped/src/lib.rs:7 in crate `fixture_dropped`"), "{message}");
    assert!(message.contains("use fixture_dropped as _;"), "{message}");
}

#[test]
fn regions_carry_the_schema_fingerprint_cache_build_computed() {
    // The fixtures have no build script of their own: cache-build computes
    // fingerprints for the package whose build script runs.
    assert_eq!(VirtualKeys::DESCRIPTOR.schema_fingerprint(), None);
    let manifest = cache_runtime::build_manifest!().expect("cache-build wrote it");
    let declared = manifest
        .crates
        .iter()
        .flat_map(|c| &c.regions)
        .find(|r| r.name == "virtual-keys" && r.module_path == "fixture_auth")
        .expect("scanned through the dependency graph");
    assert_eq!(declared.schema.len(), 64);
    assert_eq!(cache_runtime::build_fingerprint!().map(str::len), Some(64));
}
