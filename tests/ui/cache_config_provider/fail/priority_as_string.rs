use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(priority = "high")]
fn from_env() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
