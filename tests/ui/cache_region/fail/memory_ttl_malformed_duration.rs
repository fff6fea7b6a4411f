use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, tier = "hybrid", memory_ttl = "5 mins")]
pub struct Marker;

fn main() {}
