use cache_runtime::cache_region;

#[cache_region(name = "virtual-keys", key = String, value = String, preset = "security-critical", tier = "disk")]
pub struct Marker;

fn main() {}
