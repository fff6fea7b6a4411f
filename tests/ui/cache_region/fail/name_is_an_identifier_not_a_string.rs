use cache_runtime::cache_region;

#[cache_region(name = model_metadata, key = String, value = String)]
pub struct Marker;

fn main() {}
