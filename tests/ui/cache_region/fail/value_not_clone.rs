use cache_runtime::cache_region;

/// A value the manager cannot hand out copies of (wrap it in an Arc).
pub struct Connection;

#[cache_region(name = "connections", key = String, value = Connection)]
pub struct Connections;

fn main() {}
