use cache_runtime::{ConfigLayer, cache_config_provider};

pub trait Settings {
    #[cache_config_provider]
    fn layer() -> ConfigLayer {
        ConfigLayer::new()
    }
}

fn main() {}
