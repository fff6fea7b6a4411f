use cache_runtime::{ConfigLayer, cache_config_provider};

pub struct Settings;

impl Settings {
    #[cache_config_provider]
    pub fn layer() -> ConfigLayer {
        ConfigLayer::new()
    }
}

fn main() {}
