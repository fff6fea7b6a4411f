use cache_runtime::cache_region;

// Every bad argument is reported at once, each on its own tokens, and none
// of the keys written with a bad value is also reported missing.
#[cache_region(
    name = "Model Metadata",
    key = String,
    value = String,
    ttl = "5 mins",
    max_entries = 0,
    tier = "rediss",
    colour = "red",
    ttl = "1h",
    max_bytes = "64mb",
)]
pub struct ModelMetadata;

fn main() {}
