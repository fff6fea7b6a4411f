use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, preset = "security")]
pub struct Marker;

fn main() {}
