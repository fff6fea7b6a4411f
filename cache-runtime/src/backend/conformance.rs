//! The conformance suite every [`Backend`] must pass: the built-in disk and
//! Redis backends run it, the tests' Memcached backend runs it, and so can
//! yours.
//!
//! [`check`] takes a factory that makes a backend for a region name (so the
//! suite can open two regions and check they stay apart) and runs every
//! check against it, over bytes and then through a [`CacheManager`] with
//! typed values:
//!
//! - round trips (binary, empty and 1 MiB values), inserts told apart from
//!   replacements, `get_many`/`put_many` in order, removal;
//! - two regions on one backend never see each other's keys;
//! - `clear`, and with [`Capabilities::pattern_clear`] `clear_matching`
//!   with Redis' glob semantics (`?`, `*`, classes, escapes);
//! - with [`Capabilities::scan`], paging by cursor lists every key, with
//!   and without a pattern; with [`Capabilities::count`], counts are exact;
//! - with [`Capabilities::ttl`], a value outlives its TTL by no more than
//!   the backend's resolution (the suite waits 2.5 s for a 1 s TTL);
//! - concurrent writers from 8 threads all land;
//! - through a manager: bytes that are not an envelope, or another key's
//!   envelope, are counted misses; a value past its TTL is a miss (the
//!   envelope's expiry, with or without native TTLs); hits, misses,
//!   inserts, updates, removals and clears count as they do on the memory
//!   tier.
//!
//! A killed server must give errors, not panics: stop yours and call
//! [`check_outage`].
//!
//! The suite's futures need no runtime of their own (it sleeps and spawns
//! on plain threads): run it with your runtime's `block_on`, or in an
//! async test.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use cache_runtime::backend::{conformance, Backend, BackendError};
//! use cache_runtime::disk::{DiskBackend, DiskStore};
//!
//! let root = std::env::temp_dir().join("my-backend-conformance");
//! let report = conformance::check(move |region: &str| {
//!     let store = DiskStore::open(root.join(region))
//!         .map_err(|error| BackendError::Other(error.into()))?;
//!     Ok(Arc::new(DiskBackend::new(store)) as Arc<dyn Backend>)
//! })
//! .await
//! .expect("conforms");
//! println!("{report}");
//! # }
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cache_spec::glob::Glob;

use super::{Backend, BackendContext, BackendError, BackendFactory, Capabilities, Entry, Put};
use crate::manager::RegionCodecs;
use crate::{CacheManager, RegionDescriptor};

/// What [`check`] ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The checks that passed, by name.
    pub passed: Vec<&'static str>,
    /// The checks skipped, with the capability the backend lacks.
    pub skipped: Vec<(&'static str, &'static str)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} checks passed", self.passed.len())?;
        for (check, why) in &self.skipped {
            write!(f, "; skipped {check} ({why})")?;
        }
        Ok(())
    }
}

/// A check the backend failed: which, and what was wrong.
#[derive(Debug, thiserror::Error)]
#[error("conformance check `{check}` failed: {message}")]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What was expected and what happened.
    pub message: String,
}

type Made = Result<Arc<dyn Backend>, BackendError>;

/// Runs every check against backends made by `make` (called with a
/// region name; each call for the same name must reach the same entries).
/// Region names start with `conformance-`; their entries are cleared first
/// and last.
///
/// # Errors
///
/// The first [`Failure`].
pub async fn check<F>(make: F) -> Result<Report, Failure>
where
    F: Fn(&str) -> Made + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let mut run = Run {
        make: Arc::clone(&make) as Arc<dyn Fn(&str) -> Made + Send + Sync>,
        report: Report::default(),
    };
    let a = run.open("conformance-a")?;
    let b = run.open("conformance-b")?;
    let capabilities = a.capabilities();
    must(
        "clear before",
        a.clear().await.map(drop).and(b.clear().await.map(drop)),
    )?;

    round_trips(&mut run, &*a).await?;
    many(&mut run, &*a).await?;
    regions_apart(&mut run, &*a, &*b).await?;
    clearing(&mut run, &*a, &*b, capabilities).await?;
    scanning(&mut run, &*a, capabilities).await?;
    counting(&mut run, &*a, capabilities).await?;
    concurrent_writers(&mut run, &a).await?;
    expiry(&mut run, &*a, capabilities).await?;
    health(&mut run, &*a).await?;
    through_a_manager(&mut run, make).await?;

    let _ = a.clear().await;
    let _ = b.clear().await;
    Ok(run.report)
}

/// With the backend's server stopped: every operation of a backend made by
/// `make` returns an error (or, for a read, a miss), and none panics.
///
/// # Errors
///
/// A [`Failure`] when an operation succeeded in storing something, or
/// the factory panicked.
pub async fn check_outage<F>(make: F) -> Result<(), Failure>
where
    F: Fn(&str) -> Made,
{
    const CHECK: &str = "outage";
    let backend = match make("conformance-outage") {
        Ok(backend) => backend,
        // Refusing to make a backend for an unreachable server is fine.
        Err(_) => return Ok(()),
    };
    if let Ok(Some(_)) = backend.get("k").await {
        return fail(CHECK, "get found a value on a stopped server");
    }
    if backend.put("k", b"v", None).await.is_ok() {
        return fail(CHECK, "put succeeded on a stopped server");
    }
    let _ = backend.remove("k").await;
    let _ = backend.clear().await;
    let _ = backend.get_many(&["a", "b"]).await;
    if backend.health().await.is_ok() {
        return fail(CHECK, "health said up on a stopped server");
    }
    Ok(())
}

struct Run {
    make: Arc<dyn Fn(&str) -> Made + Send + Sync>,
    report: Report,
}

impl Run {
    fn open(&self, region: &str) -> Result<Arc<dyn Backend>, Failure> {
        (self.make)(region).map_err(|error| Failure {
            check: "make",
            message: format!("the factory could not make a backend for {region:?}: {error}"),
        })
    }

    fn pass(&mut self, check: &'static str) {
        self.report.passed.push(check);
    }

    fn skip(&mut self, check: &'static str, why: &'static str) {
        self.report.skipped.push((check, why));
    }
}

fn fail<T>(check: &'static str, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        check,
        message: message.into(),
    })
}

fn must<T>(check: &'static str, outcome: Result<T, BackendError>) -> Result<T, Failure> {
    outcome.map_err(|error| Failure {
        check,
        message: format!("the backend failed: {error}"),
    })
}

fn expect_eq<T: PartialEq + fmt::Debug>(
    check: &'static str,
    what: &str,
    found: T,
    expected: T,
) -> Result<(), Failure> {
    if found == expected {
        Ok(())
    } else {
        fail(
            check,
            format!("{what}: expected {expected:?}, found {found:?}"),
        )
    }
}

async fn round_trips(run: &mut Run, backend: &dyn Backend) -> Result<(), Failure> {
    const CHECK: &str = "round trips";
    expect_eq(
        CHECK,
        "get of a key never written",
        must(CHECK, backend.get("absent").await)?,
        None,
    )?;
    let binary: Vec<u8> = (0..=255).collect();
    let large = vec![0xA5; 1 << 20];
    for (key, value) in [
        ("binary", binary.as_slice()),
        ("empty", &[][..]),
        ("large", large.as_slice()),
        ("spaced key: with ünïcode/and*glob?chars", b"v"),
    ] {
        expect_eq(
            CHECK,
            &format!("first put of {key:?}"),
            must(CHECK, backend.put(key, value, None).await)?,
            Put::Inserted,
        )?;
        let found = must(CHECK, backend.get(key).await)?;
        if found.as_deref() != Some(value) {
            return fail(
                CHECK,
                format!(
                    "get of {key:?} returned {} bytes, not the {} written",
                    found.map_or(0, |found| found.len()),
                    value.len()
                ),
            );
        }
    }
    expect_eq(
        CHECK,
        "second put of \"binary\"",
        must(CHECK, backend.put("binary", b"new", None).await)?,
        Put::Replaced,
    )?;
    expect_eq(
        CHECK,
        "get after a replacement",
        must(CHECK, backend.get("binary").await)?,
        Some(b"new".to_vec()),
    )?;
    expect_eq(
        CHECK,
        "remove of a held key",
        must(CHECK, backend.remove("binary").await)?,
        true,
    )?;
    expect_eq(
        CHECK,
        "remove of a removed key",
        must(CHECK, backend.remove("binary").await)?,
        false,
    )?;
    expect_eq(
        CHECK,
        "get of a removed key",
        must(CHECK, backend.get("binary").await)?,
        None,
    )?;
    must(CHECK, backend.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

async fn many(run: &mut Run, backend: &dyn Backend) -> Result<(), Failure> {
    const CHECK: &str = "many keys";
    must(CHECK, backend.put("m1", b"one", None).await)?;
    let entries = [
        Entry {
            key: "m1",
            value: b"uno",
            ttl: None,
        },
        Entry {
            key: "m2",
            value: b"dos",
            ttl: Some(Duration::from_secs(3600)),
        },
    ];
    expect_eq(
        CHECK,
        "put_many answers",
        must(CHECK, backend.put_many(&entries).await)?,
        vec![Put::Replaced, Put::Inserted],
    )?;
    expect_eq(
        CHECK,
        "get_many, in order, with a missing key",
        must(CHECK, backend.get_many(&["m2", "nope", "m1"]).await)?,
        vec![Some(b"dos".to_vec()), None, Some(b"uno".to_vec())],
    )?;
    must(CHECK, backend.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

async fn regions_apart(run: &mut Run, a: &dyn Backend, b: &dyn Backend) -> Result<(), Failure> {
    const CHECK: &str = "regions apart";
    must(CHECK, a.put("shared", b"from a", None).await)?;
    expect_eq(
        CHECK,
        "the other region's get of the same key",
        must(CHECK, b.get("shared").await)?,
        None,
    )?;
    expect_eq(
        CHECK,
        "a put of the same key in the other region",
        must(CHECK, b.put("shared", b"from b", None).await)?,
        Put::Inserted,
    )?;
    must(CHECK, b.clear().await)?;
    expect_eq(
        CHECK,
        "the first region's value after the other's clear",
        must(CHECK, a.get("shared").await)?,
        Some(b"from a".to_vec()),
    )?;
    must(CHECK, a.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

/// Keys for the pattern checks, and what each pattern removes of them.
const PATTERN_KEYS: &[&str] = &[
    "user:1", "user:2", "user:10", "order:1", "a*b", "axb", "a?b", "[x]", "x",
];

const PATTERNS: &[(&str, &[&str])] = &[
    ("user:?", &["user:1", "user:2"]),
    ("a\\*b", &["a*b"]),
    ("a[*?]b", &["a*b", "a?b"]),
    ("[^u]*:1", &["order:1"]),
    ("\\[x]", &["[x]"]),
    ("*", PATTERN_KEYS),
];

async fn fill(backend: &dyn Backend, check: &'static str) -> Result<(), Failure> {
    must(check, backend.clear().await)?;
    for key in PATTERN_KEYS {
        must(check, backend.put(key, key.as_bytes(), None).await)?;
    }
    Ok(())
}

async fn clearing(
    run: &mut Run,
    a: &dyn Backend,
    b: &dyn Backend,
    capabilities: Capabilities,
) -> Result<(), Failure> {
    const CHECK: &str = "clear";
    fill(a, CHECK).await?;
    must(CHECK, b.put("other", b"kept", None).await)?;
    expect_eq(
        CHECK,
        "clear's count",
        must(CHECK, a.clear().await)?,
        PATTERN_KEYS.len() as u64,
    )?;
    for key in PATTERN_KEYS {
        expect_eq(
            CHECK,
            &format!("get of {key:?} after clear"),
            must(CHECK, a.get(key).await)?,
            None,
        )?;
    }
    expect_eq(
        CHECK,
        "the other region after clear",
        must(CHECK, b.get("other").await)?,
        Some(b"kept".to_vec()),
    )?;
    must(CHECK, b.clear().await)?;
    run.pass(CHECK);

    const PATTERN: &str = "clear by pattern";
    if !capabilities.pattern_clear {
        run.skip(PATTERN, "no pattern_clear capability");
        return Ok(());
    }
    for (pattern, removed) in PATTERNS {
        fill(a, PATTERN).await?;
        let glob = Glob::key(pattern);
        expect_eq(
            PATTERN,
            &format!("clear_matching({pattern:?})'s count"),
            must(PATTERN, a.clear_matching(&glob).await)?,
            removed.len() as u64,
        )?;
        for key in PATTERN_KEYS {
            let held = must(PATTERN, a.get(key).await)?.is_some();
            if held == removed.contains(key) {
                return fail(
                    PATTERN,
                    format!(
                        "after clear_matching({pattern:?}), {key:?} is {} (Redis' glob: {})",
                        if held { "still held" } else { "gone" },
                        if removed.contains(key) {
                            "it matches"
                        } else {
                            "it does not match"
                        }
                    ),
                );
            }
        }
    }
    must(PATTERN, a.clear().await)?;
    run.pass(PATTERN);
    Ok(())
}

async fn scan_all(
    backend: &dyn Backend,
    pattern: Option<&Glob>,
    check: &'static str,
) -> Result<BTreeSet<String>, Failure> {
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let page = must(check, backend.scan(pattern, cursor.as_deref(), 2).await)?;
        seen.extend(page.keys);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(seen),
        }
    }
    fail(check, "the scan never ended (10,000 pages of 2)")
}

async fn scanning(
    run: &mut Run,
    backend: &dyn Backend,
    capabilities: Capabilities,
) -> Result<(), Failure> {
    const CHECK: &str = "scan";
    if !capabilities.scan {
        run.skip(CHECK, "no scan capability");
        return Ok(());
    }
    fill(backend, CHECK).await?;
    let all = scan_all(backend, None, CHECK).await?;
    let expected: BTreeSet<String> = PATTERN_KEYS.iter().map(|key| key.to_string()).collect();
    expect_eq(CHECK, "keys listed by pages of 2", &all, &expected)?;
    let users = scan_all(backend, Some(&Glob::key("user:*")), CHECK).await?;
    let expected: BTreeSet<String> = ["user:1", "user:2", "user:10"]
        .iter()
        .map(|key| key.to_string())
        .collect();
    expect_eq(CHECK, "keys listed for \"user:*\"", &users, &expected)?;
    must(CHECK, backend.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

async fn counting(
    run: &mut Run,
    backend: &dyn Backend,
    capabilities: Capabilities,
) -> Result<(), Failure> {
    const CHECK: &str = "count";
    if !capabilities.count {
        run.skip(CHECK, "no count capability");
        return Ok(());
    }
    fill(backend, CHECK).await?;
    expect_eq(
        CHECK,
        "count",
        must(CHECK, backend.count().await)?,
        Some(PATTERN_KEYS.len() as u64),
    )?;
    must(CHECK, backend.clear().await)?;
    expect_eq(
        CHECK,
        "count after clear",
        must(CHECK, backend.count().await)?,
        Some(0),
    )?;
    run.pass(CHECK);
    Ok(())
}

async fn concurrent_writers(run: &mut Run, backend: &Arc<dyn Backend>) -> Result<(), Failure> {
    const CHECK: &str = "concurrent writers";
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let (done, finished) = tokio::sync::oneshot::channel();
    let backend_for_threads = Arc::clone(backend);
    std::thread::spawn(move || {
        let outcome = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let backend = &backend_for_threads;
                    scope.spawn(move || {
                        crate::block_on::block_on(async move {
                            for index in 0..EACH {
                                let key = format!("t{thread}:{index}");
                                backend.put(&key, key.as_bytes(), None).await?;
                                backend
                                    .put("contended", format!("{thread}").as_bytes(), None)
                                    .await?;
                            }
                            Ok::<(), BackendError>(())
                        })
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| {
                    worker.join().unwrap_or_else(|_| {
                        Err(BackendError::Failed {
                            operation: "put",
                            reason: String::from("a writer thread panicked"),
                        })
                    })
                })
                .collect::<Result<Vec<()>, BackendError>>()
        });
        let _ = done.send(outcome);
    });
    let outcome = finished.await.map_err(|_| Failure {
        check: CHECK,
        message: String::from("the writers' thread ended without an answer"),
    })?;
    must(CHECK, outcome)?;
    for thread in 0..THREADS {
        for index in 0..EACH {
            let key = format!("t{thread}:{index}");
            expect_eq(
                CHECK,
                &format!("get of {key:?}"),
                must(CHECK, backend.get(&key).await)?,
                Some(key.as_bytes().to_vec()),
            )?;
        }
    }
    let contended = must(CHECK, backend.get("contended").await)?;
    let valid = contended
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<usize>().ok())
        .is_some_and(|thread| thread < THREADS);
    if !valid {
        return fail(
            CHECK,
            format!("the contended key holds {contended:?}, not one writer's whole value"),
        );
    }
    must(CHECK, backend.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

/// Waits `duration` without a runtime: a plain thread wakes the task.
async fn sleep(duration: Duration) {
    let (wake, woken) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(duration);
        let _ = wake.send(());
    });
    let _ = woken.await;
}

async fn expiry(
    run: &mut Run,
    backend: &dyn Backend,
    capabilities: Capabilities,
) -> Result<(), Failure> {
    const CHECK: &str = "ttl";
    if !capabilities.ttl {
        run.skip(CHECK, "no ttl capability");
        return Ok(());
    }
    must(
        CHECK,
        backend
            .put("short", b"v", Some(Duration::from_secs(1)))
            .await,
    )?;
    must(CHECK, backend.put("long", b"v", None).await)?;
    expect_eq(
        CHECK,
        "get before the TTL",
        must(CHECK, backend.get("short").await)?,
        Some(b"v".to_vec()),
    )?;
    sleep(Duration::from_millis(2_500)).await;
    expect_eq(
        CHECK,
        "get 2.5 s after a 1 s TTL",
        must(CHECK, backend.get("short").await)?,
        None,
    )?;
    expect_eq(
        CHECK,
        "get of a value without TTL",
        must(CHECK, backend.get("long").await)?,
        Some(b"v".to_vec()),
    )?;
    must(CHECK, backend.clear().await)?;
    run.pass(CHECK);
    Ok(())
}

async fn health(run: &mut Run, backend: &dyn Backend) -> Result<(), Failure> {
    const CHECK: &str = "health";
    must(CHECK, backend.health().await)?;
    run.pass(CHECK);
    Ok(())
}

/// Adapts the suite's factory to a manager's.
struct ByRegion(Arc<dyn Fn(&str) -> Made + Send + Sync>);

impl BackendFactory for ByRegion {
    fn make(&self, context: &BackendContext<'_>) -> Made {
        (self.0)(context.region())
    }
}

async fn through_a_manager<F>(run: &mut Run, make: Arc<F>) -> Result<(), Failure>
where
    F: Fn(&str) -> Made + Send + Sync + 'static,
{
    const CHECK: &str = "typed region";
    const REGION: &str = "conformance-typed";
    let direct = run.open(REGION)?;
    must(CHECK, direct.clear().await)?;
    let manager = CacheManager::builder()
        .without_linked_regions()
        .background_stats(false)
        .without_config_env()
        .disk_root(std::env::temp_dir().join("cache-runtime-conformance"))
        .backend("under-test", ByRegion(make))
        .build()
        .map_err(|error| Failure {
            check: CHECK,
            message: format!("a manager with the backend would not build: {error}"),
        })?;
    let descriptor = RegionDescriptor::builder(REGION)
        .backend("under-test")
        .build()
        .map_err(|error| Failure {
            check: CHECK,
            message: error.to_string(),
        })?;
    let opened = manager
        .add_region_with(descriptor, RegionCodecs::<String, Vec<u32>>::serde())
        .and_then(|()| manager.region_named::<String, Vec<u32>>(REGION));
    let handle = opened.map_err(|error| Failure {
        check: CHECK,
        message: format!("the region would not open: {error}"),
    })?;
    let key = |text: &str| text.to_owned();
    let region_error = |error: crate::CacheError| Failure {
        check: CHECK,
        message: format!("the region failed: {error}"),
    };
    handle
        .try_insert(key("a"), vec![1, 2, 3])
        .await
        .map_err(region_error)?;
    handle
        .try_insert(key("a"), vec![4])
        .await
        .map_err(region_error)?;
    handle
        .try_insert(key("b"), vec![5])
        .await
        .map_err(region_error)?;
    let short_lived = std::time::Instant::now();
    if !handle
        .insert_with_ttl(key("short"), vec![6], Duration::from_millis(500))
        .await
    {
        return fail(CHECK, "an insert with a TTL was not stored");
    }
    expect_eq(
        CHECK,
        "typed get",
        handle.try_get(&key("a")).await.map_err(region_error)?,
        Some(vec![4]),
    )?;
    expect_eq(
        CHECK,
        "typed get of a missing key",
        handle.try_get(&key("zz")).await.map_err(region_error)?,
        None,
    )?;
    // Bytes that are not an envelope, and another key's envelope.
    must(CHECK, direct.put("junk", b"not an envelope", None).await)?;
    let sealed_b = must(CHECK, direct.get("b").await)?.unwrap_or_default();
    must(CHECK, direct.put("copied", &sealed_b, None).await)?;
    for corrupt in ["junk", "copied"] {
        expect_eq(
            CHECK,
            &format!("typed get of {corrupt:?} (not this key's envelope)"),
            handle.try_get(&key(corrupt)).await.map_err(region_error)?,
            None,
        )?;
    }
    expect_eq(
        CHECK,
        "typed remove",
        handle.try_remove(&key("a")).await.map_err(region_error)?,
        true,
    )?;
    // Past its TTL: a miss, whether the backend dropped it or still
    // serves the bytes.
    sleep(Duration::from_millis(1_500).saturating_sub(short_lived.elapsed())).await;
    expect_eq(
        CHECK,
        "typed get 1.5 s after a 0.5 s TTL",
        handle.try_get(&key("short")).await.map_err(region_error)?,
        None,
    )?;
    let stats = handle.snapshot();
    expect_eq(CHECK, "hits", stats.hits, 1)?;
    expect_eq(CHECK, "misses", stats.misses, 4)?;
    expect_eq(CHECK, "inserts", stats.inserts, 4)?;
    expect_eq(CHECK, "updates", stats.updates, 1)?;
    expect_eq(CHECK, "removals", stats.removals, 1)?;
    expect_eq(CHECK, "corrupt values", stats.errors.corrupt, 2)?;
    must(CHECK, direct.clear().await)?;
    run.pass(CHECK);
    Ok(())
}
