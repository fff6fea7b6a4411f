use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, tier = "disk", compression_threshold = "4KiB")]
pub struct Marker;

fn main() {}
