//! Start-up cost of the same 10,000 regions as raw `linkme` statics of a
//! plain struct with a `&'static str` per string (no attribute, no registry,
//! no packing): nothing runs before `main`. With
//! `CACHE_BENCH_INDEX` set it builds the naive name index (a `HashMap`) over
//! the slice and prints its size and how long building it took, in
//! nanoseconds.

use std::time::Instant;

// linkme's sections are `link_section` statics, which the workspace's
// `unsafe_code = "deny"` refuses outside the crates that declare slices.
#[allow(missing_docs, unreachable_pub, dead_code, unsafe_code)]
mod raw {
    include!(concat!(env!("OUT_DIR"), "/raw_linkme_regions.rs"));
}

fn main() {
    if std::env::var_os("CACHE_BENCH_INDEX").is_some() {
        let start = Instant::now();
        let index = cache_benches::index_by(raw::RAW_REGIONS.iter(), |region| region.name);
        let elapsed = start.elapsed();
        assert_eq!(index.len(), raw::REGION_COUNT);
        println!("{} {}", index.len(), elapsed.as_nanos());
    }
}
