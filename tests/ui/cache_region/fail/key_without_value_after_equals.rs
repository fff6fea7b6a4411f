use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = , value = String)]
pub struct Marker;

fn main() {}
