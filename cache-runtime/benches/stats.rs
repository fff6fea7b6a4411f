//! The cost of recording statistics, next to the floor (one relaxed atomic
//! add) and the budget (a moka sync hit, ~300 ns on the reference machine).
//!
//! `cargo bench -p cache-runtime --bench stats`. `t=2` runs the body on two
//! threads at once; the `contended_*_2x2m` batches start two threads that
//! each do 2,000,000 operations (compare with `serial_*_4m`, the same work
//! on one thread). Counters are striped, so two threads counting hits use
//! two shards; latency recording shares the region's histogram.
//!
//! Recorded on the reference machine (2 cores, shared; load average 5-7
//! from other builds during the runs, so two threads rarely had both cores;
//! ns per call, median of 100 samples):
//!
//! ```text
//! floor_atomic_add   t=1 2.1-2.3   t=2 2.1-2.3
//! hit                t=1 2.0-2.2   t=2 2.1-2.2
//! hit_with_latency   t=1 8.4-8.5   t=2 8.5-8.7
//! timed_get_1_in_16  t=1 8.4       t=2 8.4-10.9
//! timed_get_every    t=1 74        t=2 74-76
//! instant_now        30
//! insert 2.1, evict 2.0, load_ok 8.4
//! snapshot 530, prometheus_100_regions 540,000
//!
//! batches, fastest of 20, ms:  two threads   one thread (serial_*_4m)
//! floor (one shared atomic)    10.6-13.8     10.5
//! hit (striped)                 9.1-13.2      9.2
//! hit_latency (one histogram)  53.8-66.0     36.1
//! timed_get 1 in 16            32.9-51.7      -
//! ```
//!
//! Against a ~300 ns moka hit: a counted hit is 0.7 %, the default timed get
//! 2.8 %, timing every get 25 % (two `Instant::now` at 30 ns each), hence
//! the sampling.

use std::hint::black_box;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cache_runtime::stats::{EvictionCause, RegionStats, StatsRegistry};

fn main() {
    // Build the regions first: divan sizes its samples from the first calls,
    // which would otherwise include the lazy initialisation.
    sampled().hit();
    every().hit();
    divan::main();
}

/// Regions timing 1 get in 16 (the default's share before a region's first
/// tick, fixed here: without ticks the default would stop timing once its
/// budget is spent) and every get.
static SAMPLED: LazyLock<StatsRegistry> = LazyLock::new(|| {
    StatsRegistry::builder()
        .latency_sample_every(16)
        .build(["users"])
});
static EVERY: LazyLock<StatsRegistry> = LazyLock::new(|| {
    StatsRegistry::builder()
        .latency_sample_every(1)
        .build(["users"])
});

fn sampled() -> &'static RegionStats {
    SAMPLED.get(0).expect("one region")
}

fn every() -> &'static RegionStats {
    EVERY.get(0).expect("one region")
}

static FLOOR: AtomicU64 = AtomicU64::new(0);

/// The floor: one relaxed add to one shared atomic.
#[divan::bench(threads = [1, 2])]
fn floor_atomic_add() {
    FLOOR.fetch_add(1, Ordering::Relaxed);
}

/// A hit counted, latency not recorded.
#[divan::bench(threads = [1, 2])]
fn hit() {
    sampled().hit();
}

/// A hit counted with a latency the caller measured.
#[divan::bench(threads = [1, 2])]
fn hit_with_latency() {
    sampled().hit_latency(black_box(300));
}

/// What the manager does per get before a region's first tick: a timer that
/// reads the clock for 1 get in 16, then the hit.
#[divan::bench(threads = [1, 2])]
fn timed_get_1_in_16() {
    sampled().time_get().hit();
}

/// Timing every get: two clock reads plus the recording.
#[divan::bench(threads = [1, 2])]
fn timed_get_every() {
    every().time_get().hit();
}

/// One clock read, for scale.
#[divan::bench]
fn instant_now() -> Instant {
    Instant::now()
}

/// Other record paths.
#[divan::bench]
fn insert() {
    sampled().insert();
}

#[divan::bench]
fn evict() {
    sampled().evict(black_box(EvictionCause::Size));
}

#[divan::bench]
fn load_ok() {
    sampled().load_ok(black_box(2_000_000));
}

/// The rare paths: a snapshot (tick and all windows) of an active region,
/// and the Prometheus text of 100 regions.
#[divan::bench]
fn snapshot(bencher: divan::Bencher) {
    let region = RegionStats::new("users");
    bencher.bench_local(|| {
        region.hit_latency(300);
        region.snapshot()
    });
}

#[divan::bench]
fn prometheus_100_regions(bencher: divan::Bencher) {
    let stats = StatsRegistry::new((0..100).map(|i| format!("region-{i}")));
    for region in stats.iter() {
        region.hit_latency(300);
        region.load_ok(2_000_000);
    }
    bencher.bench_local(|| stats.prometheus());
}

/// Operations per thread in the two-thread batches below.
const BATCH: u64 = 2_000_000;

/// Runs `op` `BATCH` times on each of two threads started together; the
/// batch time over `2 * BATCH` is the cost per operation under contention
/// (thread start-up, ~50 µs, is amortized over the batch; on a loaded machine
/// look at the fastest sample: a busy scheduler delays one thread by ticks).
fn two_threads(op: impl Fn() + Sync) {
    let op = &op;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(move || {
                for _ in 0..BATCH {
                    op();
                }
            });
        }
    });
}

/// Contended floor: two threads adding to one atomic.
#[divan::bench(sample_count = 20, counters = [divan::counter::ItemsCount::new(2 * BATCH)])]
fn contended_floor_2x2m() {
    two_threads(|| {
        FLOOR.fetch_add(1, Ordering::Relaxed);
    });
}

/// Two threads counting hits on one region (separate shards).
#[divan::bench(sample_count = 20, counters = [divan::counter::ItemsCount::new(2 * BATCH)])]
fn contended_hit_2x2m() {
    two_threads(|| sampled().hit());
}

/// Two threads recording hits with latency on one region (one histogram).
#[divan::bench(sample_count = 20, counters = [divan::counter::ItemsCount::new(2 * BATCH)])]
fn contended_hit_latency_2x2m() {
    two_threads(|| sampled().hit_latency(black_box(300)));
}

/// Two threads timing gets the default way (1 in 16).
#[divan::bench(sample_count = 20, counters = [divan::counter::ItemsCount::new(2 * BATCH)])]
fn contended_timed_get_2x2m() {
    two_threads(|| sampled().time_get().hit());
}

/// The same work as the two-thread batches on one thread: the baseline
/// they compare with.
#[divan::bench(sample_count = 20)]
fn serial_hit_4m() {
    for _ in 0..2 * BATCH {
        sampled().hit();
    }
}

#[divan::bench(sample_count = 20)]
fn serial_floor_4m() {
    for _ in 0..2 * BATCH {
        FLOOR.fetch_add(1, Ordering::Relaxed);
    }
}

#[divan::bench(sample_count = 20)]
fn serial_hit_latency_4m() {
    for _ in 0..2 * BATCH {
        sampled().hit_latency(black_box(300));
    }
}
