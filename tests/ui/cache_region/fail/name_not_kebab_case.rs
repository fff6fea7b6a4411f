use cache_runtime::cache_region;

#[cache_region(name = "Model_Metadata", key = String, value = String)]
pub struct Marker;

fn main() {}
