//! Storage backends by name: a small in-test backend (a map behind a
//! mutex) and the built-in disk backend through the public conformance
//! suite; regions declared on a backend, end to end; an unknown name at
//! build time; regions moved between tiers and backends by configuration.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cache_runtime::backend::{
    Backend, BackendContext, BackendError, Capabilities, Health, Put, ScanPage, conformance,
};
use cache_runtime::disk::{DiskBackend, DiskStore, Glob};
use cache_runtime::{
    CacheError, CacheManager, CacheManagerBuilder, custom_cache_region, manager::BoxFuture,
};
use serde::{Deserialize, Serialize};

use support::{Scratch, block_on};

/// Entries of every region, by (region, key): value and deadline.
type Shelves = Arc<Mutex<HashMap<String, BTreeMap<String, (Vec<u8>, Option<Instant>)>>>>;

/// One region's view of the shared map.
struct MapBackend {
    region: String,
    shelves: Shelves,
}

impl MapBackend {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, (Vec<u8>, Option<Instant>)>) -> T) -> T {
        let mut shelves = self.shelves.lock().unwrap_or_else(PoisonError::into_inner);
        let shelf = shelves.entry(self.region.clone()).or_default();
        let now = Instant::now();
        shelf.retain(|_, (_, deadline)| deadline.is_none_or(|at| at > now));
        f(shelf)
    }
}

impl Backend for MapBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with_ttl()
            .with_pattern_clear()
            .with_scan()
            .with_count()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(async move { Ok(self.with(|shelf| shelf.get(key).map(|(v, _)| v.clone()))) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>> {
        Box::pin(async move {
            let deadline = ttl.map(|ttl| Instant::now() + ttl);
            Ok(self.with(
                |shelf| match shelf.insert(key.to_owned(), (value.to_vec(), deadline)) {
                    Some(_) => Put::Replaced,
                    None => Put::Inserted,
                },
            ))
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.with(|shelf| shelf.remove(key).is_some())) })
    }

    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            Ok(self.with(|shelf| {
                let held = shelf.len() as u64;
                shelf.clear();
                held
            }))
        })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            Ok(self.with(|shelf| {
                let before = shelf.len();
                shelf.retain(|key, _| !pattern.matches(key));
                (before - shelf.len()) as u64
            }))
        })
    }

    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        Box::pin(async move {
            Ok(self.with(|shelf| {
                let after = |key: &String| cursor.is_none_or(|cursor| key.as_str() > cursor);
                let page: Vec<String> = shelf
                    .keys()
                    .filter(|key| after(key))
                    .take(limit.max(1))
                    .cloned()
                    .collect();
                let more = page
                    .last()
                    .is_some_and(|last| shelf.keys().any(|key| key > last));
                ScanPage {
                    cursor: if more { page.last().cloned() } else { None },
                    keys: page
                        .into_iter()
                        .filter(|key| pattern.is_none_or(|glob| glob.matches(key)))
                        .collect(),
                }
            }))
        })
    }

    fn count<'a>(&'a self) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async move { Ok(Some(self.with(|shelf| shelf.len() as u64))) })
    }

    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> {
        Box::pin(async { Ok(Health::up("in-process map")) })
    }
}

/// A factory over one shared map, and the map (to look inside).
fn map_backend() -> (
    impl Fn(&BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError> + Send + Sync + 'static,
    Shelves,
) {
    let shelves = Shelves::default();
    let for_factory = Arc::clone(&shelves);
    (
        move |context: &BackendContext<'_>| {
            Ok(Arc::new(MapBackend {
                region: context.region().to_owned(),
                shelves: Arc::clone(&for_factory),
            }) as Arc<dyn Backend>)
        },
        shelves,
    )
}

#[test]
fn the_in_test_backend_passes_the_conformance_suite() {
    let shelves = Shelves::default();
    let report = block_on(conformance::check(move |region: &str| {
        Ok(Arc::new(MapBackend {
            region: region.to_owned(),
            shelves: Arc::clone(&shelves),
        }) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    assert!(report.skipped.is_empty(), "{report}");
    println!("in-test backend: {report}");
}

#[test]
fn the_disk_backend_passes_the_conformance_suite() {
    let scratch = Scratch::new("backends", "disk-conformance");
    let root = scratch.path().to_path_buf();
    let report = block_on(conformance::check(move |region: &str| {
        let store = DiskStore::open(root.join(region))
            .map_err(|error| BackendError::Other(error.into()))?;
        Ok(Arc::new(DiskBackend::new(store)) as Arc<dyn Backend>)
    }))
    .unwrap_or_else(|failure| panic!("{failure}"));
    // The disk has no native TTL: expired files stay until read or cleaned
    // up, and the typed check shows them to be misses.
    assert_eq!(
        report
            .skipped
            .iter()
            .map(|(check, _)| *check)
            .collect::<Vec<_>>(),
        ["ttl"],
        "{report}"
    );
    println!("disk backend: {report}");
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Quota {
    tenant: String,
    limit: u32,
}

#[custom_cache_region(name = "bk-quotas", key = String, value = Quota, backend = "in-test", ttl = "1h")]
struct Quotas;

#[custom_cache_region(name = "bk-layered", key = String, value = String, backend = "in-test", tier = "hybrid")]
struct Layered;

#[cache_runtime::cache_region(name = "bk-plain", key = String, value = String)]
struct Plain;

fn builder(scratch: &Scratch) -> CacheManagerBuilder {
    CacheManager::builder()
        .background_stats(false)
        .without_config_env()
        .disk_root(scratch.path())
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn a_region_declared_on_a_backend_works_end_to_end() {
    let scratch = Scratch::new("backends", "end-to-end");
    let (factory, shelves) = map_backend();
    let manager = builder(&scratch)
        .backend("in-test", factory)
        .build()
        .expect("manager");
    let quotas = manager.region::<Quotas>().expect("region");
    let acme = Quota {
        tenant: s("acme"),
        limit: 10,
    };
    for tenant in ["acme", "apex", "bolt"] {
        quotas.insert_blocking(
            s(tenant),
            Quota {
                tenant: s(tenant),
                ..acme.clone()
            },
        );
    }
    assert_eq!(quotas.get_blocking(&s("acme")), Some(acme.clone()));
    // The entries are in the backend, sealed: not in memory.
    let held = shelves.lock().expect("shelves")["bk-quotas"].len();
    assert_eq!(held, 3);
    assert_eq!(quotas.len(), Some(3), "the backend counts");
    // Browsing and clearing by pattern go through the backend.
    let page = quotas
        .entries_blocking(&cache_runtime::manager::EntryQuery::first(10).matching("a*"))
        .expect("entries");
    let mut keys: Vec<&str> = page.entries.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["acme", "apex"]);
    assert!(page.entries[0].expires_in_ms.expect("ttl") > 3_500_000);
    assert_eq!(quotas.clear_matching_blocking("a*").expect("clear"), 2);
    assert_eq!(quotas.get_blocking(&s("acme")), None);
    assert!(quotas.get_blocking(&s("bolt")).is_some());
    let stats = quotas.snapshot();
    assert_eq!((stats.hits, stats.misses, stats.inserts), (2, 1, 3));
    assert_eq!(stats.entries, Some(1));

    // Hybrid: a memory level in front of the backend.
    let layered = manager.region::<Layered>().expect("region");
    layered.insert_blocking(s("k"), s("v"));
    shelves.lock().expect("shelves").clear();
    assert_eq!(
        layered.get_blocking(&s("k")).as_deref(),
        Some("v"),
        "served by the memory level"
    );
}

#[test]
fn an_unknown_backend_is_a_build_error_naming_the_registered_ones() {
    let scratch = Scratch::new("backends", "unknown");
    let (factory, _) = map_backend();
    let error = builder(&scratch)
        .backend("elsewhere", factory)
        .build()
        .expect_err("no backend named in-test");
    let text = error.to_string();
    assert!(matches!(error, CacheError::Config(_)), "{error:?}");
    for needle in [
        "bk-quotas",
        "\"in-test\"",
        "registered: \"elsewhere\"",
        "backend",
    ] {
        assert!(text.contains(needle), "{needle} in: {text}");
    }
}

#[test]
fn configuration_moves_regions_between_tiers_and_backends() {
    let scratch = Scratch::new("backends", "moves");
    let file = scratch.path().join("cache.toml");
    std::fs::write(
        &file,
        r#"
[regions.bk-plain]
tier = "backend"
backend = "in-test"

[regions.bk-quotas]
tier = "memory"
backend = "none"
"#,
    )
    .expect("config file");
    let (factory, shelves) = map_backend();
    let manager = builder(&scratch)
        .backend("in-test", factory)
        .config_file(&file)
        .build()
        .expect("manager");
    let plain = manager.region::<Plain>().expect("region");
    plain.insert_blocking(s("k"), s("v"));
    assert_eq!(shelves.lock().expect("shelves")["bk-plain"].len(), 1);
    let quotas = manager.region::<Quotas>().expect("region");
    quotas.insert_blocking(
        s("acme"),
        Quota {
            tenant: s("acme"),
            limit: 1,
        },
    );
    let in_backend = shelves
        .lock()
        .expect("shelves")
        .get("bk-quotas")
        .map_or(0, BTreeMap::len);
    assert_eq!(in_backend, 0, "in memory now");
    let explained = manager.explain("bk-plain").expect("explain");
    assert!(explained.to_string().contains("backend"), "{explained}");

    // A backend on a tier that would not use it is refused, with the
    // region, the field and what to write.
    std::fs::write(
        &file,
        "[regions.bk-plain]\ntier = \"memory\"\nbackend = \"in-test\"\n",
    )
    .expect("config file");
    let (factory, _) = map_backend();
    let error = builder(&scratch)
        .backend("in-test", factory)
        .config_file(&file)
        .build()
        .expect_err("contradiction");
    let text = error.to_string();
    for needle in ["bk-plain", "backend", "tier = \"backend\"", "\"none\""] {
        assert!(text.contains(needle), "{needle} in: {text}");
    }
}

#[test]
fn the_environment_moves_a_region_onto_a_backend_and_checks_the_name() {
    let scratch = Scratch::new("backends", "environment");
    let vars = |backend: &str| {
        [
            ("CACHE_REGION__BK_PLAIN__TIER", "backend"),
            ("CACHE_REGION__BK_PLAIN__BACKEND", backend),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
    };
    let (factory, shelves) = map_backend();
    let manager = CacheManager::builder()
        .background_stats(false)
        .disk_root(scratch.path())
        .config_env_vars(vars("in-test"))
        .backend("in-test", factory)
        .build()
        .expect("manager");
    let plain = manager.region::<Plain>().expect("region");
    plain.insert_blocking(s("k"), s("v"));
    assert_eq!(shelves.lock().expect("shelves")["bk-plain"].len(), 1);

    // A name that is not a backend name, and one nobody registered: the
    // region, the field, the variable and what would be accepted.
    for (value, needle) in [
        ("In Test", "not a backend name"),
        ("elsewhere", "registered: \"in-test\""),
    ] {
        let (factory, _) = map_backend();
        let error = CacheManager::builder()
            .background_stats(false)
            .disk_root(scratch.path())
            .config_env_vars(vars(value))
            .backend("in-test", factory)
            .build()
            .expect_err("refused");
        let text = error.to_string();
        for expected in [
            "bk-plain",
            "backend",
            "CACHE_REGION__BK_PLAIN__BACKEND",
            needle,
        ] {
            assert!(text.contains(expected), "{expected} in: {text}");
        }
    }
}
