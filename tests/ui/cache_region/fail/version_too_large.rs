use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, version = 5_000_000_000)]
pub struct Marker;

fn main() {}
