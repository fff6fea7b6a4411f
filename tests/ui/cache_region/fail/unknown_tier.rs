use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, tier = "rediss")]
pub struct Marker;

fn main() {}
