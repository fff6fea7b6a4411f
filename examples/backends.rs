//! Storage backends by name: a region declared on a backend, a region moved
//! onto it by configuration alone, and the backend checked by the public
//! conformance suite.
//!
//! The backend here is the disk store behind the `Backend` trait (so the
//! example needs no server); `cache-memcached` and
//! `cache_runtime::redis::RedisConnection` register the same way.
//!
//! Run it with `cargo run -p cache-examples --example backends`. It works in
//! a temporary folder that it removes when done.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;

use cache_runtime::backend::{Backend, BackendContext, BackendError, conformance};
use cache_runtime::disk::{DiskBackend, DiskStore};
use cache_runtime::manager::EntryQuery;
use cache_runtime::{CacheManager, cache_region, custom_cache_region};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Quota {
    requests_per_minute: u32,
}

/// Entries live in the backend registered as "local-files".
#[custom_cache_region(name = "example-quotas", key = String, value = Quota,
                      backend = "local-files", ttl = "10m")]
struct TenantQuotas;

/// Declared in memory; the configuration below moves it.
#[cache_region(name = "example-sessions", key = u64, value = String)]
struct Sessions;

/// The example's temporary folder, removed on drop (also after an error).
struct TempFolder(PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One backend per region: a folder of its own under `root`.
fn local_files(root: PathBuf) -> impl Fn(&str) -> Result<Arc<dyn Backend>, BackendError> {
    move |region: &str| {
        let store = DiskStore::open(root.join(region))
            .map_err(|error| BackendError::Other(error.into()))?;
        Ok(Arc::new(DiskBackend::new(store)) as Arc<dyn Backend>)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let folder = TempFolder(
        std::env::temp_dir().join(format!("cache-example-backends-{}", std::process::id())),
    );
    let make = local_files(folder.0.join("backend"));
    let manager = CacheManager::builder()
        .disk_root(folder.0.join("manager"))
        .background_stats(false)
        // What an operator would put in the environment (or the config
        // file): the sessions region now lives in the backend too.
        .config_env_vars([
            (
                "CACHE_REGION__EXAMPLE_SESSIONS__TIER".into(),
                "backend".into(),
            ),
            (
                "CACHE_REGION__EXAMPLE_SESSIONS__BACKEND".into(),
                "local-files".into(),
            ),
        ])
        .backend("local-files", move |context: &BackendContext<'_>| {
            make(context.region())
        })
        .build()?;

    let quotas = manager.region::<TenantQuotas>()?;
    for (tenant, limit) in [("acme", 600), ("apex", 120), ("bolt", 60)] {
        quotas
            .insert(
                tenant.into(),
                Quota {
                    requests_per_minute: limit,
                },
            )
            .await;
    }
    println!("acme: {:?}", quotas.get(&"acme".into()).await);
    let page = quotas
        .entries(&EntryQuery::first(10).matching("a*"))
        .await?;
    let listed: Vec<&str> = page.entries.iter().map(|e| e.key.as_str()).collect();
    println!("tenants matching a*: {listed:?}");
    println!("cleared a*: {}", quotas.clear_matching("a*").await?);
    let stats = quotas.snapshot();
    println!(
        "quotas: {} hits, {} misses, {} inserts, {:?} entries held by the backend",
        stats.hits, stats.misses, stats.inserts, stats.entries
    );

    let sessions = manager.region::<Sessions>()?;
    sessions.insert(7, "session of user 7".into()).await;
    let settings = manager.settings("example-sessions")?;
    println!(
        "sessions: tier {}, backend {:?}, len {:?}",
        settings.tier,
        settings.backend,
        sessions.len()
    );

    let report = conformance::check(local_files(folder.0.join("conformance"))).await?;
    println!("conformance of the local-files backend: {report}");
    Ok(())
}
