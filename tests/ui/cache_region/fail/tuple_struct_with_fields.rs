use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String)]
pub struct Marker(pub u32);

fn main() {}
