//! Start-up baseline: links `cache-runtime` with no region. With
//! `CACHE_BENCH_INDEX` set it builds the (empty) registry and prints its
//! size and how long that took, in nanoseconds, as `startup_linkme` does.

use std::time::Instant;

fn main() {
    if std::env::var_os("CACHE_BENCH_INDEX").is_some() {
        let start = Instant::now();
        let registry = cache_runtime::registry();
        let elapsed = start.elapsed();
        println!("{} {}", registry.len(), elapsed.as_nanos());
    }
}
