use cache_runtime::cache_config_provider;

#[cache_config_provider(priority = 10)]
pub struct FromEnv;

fn main() {}
