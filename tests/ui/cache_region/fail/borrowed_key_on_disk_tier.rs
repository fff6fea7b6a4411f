use cache_runtime::cache_region;

// A `&'static str` key is fine in memory, but a persistent tier must read
// keys back from storage into owned values.
#[cache_region(name = "flags", key = &'static str, value = bool, tier = "disk", ttl = "1h")]
pub struct Flags;

fn main() {}
