use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, max_bytes = "64mb")]
pub struct Marker;

fn main() {}
