use cache_runtime::cache_config_provider;

#[cache_config_provider]
async fn from_source<S>(source: S) {
    let _ = source;
}

fn main() {}
