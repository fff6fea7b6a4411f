use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider(name = "From Env")]
fn from_env() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
