//! Declares a region of each kind and a config provider in a crate whose
//! only dependency is `cache-runtime` renamed to `renamed_runtime`, through
//! the attributes' `crate = path` argument. It compiling at all is the test;
//! `cache_region/pass/renamed_runtime_crate_path.rs` checks the registry.

pub use renamed_runtime;

use renamed_runtime::{
    CachePolicy, ConfigLayer, cache_config_provider, cache_region, custom_cache_region,
};

/// A plain region.
#[cache_region(name = "renamed-plain", key = String, value = u32, ttl = "1m", crate = renamed_runtime)]
pub struct RenamedPlain;

/// Admits everything.
#[derive(Default)]
pub struct AdmitAll;

impl CachePolicy<String, u32> for AdmitAll {}

/// A custom region with a policy and a backend, the path written absolute.
#[custom_cache_region(name = "renamed-custom", key = String, value = u32, policy = AdmitAll,
                      backend = "sqlite", crate = ::renamed_runtime)]
pub struct RenamedCustom;

/// A config provider.
#[cache_config_provider(priority = 3, crate = renamed_runtime)]
fn renamed_defaults() -> ConfigLayer {
    ConfigLayer::new()
}
