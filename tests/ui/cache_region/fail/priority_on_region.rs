use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, priority = 5)]
pub struct Marker;

fn main() {}
