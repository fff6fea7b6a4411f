use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider]
async fn from_remote() -> ConfigLayer {
    ConfigLayer::new()
}

fn main() {}
