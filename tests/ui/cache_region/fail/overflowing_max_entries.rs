use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, max_entries = 99_999_999_999_999_999_999)]
pub struct Marker;

fn main() {}
