use cache_runtime::cache_region;

#[cache_region(name = "sessions", key = String, value = String, ttl = "5m", tti = "10m")]
pub struct Marker;

fn main() {}
