use cache_runtime::{cache_config_provider, ConfigLayer};

#[cache_config_provider(name = "defaults")]
pub fn defaults() -> ConfigLayer {
    ConfigLayer::new()
}

mod other {
    use cache_runtime::{cache_config_provider, ConfigLayer};

    #[cache_config_provider(name = "defaults")]
    pub fn more_defaults() -> ConfigLayer {
        ConfigLayer::new()
    }
}

fn main() {}
