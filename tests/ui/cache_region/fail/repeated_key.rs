use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, ttl = "5m", ttl = "10m")]
pub struct Marker;

fn main() {}
