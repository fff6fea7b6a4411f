use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, tti = "0s")]
pub struct Marker;

fn main() {}
