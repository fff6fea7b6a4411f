//! The whole build script: fingerprint the sources and write the manifest of
//! the regions declared here and in dependencies that use cache-runtime.

fn main() {
    cache_build::emit();
}
