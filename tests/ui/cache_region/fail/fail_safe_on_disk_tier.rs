use cache_runtime::cache_region;

#[cache_region(name = "pages", key = String, value = String, tier = "disk", fail_safe = "30s")]
pub struct Marker;

fn main() {}
