// These cases build cache-runtime with `lz4` only: zstd needs its feature.
use cache_runtime::cache_region;

#[cache_region(name = "packed", key = String, value = String, tier = "disk", compression = "zstd")]
pub struct Packed;

fn main() {}
