//! The `CacheManager` against raw moka: the hit path, the
//! `get_or_insert_with` miss path, inserts with and without an eviction
//! listener, and the disk and hybrid tiers.
//!
//! `cargo bench -p cache-runtime --bench manager`; `scripts/bench-manager.sh`
//! runs it and prints the ratios (target: a manager hit within 5 % of a raw
//! moka hit, statistics on).
//!
//! - `hit`: 100,000 entries (`u64` keys, 32-byte `Arc<str>` values, room for
//!   200,000 so nothing is evicted), looked up in a precomputed random order
//!   (xorshift). `moka_plain` is a `moka::sync::Cache<u64, Arc<str>>` with
//!   only `max_capacity`; `moka_shaped` has the manager's shape (the same
//!   entry struct, an `Expiry`, an eviction listener, TinyLFU);
//!   `moka_expiry_only` and `moka_entry_only` take one piece of that shape
//!   at a time; `manager_get_blocking` is `RegionHandle::get_blocking`,
//!   `manager_get_polled` is `RegionHandle::get` polled once with a no-op
//!   waker (it is ready at once: no runtime). The caches are filled key by
//!   key in turn, so their entries are laid out alike (see [`fill`]).
//! - `hit_1k`: the same over 1,024 entries, which fit in the CPU caches: a
//!   hit costs its instructions, not memory stalls.
//! - after divan's table, the hit variants of both groups again, measured in
//!   interleaved rounds with paired ratios (see [`interleaved`]): the
//!   steadier comparison on a shared machine; then raw moka and
//!   `get_blocking` again with two threads reading at once (`hit_2t`,
//!   `hit_1k_2t`).
//! - `miss`: a key never seen before per iteration, its value from a trivial
//!   loader: `get_or_insert_with` / `try_get_or_insert_with` (polled) and
//!   `_blocking`, against moka's `get_with` on a cache of the manager's
//!   shape.
//! - `insert`: overwriting random existing keys (`update_*`) and storing new
//!   keys (`new_*`), raw moka without and with a no-op eviction listener,
//!   the shaped cache without and with it, and the manager (which always
//!   has its listener).
//! - `disk`: a disk-tier region: a read hit (the file, no memory level), a
//!   synchronous write (`write_behind(0)`: temp file, fsync, rename), a
//!   write-behind enqueue (the default queue of 1,024); a hybrid region's
//!   memory hit next to a memory region's, both over 1,024 entries. Files
//!   live under the system temp folder and are removed at the end.
//!
//! Setup (filling the caches) happens once, before divan starts; each hit
//! and update bench then runs its operation once per key of `KEYS` before
//! it is measured, so it starts from its own cache warm.
//!
//! Recorded on the reference machine (2 cores, shared, load average ~1;
//! `scripts/bench-manager.sh` twice, each 3 runs; divan medians, median
//! over the runs; (a) moka plain, (b) moka of the manager's shape, (c)
//! `get_blocking`, (d) `get` polled):
//!
//! ```text
//! hit, 100,000 entries   (a) 1.19-1.20 µs  (b) 1.26-1.30  (c) 1.26-1.29  (d) 1.15-1.24
//!   divan        (c)/(a) 1.114, 0.998 (single runs 0.95-1.19)   (c)/(b) 0.90, 1.03   (d)/(a) 1.02, 1.03
//!   interleaved  (c)/(a) 0.984, 0.957                           (c)/(b) 0.96, 0.93   (d)/(a) 1.00, 1.00
//! hit, 1,024 entries     (a) 173-175 ns  (b) 191-192  (c) 206-207
//!   divan        (c)/(a) 1.20, 1.20   (c)/(b) 1.07, 1.09   (b)/(a) 1.12, 1.11
//!   interleaved  (c)/(a) 1.16, 1.15   (c)/(b) 1.06, 1.05
//! miss (new key, trivial loader): moka get_with 1.84-1.92 µs; get_or_insert_with
//!   x1.05-1.14, try_ x1.03-1.06, _blocking x1.06-1.08 (fastest samples x0.99-1.10)
//! insert, no-op listener / none: raw moka update x1.30-1.32, new key x1.50-1.52;
//!   manager's shape x1.32-1.33 / x1.48-1.68; manager / moka of its shape x1.00-1.05
//! disk read hit 6.45-6.50 µs; write_behind(0) 1.0-1.6 ms (fastest ~0.4 ms);
//!   write-behind enqueue 414-482 ns; hybrid memory hit = memory hit (x0.98-0.99)
//! ```
//!
//! Over 100,000 entries a hit is memory stalls: the manager's extra work
//! (moka's `Expiry` bookkeeping, statistics) is below the spread between
//! runs, and layout decides more (filled one cache after another, the
//! caches with a listener were ~10 % slower). Over 1,024 entries it shows
//! in instructions: the `hit_cost` bench counts them per hit under
//! callgrind (`scripts/bench-manager.sh` section 5). `moka_shaped` here
//! keeps moka's `Expiry`, which the manager now builds only for regions
//! whose entries can expire (see the memory module's notes); the hit
//! regions here have no TTL.

#[path = "common/interleave.rs"]
mod interleave;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use cache_runtime::{CacheManager, RegionHandle, cache_region};
use divan::{Bencher, black_box};
use interleave::{Block, timed, timed_2_threads};
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

fn main() {
    // Build and fill everything first: divan sizes its samples from the
    // first calls, which would otherwise include the set-up.
    let started = Instant::now();
    LazyLock::force(&KEYS);
    LazyLock::force(&HIT);
    LazyLock::force(&UPDATE);
    LazyLock::force(&FRESH);
    LazyLock::force(&DISK);
    eprintln!("set-up: {:.1?}", started.elapsed());
    divan::main();
    interleaved();
    // All three were built by the set-up above.
    for manager in [&*MEMORY, &*DISK_SYNC, &*DISK_BEHIND] {
        let _ = manager.shutdown();
    }
    let _ = std::fs::remove_dir_all(scratch(""));
}

// ---------------------------------------------------------------------------
// Regions and set-up
// ---------------------------------------------------------------------------

type Value = Arc<str>;

/// Entries in the hit and update caches.
const ENTRIES: u64 = 100_000;
/// Room for twice as many: nothing is evicted.
const CAPACITY: u64 = 200_000;
/// Entries in the small caches (the `hit_1k` group, the hybrid region):
/// they fit in the CPU caches, so a hit costs its instructions.
const SMALL: u64 = 1024;

#[cache_region(name = "bench-manager-hit", key = u64, value = Arc<str>, max_entries = 200_000)]
struct HitRegion;

#[cache_region(name = "bench-manager-hit-1k", key = u64, value = Arc<str>, max_entries = 200_000)]
struct Hit1kRegion;

// One region per miss bench: each starts empty and grows alike (moka's
// table resizes as it grows, so a bench following another on the same
// region would pay fewer of them).
#[cache_region(name = "bench-manager-miss", key = u64, value = Arc<str>, max_entries = 200_000)]
struct MissRegion;

#[cache_region(name = "bench-manager-miss-try", key = u64, value = Arc<str>, max_entries = 200_000)]
struct MissTryRegion;

#[cache_region(name = "bench-manager-miss-blocking", key = u64, value = Arc<str>, max_entries = 200_000)]
struct MissBlockingRegion;

#[cache_region(name = "bench-manager-update", key = u64, value = Arc<str>, max_entries = 200_000)]
struct UpdateRegion;

#[cache_region(name = "bench-manager-insert-new", key = u64, value = Arc<str>, max_entries = 200_000)]
struct InsertNewRegion;

#[cache_region(name = "bench-manager-memory-1k", key = u64, value = String, max_entries = 200_000)]
struct Memory1kRegion;

#[cache_region(name = "bench-manager-disk", key = u64, value = String, tier = "disk")]
struct DiskRegion;

#[cache_region(name = "bench-manager-hybrid", key = u64, value = String, tier = "hybrid", max_entries = 200_000)]
struct HybridRegion;

/// A 32-byte value, distinct per key.
fn value(key: u64) -> Value {
    Arc::from(format!("value-{key:026}").as_str())
}

fn text(key: u64) -> String {
    format!("value-{key:026}")
}

/// `ENTRIES` keys in a random order (xorshift64), looked up in turn.
static KEYS: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..1 << 18)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % ENTRIES
        })
        .collect()
});

/// The next key of `KEYS` after `at`.
#[inline]
fn next_key(at: &Cell<usize>) -> u64 {
    let i = at.get();
    at.set((i + 1) & ((1 << 18) - 1));
    KEYS[i]
}

/// Runs `op` once per entry of `KEYS` before a bench measures it, so every
/// bench starts from its own cache warm (as much of it as the CPU caches
/// hold) rather than from whatever the previous bench left there.
fn warm<O>(op: impl Fn() -> O) {
    for _ in 0..KEYS.len() {
        black_box(op());
    }
}

/// Benches `op` over the keys of `KEYS` in order, after [`warm`]ing it.
fn warm_and_bench<O>(bencher: Bencher, op: impl Fn(u64) -> O) {
    let at = Cell::new(0);
    let op = || op(next_key(&at));
    warm(op);
    bencher.bench_local(op);
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!(
            "cache-runtime-bench-manager-{}",
            std::process::id()
        ))
        .join(name)
}

/// The manager of the memory regions: defaults (statistics on, about 1,000
/// gets a second timed per region, re-rated each second by the background
/// statistics worker).
static MEMORY: LazyLock<CacheManager> = LazyLock::new(|| {
    CacheManager::builder()
        .without_linked_regions()
        .disk_root(scratch("memory"))
        .build()
        .expect("manager")
});

/// What the manager stores per key (a copy of `manager::memory::Entry`).
#[derive(Clone)]
struct Entry<V> {
    value: V,
    ttl: Option<Duration>,
    #[allow(dead_code)] // read by the manager's listener; kept for the shape
    stored_at: Instant,
}

impl<V> Entry<V> {
    fn new(value: V, ttl: Option<Duration>) -> Entry<V> {
        Entry {
            value,
            ttl,
            stored_at: Instant::now(),
        }
    }
}

/// The manager's expiry (a copy of `manager::memory::EntryExpiry`).
struct EntryExpiry;

impl<K, V> moka::Expiry<K, Entry<V>> for EntryExpiry {
    fn expire_after_create(&self, _: &K, entry: &Entry<V>, _: Instant) -> Option<Duration> {
        entry.ttl
    }

    fn expire_after_update(
        &self,
        _: &K,
        entry: &Entry<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry.ttl
    }
}

static LISTENED: AtomicU64 = AtomicU64::new(0);

/// A listener that does next to nothing (the manager's counts a statistic).
fn noop_listener<K, V>(_: Arc<K>, _: V, cause: RemovalCause) {
    if cause == RemovalCause::Size {
        LISTENED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Raw moka, `max_capacity` only.
fn moka_plain() -> Cache<u64, Value> {
    Cache::builder().max_capacity(CAPACITY).build()
}

/// Raw moka with a no-op eviction listener.
fn moka_listener() -> Cache<u64, Value> {
    Cache::builder()
        .max_capacity(CAPACITY)
        .eviction_listener(noop_listener)
        .build()
}

/// The manager's shape without its listener.
fn moka_shaped_no_listener() -> Cache<u64, Entry<Value>> {
    Cache::builder()
        .eviction_policy(EvictionPolicy::tiny_lfu())
        .expire_after(EntryExpiry)
        .max_capacity(CAPACITY)
        .build()
}

/// The manager's shape: entry struct, expiry, listener, TinyLFU.
fn moka_shaped() -> Cache<u64, Entry<Value>> {
    Cache::builder()
        .eviction_policy(EvictionPolicy::tiny_lfu())
        .expire_after(EntryExpiry)
        .max_capacity(CAPACITY)
        .eviction_listener(noop_listener)
        .build()
}

/// The entry struct alone (no expiry, no listener).
fn moka_entry_only() -> Cache<u64, Entry<Value>> {
    Cache::builder().max_capacity(CAPACITY).build()
}

/// Fills caches with keys `0..n` in turn, key by key: key `k` goes into
/// every cache before key `k + 1`, so the entries of each are spread over
/// the heap alike. (Filled one after another, the first cache gets a compact
/// layout, and moka's per-key write locks, taken only by caches with an
/// eviction listener, space the entries of those apart: that alone made a
/// hit ~10 % slower on the reference machine, with the same instructions.)
fn fill(
    n: u64,
    plain: &[&Cache<u64, Value>],
    entries: &[&Cache<u64, Entry<Value>>],
    handles: &[&RegionHandle<u64, Value>],
) {
    for key in 0..n {
        for cache in plain {
            cache.insert(key, value(key));
        }
        for cache in entries {
            cache.insert(key, Entry::new(value(key), None));
        }
        for handle in handles {
            assert!(handle.insert_blocking(key, value(key)), "stored");
        }
    }
    for cache in plain {
        cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), n, "every entry is held");
    }
    for cache in entries {
        cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), n, "every entry is held");
    }
    for handle in handles {
        handle.run_pending_tasks();
        assert_eq!(handle.len(), Some(n), "every entry is held");
    }
}

/// The caches of the hit benches, filled with the same entries.
struct HitCaches {
    plain: Cache<u64, Value>,
    shaped: Cache<u64, Entry<Value>>,
    expiry_only: Cache<u64, Entry<Value>>,
    entry_only: Cache<u64, Entry<Value>>,
    handle: RegionHandle<u64, Value>,
    plain_1k: Cache<u64, Value>,
    shaped_1k: Cache<u64, Entry<Value>>,
    handle_1k: RegionHandle<u64, Value>,
}

static HIT: LazyLock<HitCaches> = LazyLock::new(|| {
    let caches = HitCaches {
        plain: moka_plain(),
        shaped: moka_shaped(),
        expiry_only: moka_shaped_no_listener(),
        entry_only: moka_entry_only(),
        handle: MEMORY.region::<HitRegion>().expect("region"),
        plain_1k: moka_plain(),
        shaped_1k: moka_shaped(),
        handle_1k: MEMORY.region::<Hit1kRegion>().expect("region"),
    };
    fill(
        ENTRIES,
        &[&caches.plain],
        &[&caches.shaped, &caches.expiry_only, &caches.entry_only],
        &[&caches.handle],
    );
    fill(
        SMALL,
        &[&caches.plain_1k],
        &[&caches.shaped_1k],
        &[&caches.handle_1k],
    );
    caches
});

/// The caches of the update benches (inserts over existing keys).
struct UpdateCaches {
    plain: Cache<u64, Value>,
    listener: Cache<u64, Value>,
    shaped_no_listener: Cache<u64, Entry<Value>>,
    shaped: Cache<u64, Entry<Value>>,
    handle: RegionHandle<u64, Value>,
}

static UPDATE: LazyLock<UpdateCaches> = LazyLock::new(|| {
    let caches = UpdateCaches {
        plain: moka_plain(),
        listener: moka_listener(),
        shaped_no_listener: moka_shaped_no_listener(),
        shaped: moka_shaped(),
        handle: MEMORY.region::<UpdateRegion>().expect("region"),
    };
    fill(
        ENTRIES,
        &[&caches.plain, &caches.listener],
        &[&caches.shaped_no_listener, &caches.shaped],
        &[&caches.handle],
    );
    caches
});

/// Empty caches for the new-key benches (inserts and loads).
struct FreshCaches {
    plain: Cache<u64, Value>,
    listener: Cache<u64, Value>,
    shaped_no_listener: Cache<u64, Entry<Value>>,
    shaped: Cache<u64, Entry<Value>>,
    get_with: Cache<u64, Entry<Value>>,
    handle: RegionHandle<u64, Value>,
    miss: RegionHandle<u64, Value>,
    miss_try: RegionHandle<u64, Value>,
    miss_blocking: RegionHandle<u64, Value>,
}

static FRESH: LazyLock<FreshCaches> = LazyLock::new(|| FreshCaches {
    plain: moka_plain(),
    listener: moka_listener(),
    shaped_no_listener: moka_shaped_no_listener(),
    shaped: moka_shaped(),
    get_with: moka_shaped(),
    handle: MEMORY.region::<InsertNewRegion>().expect("region"),
    miss: MEMORY.region::<MissRegion>().expect("region"),
    miss_try: MEMORY.region::<MissTryRegion>().expect("region"),
    miss_blocking: MEMORY.region::<MissBlockingRegion>().expect("region"),
});

/// Keys never used before: one counter for every new-key bench (they use
/// separate caches, so each sees only new keys).
static NEXT_NEW: AtomicU64 = AtomicU64::new(1 << 40);

#[inline]
fn new_key() -> u64 {
    NEXT_NEW.fetch_add(1, Ordering::Relaxed)
}

/// One shared value for the insert and load benches (a clone is a
/// reference count).
static SHARED: LazyLock<Value> = LazyLock::new(|| value(42));

/// Polls a future that is ready at once (the manager's memory-tier
/// futures are), with a no-op waker: no runtime.
#[inline]
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the manager's memory-tier futures are ready at once"),
    }
}

// ---------------------------------------------------------------------------
// 1. Hits
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 1000, sample_size = 200)]
mod hit {
    use super::*;

    #[divan::bench]
    fn moka_plain(bencher: Bencher) {
        let cache = &HIT.plain;
        warm_and_bench(bencher, |key| cache.get(&black_box(key)).expect("hit"));
    }

    #[divan::bench]
    fn moka_entry_only(bencher: Bencher) {
        let cache = &HIT.entry_only;
        warm_and_bench(bencher, |key| {
            cache.get(&black_box(key)).expect("hit").value
        });
    }

    #[divan::bench]
    fn moka_expiry_only(bencher: Bencher) {
        let cache = &HIT.expiry_only;
        warm_and_bench(bencher, |key| {
            cache.get(&black_box(key)).expect("hit").value
        });
    }

    #[divan::bench]
    fn moka_shaped(bencher: Bencher) {
        let cache = &HIT.shaped;
        warm_and_bench(bencher, |key| {
            cache.get(&black_box(key)).expect("hit").value
        });
    }

    #[divan::bench]
    fn manager_get_blocking(bencher: Bencher) {
        let handle = &HIT.handle;
        warm_and_bench(bencher, |key| {
            handle.get_blocking(&black_box(key)).expect("hit")
        });
    }

    #[divan::bench]
    fn manager_get_polled(bencher: Bencher) {
        let handle = &HIT.handle;
        warm_and_bench(bencher, |key| {
            ready(handle.get(&black_box(key))).expect("hit")
        });
    }
}

/// The same over 1,024 entries (all in the CPU caches): the hit's
/// instructions, without the memory stalls that dominate over 100,000.
#[divan::bench_group(sample_count = 1000, sample_size = 200)]
mod hit_1k {
    use super::*;

    #[divan::bench]
    fn moka_plain(bencher: Bencher) {
        let cache = &HIT.plain_1k;
        warm_and_bench(bencher, |key| {
            cache.get(&black_box(key % SMALL)).expect("hit")
        });
    }

    #[divan::bench]
    fn moka_shaped(bencher: Bencher) {
        let cache = &HIT.shaped_1k;
        warm_and_bench(bencher, |key| {
            cache.get(&black_box(key % SMALL)).expect("hit").value
        });
    }

    #[divan::bench]
    fn manager_get_blocking(bencher: Bencher) {
        let handle = &HIT.handle_1k;
        warm_and_bench(bencher, |key| {
            handle.get_blocking(&black_box(key % SMALL)).expect("hit")
        });
    }
}

// ---------------------------------------------------------------------------
// 1c. Hits, interleaved (outside divan)
// ---------------------------------------------------------------------------

/// The hit variants again, in interleaved rounds (`common/interleave.rs`).
fn interleaved() {
    let rounds = interleave::rounds();
    if rounds == 0 {
        return;
    }
    let hit = &*HIT;
    let big: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| timed(n, start, KEYS.len(), |at| hit.plain.get(&next_key(at)))),
        ),
        (
            "moka_entry_only",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.entry_only.get(&next_key(at)).map(|e| e.value)
                })
            }),
        ),
        (
            "moka_expiry_only",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.expiry_only.get(&next_key(at)).map(|e| e.value)
                })
            }),
        ),
        (
            "moka_shaped",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.shaped.get(&next_key(at)).map(|e| e.value)
                })
            }),
        ),
        (
            "manager_get_blocking",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.handle.get_blocking(&next_key(at))
                })
            }),
        ),
        (
            "manager_get_polled",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    ready(hit.handle.get(&next_key(at)))
                })
            }),
        ),
    ];
    let small: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.plain_1k.get(&(next_key(at) % SMALL))
                })
            }),
        ),
        (
            "moka_shaped",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.shaped_1k.get(&(next_key(at) % SMALL)).map(|e| e.value)
                })
            }),
        ),
        (
            "manager_get_blocking",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.handle_1k.get_blocking(&(next_key(at) % SMALL))
                })
            }),
        ),
    ];
    // The same on two threads at once (each its own stretch of keys).
    let big_2t: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| {
                timed_2_threads(n, start, KEYS.len(), |at| hit.plain.get(&next_key(at)))
            }),
        ),
        (
            "manager_get_blocking",
            Box::new(|n, start| {
                timed_2_threads(n, start, KEYS.len(), |at| {
                    hit.handle.get_blocking(&next_key(at))
                })
            }),
        ),
    ];
    let small_2t: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| {
                timed_2_threads(n, start, KEYS.len(), |at| {
                    hit.plain_1k.get(&(next_key(at) % SMALL))
                })
            }),
        ),
        (
            "manager_get_blocking",
            Box::new(|n, start| {
                timed_2_threads(n, start, KEYS.len(), |at| {
                    hit.handle_1k.get_blocking(&(next_key(at) % SMALL))
                })
            }),
        ),
    ];
    // ~25 ms blocks: 20,000 lookups over 100,000 entries, 100,000 over 1,024.
    // Each variant its own stretch of keys: two variants over one cache
    // (get_blocking and get polled), or over caches whose entries were
    // allocated side by side, would otherwise find the previous one's lines
    // still cached.
    for (group, mut variants, n) in [
        ("hit", big, 20_000),
        ("hit_1k", small, 100_000),
        ("hit_2t", big_2t, 20_000),
        ("hit_1k_2t", small_2t, 100_000),
    ] {
        for (_, block) in &mut variants {
            block(KEYS.len(), 0); // warm, as the divan benches do
        }
        interleave::run(group, &mut variants, n, rounds, KEYS.len());
    }
}

// ---------------------------------------------------------------------------
// 2. Misses with a loader
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 100, sample_size = 400)]
mod miss {
    use super::*;

    /// moka's own single-flight load, on a cache of the manager's shape.
    #[divan::bench]
    fn moka_get_with(bencher: Bencher) {
        let cache = &FRESH.get_with;
        bencher.bench_local(|| {
            cache
                .get_with(new_key(), || Entry::new(Arc::clone(&SHARED), None))
                .value
        });
    }

    #[divan::bench]
    fn manager_get_or_insert_with(bencher: Bencher) {
        let handle = &FRESH.miss;
        bencher.bench_local(|| {
            ready(handle.get_or_insert_with(new_key(), || async { Arc::clone(&SHARED) }))
        });
    }

    #[divan::bench]
    fn manager_try_get_or_insert_with(bencher: Bencher) {
        let handle = &FRESH.miss_try;
        bencher.bench_local(|| {
            ready(handle.try_get_or_insert_with(new_key(), || async {
                Ok::<_, Infallible>(Arc::clone(&SHARED))
            }))
            .expect("infallible")
        });
    }

    #[divan::bench]
    fn manager_get_or_insert_with_blocking(bencher: Bencher) {
        let handle = &FRESH.miss_blocking;
        bencher
            .bench_local(|| handle.get_or_insert_with_blocking(new_key(), || Arc::clone(&SHARED)));
    }
}

// ---------------------------------------------------------------------------
// 3. Inserts, with and without a listener
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 100, sample_size = 400)]
mod insert {
    use super::*;

    #[divan::bench]
    fn update_moka_plain(bencher: Bencher) {
        let cache = &UPDATE.plain;
        warm_and_bench(bencher, |key| {
            cache.insert(black_box(key), Arc::clone(&SHARED))
        });
    }

    #[divan::bench]
    fn update_moka_listener(bencher: Bencher) {
        let cache = &UPDATE.listener;
        warm_and_bench(bencher, |key| {
            cache.insert(black_box(key), Arc::clone(&SHARED))
        });
    }

    #[divan::bench]
    fn update_moka_shaped_no_listener(bencher: Bencher) {
        let cache = &UPDATE.shaped_no_listener;
        warm_and_bench(bencher, |key| {
            cache.insert(black_box(key), Entry::new(Arc::clone(&SHARED), None))
        });
    }

    #[divan::bench]
    fn update_moka_shaped(bencher: Bencher) {
        let cache = &UPDATE.shaped;
        warm_and_bench(bencher, |key| {
            cache.insert(black_box(key), Entry::new(Arc::clone(&SHARED), None))
        });
    }

    #[divan::bench]
    fn update_manager(bencher: Bencher) {
        let handle = &UPDATE.handle;
        warm_and_bench(bencher, |key| {
            handle.insert_blocking(black_box(key), Arc::clone(&SHARED))
        });
    }

    #[divan::bench]
    fn new_moka_plain(bencher: Bencher) {
        let cache = &FRESH.plain;
        bencher.bench_local(|| cache.insert(new_key(), Arc::clone(&SHARED)));
    }

    #[divan::bench]
    fn new_moka_listener(bencher: Bencher) {
        let cache = &FRESH.listener;
        bencher.bench_local(|| cache.insert(new_key(), Arc::clone(&SHARED)));
    }

    #[divan::bench]
    fn new_moka_shaped_no_listener(bencher: Bencher) {
        let cache = &FRESH.shaped_no_listener;
        bencher.bench_local(|| cache.insert(new_key(), Entry::new(Arc::clone(&SHARED), None)));
    }

    #[divan::bench]
    fn new_moka_shaped(bencher: Bencher) {
        let cache = &FRESH.shaped;
        bencher.bench_local(|| cache.insert(new_key(), Entry::new(Arc::clone(&SHARED), None)));
    }

    #[divan::bench]
    fn new_manager(bencher: Bencher) {
        let handle = &FRESH.handle;
        bencher.bench_local(|| handle.insert_blocking(new_key(), Arc::clone(&SHARED)));
    }
}

// ---------------------------------------------------------------------------
// 4. Disk and hybrid
// ---------------------------------------------------------------------------

/// Disk writes are synchronous (temp file, fsync, rename, fsync folder).
static DISK_SYNC: LazyLock<CacheManager> = LazyLock::new(|| {
    CacheManager::builder()
        .without_linked_regions()
        .disk_root(scratch("sync"))
        .write_behind(0)
        .build()
        .expect("manager")
});

/// The default write-behind queue (1,024 writes).
static DISK_BEHIND: LazyLock<CacheManager> = LazyLock::new(|| {
    CacheManager::builder()
        .without_linked_regions()
        .disk_root(scratch("behind"))
        .build()
        .expect("manager")
});

struct DiskHandles {
    sync: RegionHandle<u64, String>,
    behind: RegionHandle<u64, String>,
    hybrid: RegionHandle<u64, String>,
    memory_1k: RegionHandle<u64, String>,
}

static DISK: LazyLock<DiskHandles> = LazyLock::new(|| {
    let handles = DiskHandles {
        sync: DISK_SYNC.region::<DiskRegion>().expect("disk region"),
        behind: DISK_BEHIND.region::<DiskRegion>().expect("disk region"),
        hybrid: DISK_BEHIND.region::<HybridRegion>().expect("hybrid region"),
        memory_1k: MEMORY.region::<Memory1kRegion>().expect("memory region"),
    };
    assert!(handles.sync.insert_blocking(1, text(1)), "stored");
    for key in 0..SMALL {
        assert!(handles.hybrid.insert_blocking(key, text(key)), "stored");
        assert!(handles.memory_1k.insert_blocking(key, text(key)), "stored");
    }
    handles.hybrid.flush().expect("flushed");
    handles.hybrid.run_pending_tasks();
    handles.memory_1k.run_pending_tasks();
    assert_eq!(handles.hybrid.len(), Some(SMALL), "every entry on disk");
    handles
});

#[divan::bench_group]
mod disk {
    use super::*;

    /// A disk-tier read hit: open, read, verify, decode the file, then the
    /// JSON of the value (a disk region has no memory level).
    #[divan::bench(sample_count = 100, sample_size = 20)]
    fn read_hit(bencher: Bencher) {
        let handle = &DISK.sync;
        bencher.bench_local(|| handle.get_blocking(black_box(&1)).expect("hit"));
    }

    /// `write_behind(0)`: every insert is on disk (fsynced) when it returns.
    /// Over 16 keys.
    #[divan::bench(sample_count = 20, sample_size = 4)]
    fn write_sync(bencher: Bencher) {
        let handle = &DISK.sync;
        let at = Cell::new(0u64);
        bencher.bench_local(|| {
            let key = 100 + at.get() % 16;
            at.set(at.get() + 1);
            handle.insert_blocking(key, text(key))
        });
    }

    /// The default write-behind: the cost of queueing a write (40 x 16 =
    /// 640 writes stay under the queue's 1,024, so it never waits), over 16
    /// keys.
    #[divan::bench(sample_count = 40, sample_size = 16)]
    fn write_behind_enqueue(bencher: Bencher) {
        let handle = &DISK.behind;
        let at = Cell::new(0u64);
        bencher.bench_local(|| {
            let key = 100 + at.get() % 16;
            at.set(at.get() + 1);
            handle.insert_blocking(key, text(key))
        });
        handle.flush().expect("flushed");
    }

    /// A hybrid region's memory hit (1,024 entries, also on disk).
    #[divan::bench(sample_count = 1000, sample_size = 200)]
    fn hybrid_memory_hit_1k(bencher: Bencher) {
        let (handle, at) = (&DISK.hybrid, Cell::new(0));
        bencher.bench_local(|| {
            handle
                .get_blocking(&black_box(next_key(&at) % SMALL))
                .expect("hit")
        });
    }

    /// The same lookups on a memory region of 1,024 entries, for scale.
    #[divan::bench(sample_count = 1000, sample_size = 200)]
    fn memory_hit_1k(bencher: Bencher) {
        let (handle, at) = (&DISK.memory_1k, Cell::new(0));
        bencher.bench_local(|| {
            handle
                .get_blocking(&black_box(next_key(&at) % SMALL))
                .expect("hit")
        });
    }
}
