use cache_runtime::{ConfigLayer, cache_config_provider};

#[cache_config_provider]
fn from_file() -> Result<ConfigLayer, ()> {
    Ok(ConfigLayer::new())
}

fn main() {}
