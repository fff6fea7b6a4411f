use cache_runtime::cache_region;

/// A key the manager cannot hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Point(pub i64, pub i64);

#[cache_region(name = "points", key = Point, value = String)]
pub struct Points;

fn main() {}
