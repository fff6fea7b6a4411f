use cache_runtime::cache_region;

#[cache_region(name = "", key = String, value = String)]
pub struct Marker;

fn main() {}
