use cache_runtime::cache_region;

#[cache_region(name = "orphans", key = String, value = String, tier = "backend")]
pub struct Orphans;

fn main() {}
