//! Examples live beside this file; run `cargo run -p cache-examples --example quickstart`.
