use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, ttl = 300)]
pub struct Marker;

fn main() {}
