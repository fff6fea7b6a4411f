use cache_runtime::{cache_config_provider, ConfigLayer};

// `crate = ...` says where cache-runtime is when it is renamed or
// re-exported; `core` is another crate.
#[cache_config_provider(name = "defaults", crate = core)]
pub fn defaults() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
