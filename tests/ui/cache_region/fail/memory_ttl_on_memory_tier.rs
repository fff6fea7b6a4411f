use cache_runtime::cache_region;

#[cache_region(name = "sessions", key = String, value = String, tier = "memory", memory_ttl = "5m")]
pub struct Marker;

fn main() {}
