use cache_runtime::cache_region;

// `crate = ...` says where cache-runtime is when it is renamed or
// re-exported; `std` is another crate.
#[cache_region(name = "sessions", key = String, value = String, crate = std)]
pub struct Sessions;

fn main() {}
