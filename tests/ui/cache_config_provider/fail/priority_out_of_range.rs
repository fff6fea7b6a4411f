use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(priority = 3_000_000_000)]
fn from_env() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
