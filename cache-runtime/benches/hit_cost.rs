//! What one memory hit costs in instructions, and one entry in bytes: the
//! manager against plain moka, counted rather than timed (a count does not
//! move with the machine's load).
//!
//! `scripts/bench-manager.sh` runs it under `valgrind --tool=callgrind`
//! once per variant and prints instructions per hit; run by hand:
//!
//! ```text
//! cargo bench -p cache-runtime --bench hit_cost --no-run
//! HIT_COST=manager valgrind --tool=callgrind --toggle-collect='*measured_hits*' \
//!     target/release/deps/hit_cost-<hash>
//! target/release/deps/hit_cost-<hash> memory
//! ```
//!
//! - `HIT_COST=<variant>`: fills one cache of 1,024 entries (`u64` keys,
//!   32-byte `Arc<str>` values), warms it, then looks up [`HITS`] keys in a
//!   random order inside `measured_hits`, the only function callgrind
//!   collects (`--toggle-collect`). The variants: `moka` (a plain
//!   `moka::sync::Cache`, `max_capacity` only), `moka_expiry` (the same
//!   with an `Expiry` that never expires anything: what moka's per-entry
//!   expiry adds), `moka_hour` (an `Expiry` giving every entry an hour: a
//!   timer per entry, as a region with a TTL has), `manager` (`RegionHandle::get_blocking`, a region
//!   without TTL or TTI), `manager_async` (`RegionHandle::get` polled once
//!   with a no-op waker), `manager_ttl` (a region with `ttl = "1h"`, which
//!   needs moka's expiry), `manager_untimed_stats` (latency sampling off:
//!   the counters alone).
//! - `memory` as the first argument: the bytes the process holds per entry
//!   (a counting allocator), for moka without expiry and with an `Expiry` of
//!   an hour, and the manager's regions without and with a TTL (`ttl =
//!   "1h"`): the average (live bytes after filling 100,000 entries, less the
//!   empty cache's or region's, over 100,000), the marginal cost of an entry
//!   (what the second 50,000 added, over 50,000). The two differ by what is
//!   allocated once: a region's moka keeps a key-lock map for the region's
//!   eviction listener, 64 segments of 1 KiB once keys have spread over
//!   them, which the average spreads over the entries (+0.66 B at 100,000).
//!
//! Without `HIT_COST` and arguments (as `cargo bench` runs it) it does both
//! once, natively, and prints the bytes per entry.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use cache_runtime::{CacheManager, RegionHandle, cache_region};
use moka::sync::Cache;

/// Keys in the instruction-count caches: they fit in the CPU caches.
const SMALL: u64 = 1024;
/// Hits counted per variant.
const HITS: usize = 100_000;
/// Entries in the memory-per-entry caches.
const MANY: u64 = 100_000;

type Value = Arc<str>;

#[cache_region(name = "hit-cost", key = u64, value = Arc<str>, max_entries = 200_000)]
struct Plain;

#[cache_region(name = "hit-cost-ttl", key = u64, value = Arc<str>, max_entries = 200_000, ttl = "1h")]
struct WithTtl;

/// The system allocator, counting the bytes it holds.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is a
// side effect. (A global allocator is the one way to count a process's
// bytes: the bench's only unsafe code.)
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An `Expiry` that keeps every entry: what moka's per-entry expiry costs
/// by itself.
struct Never;

impl<K, V> moka::Expiry<K, V> for Never {
    fn expire_after_create(&self, _: &K, _: &V, _: Instant) -> Option<Duration> {
        None
    }
}

fn value(key: u64) -> Value {
    Arc::from(format!("value-{key:026}").as_str())
}

/// `HITS` keys below `n` in a random order (xorshift64).
fn keys(n: u64) -> Vec<u64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..HITS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        })
        .collect()
}

fn manager(sample_every: u32) -> CacheManager {
    CacheManager::builder()
        .without_linked_regions()
        .background_stats(false)
        .latency_sample_every(sample_every)
        .build()
        .expect("manager")
}

/// Polls a future that is ready at once (a memory hit is).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a memory hit is ready at once"),
    }
}

/// The lookups callgrind counts: `get` once per key.
#[inline(never)]
fn measured_hits(keys: &[u64], get: &dyn Fn(u64) -> Option<Value>) -> usize {
    let mut found = 0;
    for &key in keys {
        found += usize::from(black_box(get(black_box(key))).is_some());
    }
    found
}

/// Fills, warms and counts one variant's hits.
fn run(get: &dyn Fn(u64) -> Option<Value>) {
    let keys = keys(SMALL);
    // Warm: the counted pass finds everything in the CPU caches, as the
    // timed benches do.
    assert_eq!(measured_warm(&keys, get), HITS, "every key is held");
    assert_eq!(measured_hits(&keys, get), HITS, "every key is held");
}

#[inline(never)]
fn measured_warm(keys: &[u64], get: &dyn Fn(u64) -> Option<Value>) -> usize {
    keys.iter().filter(|&&key| get(key).is_some()).count()
}

fn fill_handle(handle: &RegionHandle<u64, Value>, keys: std::ops::Range<u64>) {
    for key in keys {
        assert!(handle.insert_blocking(key, value(key)), "stored");
    }
    handle.run_pending_tasks();
}

fn fill_cache(cache: &Cache<u64, Value>, keys: std::ops::Range<u64>) {
    for key in keys {
        cache.insert(key, value(key));
    }
    cache.run_pending_tasks();
}

/// What `Expiry` a plain moka cache of the comparison gets.
#[derive(Clone, Copy)]
enum Expiring {
    /// None.
    No,
    /// [`Never`]: moka's per-entry bookkeeping, no timers.
    Never,
    /// [`Hour`]: a timer per entry.
    Hour,
}

/// A moka cache with room for 200,000 entries and `expiring`, filled with
/// keys `0..n`.
fn moka_cache(expiring: Expiring, n: u64) -> Cache<u64, Value> {
    let builder = Cache::builder().max_capacity(200_000);
    let cache = match expiring {
        Expiring::No => builder.build(),
        Expiring::Never => builder.expire_after(Never).build(),
        Expiring::Hour => builder.expire_after(Hour).build(),
    };
    fill_cache(&cache, 0..n);
    cache
}

fn hits(variant: &str) {
    match variant {
        "moka" | "moka_expiry" | "moka_hour" => {
            let expiring = match variant {
                "moka" => Expiring::No,
                "moka_expiry" => Expiring::Never,
                _ => Expiring::Hour,
            };
            let cache = moka_cache(expiring, SMALL);
            run(&|key| cache.get(&key));
        }
        "manager" | "manager_async" | "manager_ttl" | "manager_untimed_stats" => {
            let manager = manager(if variant == "manager_untimed_stats" {
                0
            } else {
                16
            });
            let handle = if variant == "manager_ttl" {
                manager.region::<WithTtl>()
            } else {
                manager.region::<Plain>()
            }
            .expect("region");
            fill_handle(&handle, 0..SMALL);
            if variant == "manager_async" {
                run(&|key| ready(handle.get(&key)));
            } else {
                run(&|key| handle.get_blocking(&key));
            }
            let _ = manager.shutdown();
        }
        other => panic!(
            "unknown HIT_COST variant `{other}`: moka, moka_expiry, moka_hour, manager, manager_async, manager_ttl, manager_untimed_stats"
        ),
    }
}

/// What a cache's entries hold, from a counting allocator.
struct Held {
    /// Live bytes filling [`MANY`] entries added, over [`MANY`].
    average: f64,
    /// What each entry added between [`MANY`]` / 2` and [`MANY`] entries,
    /// leaving out what a cache allocates once near its start (a region's
    /// key-lock map), which the average spreads over the entries. Both
    /// include moka's table growth and frequency sketch, allocated in that
    /// second half, the same in every variant.
    marginal: f64,
}

/// Live bytes per entry: what filling keys `0..MANY / 2`, then the rest,
/// adds to what `make` built (the empty cache or region).
fn held<T: 'static>(make: impl FnOnce() -> T, fill: impl Fn(&T, std::ops::Range<u64>)) -> Held {
    let held = make();
    let empty = LIVE.load(Ordering::Relaxed);
    fill(&held, 0..MANY / 2);
    let half = LIVE.load(Ordering::Relaxed);
    fill(&held, MANY / 2..MANY);
    let full = LIVE.load(Ordering::Relaxed);
    drop(held);
    // The values' own bytes are the same in every variant; they stay in.
    Held {
        average: (full - empty) as f64 / MANY as f64,
        marginal: (full - half) as f64 / (MANY - MANY / 2) as f64,
    }
}

/// An `Expiry` giving every entry an hour: moka keeps a timer per entry.
struct Hour;

impl<K, V> moka::Expiry<K, V> for Hour {
    fn expire_after_create(&self, _: &K, _: &V, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(3600))
    }
}

fn memory() {
    let moka = |expiring| held(|| moka_cache(expiring, 0), fill_cache);
    let plain = moka(Expiring::No);
    let hour = moka(Expiring::Hour);
    let region = |ttl: bool| {
        held(
            || {
                let manager = manager(16);
                let handle = if ttl {
                    manager.region::<WithTtl>()
                } else {
                    manager.region::<Plain>()
                }
                .expect("region");
                (manager, handle)
            },
            |(_, handle), keys| fill_handle(handle, keys),
        )
    };
    let untimed = region(false);
    let timed = region(true);
    println!(
        "bytes per entry (u64 key, 32-byte Arc<str> value): the average over {MANY} entries, \
         and the marginal cost of an entry between {} and {MANY}:",
        MANY / 2
    );
    println!("                             average  marginal");
    let row = |label: &str, held: &Held, against: Option<(&Held, &str)>| {
        let over = against.map_or_else(String::new, |(base, name)| {
            format!(
                "  ({:+.1} average, {:+.1} marginal over {name})",
                held.average - base.average,
                held.marginal - base.marginal
            )
        });
        println!(
            "  {label:<26} {:7.1}   {:7.1}{over}",
            held.average, held.marginal
        );
    };
    row("moka, no expiry", &plain, None);
    row("moka, Expiry of 1h", &hour, None);
    row(
        "manager, no TTL",
        &untimed,
        Some((&plain, "moka, no expiry")),
    );
    row(
        "manager, ttl = \"1h\"",
        &timed,
        Some((&hour, "moka, Expiry of 1h")),
    );
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("memory") {
        memory();
        return;
    }
    match std::env::var("HIT_COST") {
        Ok(variant) => hits(&variant),
        Err(_) => {
            for variant in [
                "moka",
                "moka_expiry",
                "moka_hour",
                "manager",
                "manager_async",
                "manager_ttl",
                "manager_untimed_stats",
            ] {
                hits(variant);
            }
            memory();
        }
    }
}
