use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, tll = "5m")]
pub struct Marker;

fn main() {}
