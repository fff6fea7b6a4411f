use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", ttl = "5m")]
pub struct Marker;

fn main() {}
