use cache_runtime::cache_config_provider;

#[cache_config_provider(priority = 10)]
fn from_env() {}

fn main() {}
