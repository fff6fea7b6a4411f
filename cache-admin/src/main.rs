//! `cache-admin`: the admin HTTP API, dashboard and CLI. Until the admin
//! issue lands it prints the regions linked into itself, which is none.

fn main() {
    let registry = cache_runtime::registry();
    println!(
        "cache-admin: {} region(s) linked; the admin API is not built yet",
        registry.len()
    );
}
