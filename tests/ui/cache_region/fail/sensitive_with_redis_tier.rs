use cache_runtime::cache_region;

#[cache_region(name = "virtual-keys", key = String, value = String, sensitive, tier = "redis")]
pub struct Marker;

fn main() {}
