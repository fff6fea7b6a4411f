//! The cost of dynamic configuration: `CacheManager::configure` on a running
//! memory region (`u64` keys and values, registered by hand), through the
//! public API only.
//!
//! `cargo bench -p cache-runtime --bench config`; `scripts/bench-config.sh`
//! runs it and prints per-operation times, per-entry costs and the hit
//! ratio after / before a rebuild.
//!
//! - `fixed`: a configure whose region holds nothing, the fixed cost (the
//!   whole-change validation, the state file's atomic write: read, encode,
//!   temp file, fsync, rename, folder fsync; the event):
//!   - `ttl_empty`: `ttl` 1h -> 30m (a re-time sweep over no entries), on a
//!     manager of its own per sample (a fresh state file: its first
//!     commit), as the `retime` benches;
//!   - `max_entries_empty`: `max_entries` 10,000 -> 5,000 (a rebuild of an
//!     empty moka cache), a manager of its own per sample, as the `rebuild`
//!     benches: their baseline;
//!   - `ttl_history_1000`: `ttl` toggled 1h <-> 30m on one manager whose
//!     state file already keeps the default 1,000 audit records (filled by
//!     1,000 changes before the bench): what a change costs once the
//!     history is full (the file is read twice, re-encoded and rewritten
//!     whole on every change).
//! - `rebuild`: a region of `max_entries` N holding N entries (filled key
//!   by key, then N reads skewed toward the small keys so that the hotness
//!   sketch has something to rank; the timed gets, about 1,000 a second by
//!   default, are counted there),
//!   reconfigured to `max_entries` N/2 (`shrink`: the hottest N/2 move, the
//!   rest are dropped as size evictions) and 2N (`grow`: all N move).
//!   N = 10,000 and 100,000.
//! - `retime`: a region of `max_entries` 2N holding N entries, `ttl` 1h ->
//!   30m: a sweep of N reads (coldest first) re-timing every entry in place.
//! - `hit_1k`: a get of a present key (1,024 entries, random keys,
//!   statistics on) on a region never reconfigured (`before_rebuild`: it
//!   reads the moka cache it opened with directly) and on one rebuilt once
//!   (`after_rebuild`, declared with `max_entries` 4,096 and changed to
//!   2,048, every entry kept: the same moka shape as `before_rebuild`'s, but
//!   every read loads the published cache through its `ArcSwap`). After
//!   divan's table, the same two in interleaved rounds
//!   (`common/interleave.rs`, paired ratios).
//!
//! Every `rebuild`, `retime` and empty-region `fixed` sample gets a manager
//! of its own (`with_inputs`: its building and filling, and its drop, are
//! outside the timed part), with its state file in a folder of its own
//! under the system temp folder (`TMPDIR`; on a tmpfs the fsyncs cost
//! nothing), removed with it. The timed part is one `configure_blocking`
//! call, the change built in it. A quick check before divan (N = 1,000)
//! asserts that each change did what it says (entries kept, settings in
//! force), so a bench never times a refused change.
//!
//! Per-entry cost: (time with N entries - the matching empty-region time) /
//! N, computed by the script.
//!
//! Recorded on the reference machine (2 cores, shared, load average 1.1-4.7;
//! `scripts/bench-config.sh` twice, each 3 runs, state files in /tmp on
//! ext4; divan medians, median over the runs):
//!
//! ```text
//! fixed, empty region, fresh state file  ttl 553-624 µs, max_entries 580-649 µs
//!                                        (on tmpfs: 67 µs, 85-86 µs)
//! fixed, 1,000 audit records kept        ttl 6.3-6.4 ms (on tmpfs: 5.4 ms)
//! shrink N -> N/2  N = 10,000: 21.7-22.6 ms, 2.1-2.2 µs per entry
//!                  N = 100,000: 430-538 ms, 4.3-5.4 µs per entry
//! grow N -> 2N     N = 10,000: 29.6-35.4 ms, 2.9-3.5 µs per entry
//!                  N = 100,000: 553-618 ms, 5.5-6.2 µs per entry
//! ttl sweep        N = 10,000: 6.7-6.8 ms, 0.60-0.61 µs per entry
//!                  N = 100,000: 121-141 ms, 1.2-1.4 µs per entry
//! hit, 1,024 entries  before 230 ns, after one rebuild 239-242 ns:
//!                     x1.037-1.045 (interleaved, paired: x1.034-1.046)
//! ```
//!
//! The fixed cost is the state file's: its fsyncs on disk (~0.5 ms here;
//! ~8 ms in an earlier run while other builds loaded the disk) and, once
//! the history is full, reading it twice and rewriting it whole (~5.4 ms of
//! CPU for 1,000 records). Per entry, a rebuild costs several moka
//! operations (rank, read, insert, invalidate, each under a key lock) and
//! grows with N (likely memory stalls: two caches of 100,000 entries do
//! not fit in the CPU caches); a sweep is one read per entry, with
//! maintenance every 256.

#[path = "common/interleave.rs"]
mod interleave;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cache_runtime::{
    CacheManager, RegionDescriptor, RegionHandle,
    config::{AuditRecord, ConfigChange},
};
use divan::{Bencher, black_box};
use interleave::{Block, timed};

fn main() {
    let started = Instant::now();
    check();
    LazyLock::force(&KEYS);
    LazyLock::force(&HIT);
    eprintln!("set-up: {:.1?}", started.elapsed());
    divan::main();
    interleaved();
    let _ = HIT.manager.shutdown();
    let _ = std::fs::remove_dir_all(scratch(""));
}

// ---------------------------------------------------------------------------
// Regions and set-up
// ---------------------------------------------------------------------------

/// The region of the per-sample managers.
const REGION: &str = "bench-config";
/// The hit regions: never reconfigured, and rebuilt once.
const HIT_BEFORE: &str = "bench-config-hit-before";
const HIT_AFTER: &str = "bench-config-hit-after";

/// Entries of the rebuild and re-time benches.
const SIZES: [u64; 2] = [10_000, 100_000];
/// Entries of the hit regions (they fit in the CPU caches).
const SMALL: u64 = 1024;
/// The declared TTL (the re-time benches change it to 30m).
const HOUR: Duration = Duration::from_secs(3600);

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("cache-runtime-bench-config-{}", std::process::id()))
        .join(name)
}

/// Numbers the per-sample managers' folders.
static NEXT_FOLDER: AtomicU64 = AtomicU64::new(0);

/// A memory region of `max_entries`, TTL 1h, `u64` keys and values.
fn descriptor(name: &'static str, max_entries: u64) -> RegionDescriptor {
    RegionDescriptor::builder(name)
        .key::<u64>()
        .value::<u64>()
        .ttl(HOUR)
        .max_entries(max_entries)
        .build()
        .expect("descriptor")
}

/// A manager of the regions `descriptors` only, its state file (and disk
/// root) in `folder`, no environment layer.
fn manager(folder: &Path, descriptors: Vec<RegionDescriptor>, background: bool) -> CacheManager {
    let mut builder = CacheManager::builder()
        .without_linked_regions()
        .without_config_env()
        .disk_root(folder.join("disk"))
        .config_state_file(folder.join("config-state.json"))
        .background_stats(background);
    for descriptor in descriptors {
        builder = builder.region(descriptor);
    }
    builder.build().expect("manager")
}

/// xorshift64.
fn next_random(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Stores keys `0..entries` in every region, key by key in turn (so their
/// entries are laid out alike), then reads `entries` keys skewed toward the
/// small ones (the square of a uniform draw): the timed gets among them (1
/// in 16) feed the hotness sketch a rebuild ranks by. Pending maintenance
/// is applied, so none of it is left for a timed part.
fn fill(handles: &[&RegionHandle<u64, u64>], entries: u64) {
    for key in 0..entries {
        for handle in handles {
            assert!(handle.insert_blocking(key, key), "stored");
        }
    }
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..entries {
        let draw = next_random(&mut x) % entries;
        let key = draw * draw / entries;
        for handle in handles {
            black_box(handle.get_blocking(&key));
        }
    }
    for handle in handles {
        handle.run_pending_tasks();
        assert_eq!(handle.len(), Some(entries), "every entry is held");
    }
}

/// One sample's manager and its region, opened and filled; its folder is
/// removed when dropped (outside the timed part).
struct Filled {
    manager: CacheManager,
    handle: RegionHandle<u64, u64>,
    folder: PathBuf,
}

impl Drop for Filled {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A manager of its own (no statistics thread) with region [`REGION`] of
/// `max_entries`, opened, holding `entries` entries.
fn filled(max_entries: u64, entries: u64) -> Filled {
    let folder = scratch(&format!(
        "sample-{}",
        NEXT_FOLDER.fetch_add(1, Ordering::Relaxed)
    ));
    let manager = manager(&folder, vec![descriptor(REGION, max_entries)], false);
    let handle = manager.region_named::<u64, u64>(REGION).expect("region");
    fill(&[&handle], entries);
    Filled {
        manager,
        handle,
        folder,
    }
}

/// Sets `field` of `region` to `value`: the timed call.
fn configure(
    manager: &CacheManager,
    region: &str,
    field: &str,
    value: impl ToString,
) -> AuditRecord {
    manager
        .configure_blocking(ConfigChange::new("bench", "bench-config").set(region, field, value))
        .expect("change applied")
}

/// Each change the benches time, once over 1,000 entries: it applies and
/// does what it says (a bench must not time a refused change).
fn check() {
    const N: u64 = 1_000;
    let shrink = filled(N, N);
    let record = configure(&shrink.manager, REGION, "max_entries", N / 2);
    assert_eq!(record.changes.len(), 1, "one field changed");
    shrink.handle.run_pending_tasks();
    assert_eq!(shrink.handle.len(), Some(N / 2), "the hottest half kept");
    let settings = shrink.manager.settings(REGION).expect("settings");
    assert_eq!(settings.max_entries, Some(N / 2));

    let grow = filled(N, N);
    configure(&grow.manager, REGION, "max_entries", 2 * N);
    grow.handle.run_pending_tasks();
    assert_eq!(grow.handle.len(), Some(N), "every entry kept");
    assert!((0..N).all(|key| grow.handle.get_blocking(&key) == Some(key)));

    let retime = filled(2 * N, N);
    configure(&retime.manager, REGION, "ttl", "30m");
    retime.handle.run_pending_tasks();
    assert_eq!(retime.handle.len(), Some(N), "every entry kept");
    assert!((0..N).all(|key| retime.handle.get_blocking(&key) == Some(key)));
    let settings = retime.manager.settings(REGION).expect("settings");
    assert_eq!(settings.ttl, Some(Duration::from_secs(1800)));
}

// ---------------------------------------------------------------------------
// 1. The fixed cost
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 40, sample_size = 1)]
mod fixed {
    use super::*;

    /// `ttl` 1h -> 30m on an empty region: validation, the state file's
    /// first commit, an empty sweep, the event.
    #[divan::bench]
    fn ttl_empty(bencher: Bencher) {
        bencher
            .with_inputs(|| filled(10_000, 0))
            .bench_local_refs(|region| configure(&region.manager, REGION, "ttl", "30m"));
    }

    /// `max_entries` 10,000 -> 5,000 on an empty region: the same, with a
    /// rebuild of an empty moka cache (the rebuild benches' baseline).
    #[divan::bench]
    fn max_entries_empty(bencher: Bencher) {
        bencher
            .with_inputs(|| filled(10_000, 0))
            .bench_local_refs(|region| configure(&region.manager, REGION, "max_entries", 5_000));
    }

    /// `ttl` toggled 1h <-> 30m on an empty region whose state file keeps
    /// the default 1,000 audit records already.
    #[divan::bench(sample_count = 60)]
    fn ttl_history_1000(bencher: Bencher) {
        let region = filled(10_000, 0);
        let turn = Cell::new(false);
        let toggle = || {
            turn.set(!turn.get());
            configure(
                &region.manager,
                REGION,
                "ttl",
                if turn.get() { "30m" } else { "1h" },
            )
        };
        for _ in 0..1_000 {
            toggle();
        }
        let history = region.manager.history_blocking().expect("history");
        assert_eq!(history.len(), 1_000, "the history is full");
        bencher.bench_local(toggle);
    }
}

// ---------------------------------------------------------------------------
// 2. Rebuilds (max_entries)
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod rebuild {
    use super::*;

    /// `max_entries` N -> N/2 with N entries held: the hottest N/2 move to
    /// the new cache, the others are dropped.
    #[divan::bench(args = SIZES)]
    fn shrink(bencher: Bencher, entries: u64) {
        bencher
            .with_inputs(|| filled(entries, entries))
            .bench_local_refs(|region| {
                configure(&region.manager, REGION, "max_entries", entries / 2)
            });
    }

    /// `max_entries` N -> 2N with N entries held: all of them move.
    #[divan::bench(args = SIZES)]
    fn grow(bencher: Bencher, entries: u64) {
        bencher
            .with_inputs(|| filled(entries, entries))
            .bench_local_refs(|region| {
                configure(&region.manager, REGION, "max_entries", 2 * entries)
            });
    }
}

// ---------------------------------------------------------------------------
// 3. Re-time sweeps (ttl)
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod retime {
    use super::*;

    /// `ttl` 1h -> 30m with N entries held (room for 2N): every entry is
    /// read once to take its new deadline.
    #[divan::bench(args = SIZES)]
    fn ttl(bencher: Bencher, entries: u64) {
        bencher
            .with_inputs(|| filled(2 * entries, entries))
            .bench_local_refs(|region| configure(&region.manager, REGION, "ttl", "30m"));
    }
}

// ---------------------------------------------------------------------------
// 4. The hit path before and after a rebuild
// ---------------------------------------------------------------------------

/// Keys of `0..SMALL` in a random order (xorshift64), looked up in turn.
static KEYS: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..1 << 16).map(|_| next_random(&mut x) % SMALL).collect()
});

/// The next key of `KEYS` after `at`.
#[inline]
fn next_key(at: &Cell<usize>) -> u64 {
    let i = at.get();
    at.set((i + 1) & (KEYS.len() - 1));
    KEYS[i]
}

/// One manager (defaults: statistics on, about 1,000 gets a second timed,
/// statistics thread) with two regions of 1,024 entries, filled key by key in turn;
/// `after` rebuilt once (`max_entries` 4,096 -> 2,048, every entry kept),
/// so both end with moka caches of the same shape.
struct HitRegions {
    manager: CacheManager,
    before: RegionHandle<u64, u64>,
    after: RegionHandle<u64, u64>,
}

static HIT: LazyLock<HitRegions> = LazyLock::new(|| {
    let manager = manager(
        &scratch("hit"),
        vec![
            descriptor(HIT_BEFORE, 2 * SMALL),
            descriptor(HIT_AFTER, 4 * SMALL),
        ],
        true,
    );
    let before = manager
        .region_named::<u64, u64>(HIT_BEFORE)
        .expect("region");
    let after = manager.region_named::<u64, u64>(HIT_AFTER).expect("region");
    fill(&[&before, &after], SMALL);
    configure(&manager, HIT_AFTER, "max_entries", 2 * SMALL);
    after.run_pending_tasks();
    assert_eq!(after.len(), Some(SMALL), "every entry kept");
    for key in 0..SMALL {
        assert_eq!(before.get_blocking(&key), Some(key), "hit");
        assert_eq!(after.get_blocking(&key), Some(key), "hit");
    }
    HitRegions {
        manager,
        before,
        after,
    }
});

/// Benches `op` over the keys of `KEYS` in order, after running it once
/// per key (each bench starts from its own cache warm).
fn warm_and_bench<O>(bencher: Bencher, op: impl Fn(u64) -> O) {
    let at = Cell::new(0);
    let op = || op(next_key(&at));
    for _ in 0..KEYS.len() {
        black_box(op());
    }
    bencher.bench_local(op);
}

#[divan::bench_group(sample_count = 1000, sample_size = 200)]
mod hit_1k {
    use super::*;

    #[divan::bench]
    fn before_rebuild(bencher: Bencher) {
        let handle = &HIT.before;
        warm_and_bench(bencher, |key| {
            handle.get_blocking(&black_box(key)).expect("hit")
        });
    }

    #[divan::bench]
    fn after_rebuild(bencher: Bencher) {
        let handle = &HIT.after;
        warm_and_bench(bencher, |key| {
            handle.get_blocking(&black_box(key)).expect("hit")
        });
    }
}

/// The two hit variants again, in interleaved rounds of ~20 ms blocks
/// (100,000 gets each).
fn interleaved() {
    let rounds = interleave::rounds();
    if rounds == 0 {
        return;
    }
    let hit = &*HIT;
    let mut variants: Vec<(&str, Block)> = vec![
        (
            "before_rebuild",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.before.get_blocking(&next_key(at))
                })
            }),
        ),
        (
            "after_rebuild",
            Box::new(|n, start| {
                timed(n, start, KEYS.len(), |at| {
                    hit.after.get_blocking(&next_key(at))
                })
            }),
        ),
    ];
    for (_, block) in &mut variants {
        block(KEYS.len(), 0); // warm, as the divan benches do
    }
    interleave::run("hit_1k", &mut variants, 100_000, rounds, KEYS.len());
}
