//! Regions and providers declared in an integration test crate itself, in
//! nested modules, and config providers ordered by priority.

use std::fmt;
use std::time::Duration;

use cache_runtime::{
    CachePolicy, CacheRegion, ConfigLayer, cache_config_provider, cache_region,
    config::RegionOptions, custom_cache_region, registry,
};

#[cache_region(name = "rate-limits", key = String, value = u32, preset = "high-frequency", ttl = "10s")]
struct RateLimits;

mod discovery {
    pub(crate) mod models {
        #[cache_runtime::cache_region(name = "model-lists", key = String, value = Vec<String>, preset = "bulk")]
        pub(crate) enum ModelLists {}
    }
}

#[derive(Default)]
struct SkipZero;

impl CachePolicy<String, u64> for SkipZero {
    fn admit(&self, _key: &String, value: &u64) -> bool {
        *value != 0
    }
}

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, policy = SkipZero)]
struct TenantQuotas;

#[custom_cache_region(name = "edge-objects", key = String, value = Vec<u8>, backend = "object-store")]
struct EdgeObjects;

#[cache_config_provider(priority = 10, name = "late")]
fn late() -> ConfigLayer {
    ConfigLayer::new().region(
        "rate-limits",
        RegionOptions {
            ttl: Some(Duration::from_secs(20)),
            ..RegionOptions::EMPTY
        },
    )
}

#[cache_config_provider(priority = -10)]
fn early_from_env() -> ConfigLayer {
    ConfigLayer::new()
}

#[derive(Debug)]
struct Unreachable;

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("config service unreachable")
    }
}

impl std::error::Error for Unreachable {}

#[cache_config_provider(priority = 0, name = "remote")]
fn remote() -> Result<ConfigLayer, Unreachable> {
    Err(Unreachable)
}

#[test]
fn regions_declared_here_are_registered() {
    let registry = registry();
    let names: Vec<&str> = registry.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        [
            "edge-objects",
            "model-lists",
            "rate-limits",
            "tenant-quotas"
        ]
    );
    let lists = registry
        .region::<discovery::models::ModelLists>()
        .expect("linked");
    assert_eq!(
        lists.site().module_path(),
        Some("declared_in_test::discovery::models")
    );
    assert_eq!(
        RateLimits::DESCRIPTOR.settings().ttl,
        Some(Duration::from_secs(10)),
        "explicit beats preset"
    );
    assert_eq!(
        RateLimits::DESCRIPTOR.settings().max_entries,
        Some(100_000),
        "the rest comes from the preset"
    );
}

#[test]
fn custom_regions_carry_their_policy_or_backend() {
    let quotas = TenantQuotas::DESCRIPTOR;
    assert!(quotas.is_custom());
    let policy = quotas.policy().expect("declared with a policy");
    assert_eq!(policy.type_name(), "SkipZero");
    let policy = policy
        .instantiate::<String, u64>()
        .expect("same key and value types");
    assert!(!policy.admit(&"acme".into(), &0));
    assert!(policy.admit(&"acme".into(), &7));
    assert_eq!(EdgeObjects::DESCRIPTOR.backend(), Some("object-store"));
    assert!(EdgeObjects::DESCRIPTOR.policy().is_none());
}

#[test]
fn providers_come_lowest_priority_first() {
    let order: Vec<(i32, &str)> = registry()
        .providers()
        .iter()
        .map(|p| (p.priority(), p.name()))
        .collect();
    assert_eq!(
        order,
        [(-10, "early-from-env"), (0, "remote"), (10, "late")]
    );
}

#[test]
fn a_failing_provider_reports_its_name_and_site() {
    let remote = registry().provider("remote").expect("registered");
    let error = remote.load().expect_err("always fails");
    let message = error.to_string();
    assert!(
        message
            .starts_with("config provider `remote` declared at tests/tests/declared_in_test.rs:"),
        "{message}"
    );
    assert!(
        message.ends_with("failed: config service unreachable"),
        "{message}"
    );
}

#[test]
fn regions_of_the_test_crate_itself_are_in_the_manifest_and_linked() {
    let manifest = cache_runtime::build_manifest!().expect("cache-build wrote it");
    let own = manifest
        .crates
        .iter()
        .find(|c| c.crate_name == "declared_in_test")
        .expect("tests/ is a scanned root");
    let names: Vec<&str> = own.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "edge-objects",
            "model-lists",
            "rate-limits",
            "tenant-quotas"
        ]
    );
    let lists = own
        .regions
        .iter()
        .find(|r| r.name == "model-lists")
        .expect("declared");
    assert_eq!(lists.module_path, "declared_in_test::discovery::models");
    let report = cache_runtime::check_linked!();
    assert!(
        report
            .missing_regions()
            .iter()
            .all(|m| m.crate_name != "declared_in_test"),
        "{report}"
    );
    assert_eq!(
        RateLimits::DESCRIPTOR.schema_fingerprint().map(str::len),
        Some(64),
        "this package's build script sets it"
    );
}
