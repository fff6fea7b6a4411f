//! `build.rs` helper for `cache-runtime`: fingerprints a crate's sources,
//! keeps a versioned registry cache, and writes a manifest of the regions
//! declared in source so the runtime can check them against what was linked.
//!
//! The fingerprinting and manifest work is tracked in its own issue; this
//! crate is a placeholder in the workspace until then.
