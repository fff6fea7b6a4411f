use cache_runtime::cache_region;

#[cache_region(name = "sessions", key = String, value = String, preset = "temporary", tti = "1h")]
pub struct Marker;

fn main() {}
