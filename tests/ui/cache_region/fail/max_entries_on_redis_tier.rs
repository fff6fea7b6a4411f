use cache_runtime::cache_region;

// Nothing keeps count of a Redis region's keys to enforce a limit.
#[cache_region(name = "sessions", key = String, value = String, tier = "redis", max_entries = 5000)]
pub struct Sessions;

fn main() {}
