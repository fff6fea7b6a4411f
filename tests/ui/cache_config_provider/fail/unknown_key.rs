use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(priority = 10, ttl = "5m")]
fn from_env() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
