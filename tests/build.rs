//! Fingerprints this package and writes its region manifest, covering the
//! integration tests too, so `cache_runtime::check_linked!()` works in them.

fn main() {
    cache_build::Builder::new().root("src").root("tests").emit();
}
