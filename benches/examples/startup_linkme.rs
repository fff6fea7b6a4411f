//! Start-up cost of 10,000 regions collected by `linkme`: nothing runs before
//! `main`, and without `CACHE_BENCH_INDEX` this program exits without
//! touching them. With `CACHE_BENCH_INDEX` set it makes the first
//! `registry()` call and prints the number of regions (which also proves
//! they are linked in) and how long that cold call took, in nanoseconds.

use std::time::Instant;

#[allow(missing_docs, unreachable_pub, dead_code)]
mod linked {
    include!(concat!(env!("OUT_DIR"), "/linked_regions.rs"));
}

fn main() {
    if std::env::var_os("CACHE_BENCH_INDEX").is_some() {
        let start = Instant::now();
        let registry = cache_runtime::registry();
        let elapsed = start.elapsed();
        assert_eq!(registry.len(), linked::REGION_COUNT);
        println!("{} {}", registry.len(), elapsed.as_nanos());
    }
}
