use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(priority = 1, priority = 2)]
fn from_env() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
