use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider]
fn from_source<S: Default>() -> ConfigLayer {
    let _ = S::default();
    ConfigLayer::new()
}

fn main() {}
