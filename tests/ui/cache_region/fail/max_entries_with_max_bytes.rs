use cache_runtime::cache_region;

#[cache_region(name = "model-metadata", key = String, value = String, max_entries = 10_000, max_bytes = "64MiB")]
pub struct Marker;

fn main() {}
