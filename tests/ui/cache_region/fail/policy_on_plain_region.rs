use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, policy = MyPolicy)]
pub struct Marker;

fn main() {}
