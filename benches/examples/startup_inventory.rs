//! Start-up cost of the same 10,000 descriptors collected by `inventory`:
//! one constructor per entry runs before `main`. With `CACHE_BENCH_INDEX`
//! set it also builds the naive name index (a `HashMap`) and prints its size
//! and how long building it took, in nanoseconds.

use std::time::Instant;

#[allow(missing_docs, unreachable_pub, dead_code)]
mod inventoried {
    include!(concat!(env!("OUT_DIR"), "/inventory_regions.rs"));
}

fn main() {
    if std::env::var_os("CACHE_BENCH_INDEX").is_some() {
        let start = Instant::now();
        let index = cache_benches::naive_index(
            inventory::iter::<inventoried::InventoryRegion>
                .into_iter()
                .map(|entry| &entry.0),
        );
        let elapsed = start.elapsed();
        assert_eq!(index.len(), inventoried::REGION_COUNT);
        println!("{} {}", index.len(), elapsed.as_nanos());
    }
}
