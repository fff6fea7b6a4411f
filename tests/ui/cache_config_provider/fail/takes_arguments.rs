use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(priority = 10)]
fn from_env(prefix: &str) -> ConfigLayer {
    let _ = prefix;
    ConfigLayer::new()
}

fn main() {}
