use cache_runtime::cache_region;

#[cache_region(name = "sessions", key = String, value = String, ttl = "1.5h")]
pub struct Sessions;

fn main() {}
