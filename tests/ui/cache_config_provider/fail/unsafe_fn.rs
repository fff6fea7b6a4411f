use cache_runtime::{cache_config_provider, ConfigLayer};

#[cache_config_provider]
pub unsafe fn defaults() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
