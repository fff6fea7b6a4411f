use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = "String", value = Vec<u8>)]
pub struct Marker;

fn main() {}
