use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, ttl = "30m1h")]
pub struct Marker;

fn main() {}
