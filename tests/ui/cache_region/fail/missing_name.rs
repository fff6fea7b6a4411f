use cache_runtime::cache_region;

#[cache_region(key = String, value = String, ttl = "5m")]
pub struct Marker;

fn main() {}
