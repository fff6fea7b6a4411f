//! The Redis tier against raw `redis` and raw moka (issue 5), over an
//! ephemeral `redis-server` on a free loopback port that the bench starts
//! and kills (persistence off).
//!
//! `cargo bench -p cache-runtime --features redis --bench redis`;
//! `scripts/bench-redis.sh` runs it and prints the ratios (target: a
//! manager Redis get within 5 % of a raw `redis` get of the same bytes).
//!
//! - `get`: 1,024 keys of a `tier = "redis"` region (`String` keys,
//!   32-byte `Vec<u8>` values, serde_json, envelopes), looked up in a
//!   precomputed random order. Every async variant is driven by one
//!   current-thread tokio runtime (all drivers enabled), `block_on` once
//!   per get:
//!   - `raw_get`: `GET {prefix}:{region}:{key}` of the manager's own key
//!     (the same envelope bytes) on a multiplexed connection opened on
//!     that runtime (so its driver task runs there too);
//!   - `manager_get`: `RegionHandle::get`;
//!   - `manager_get_blocking`: `RegionHandle::get_blocking` on the plain
//!     bench thread (no runtime entered);
//!   - `raw_get_io_thread`: the raw `GET` on a connection whose driver runs
//!     on a current-thread runtime of its own thread, polled inside that
//!     runtime's context: the manager's architecture (see
//!     `cache-runtime/src/redis_tier/io.rs`) without its layers, to tell
//!     the cost of the layers from the cost of the second thread;
//!   - `raw_sync_get`: `redis`' synchronous connection, for scale next to
//!     `get_blocking`.
//! - `get_100b` / `get_4k` (interleaved rounds only): `raw_get` and
//!   `manager_get` again over the same 1,024 keys in regions whose values
//!   are 100 bytes and 4 KiB long.
//! - `batch`: 1,000 keys of a Redis region: `get_many` against 1,000
//!   sequential `get`s, `insert_many` against 1,000 sequential `insert`s
//!   (one `block_on` per 1,000; a Redis-only region publishes nothing on
//!   the backplane: no instance holds a copy to invalidate); and one raw
//!   `MGET` and one raw pipeline of 1,000 `GET`s of the same keys.
//! - `l1_1k` / `l1_100k`: a `tier = "hybrid"` region of a manager with
//!   Redis (memory over Redis, values decoded in memory), 1,024 and 100,000
//!   entries under random 16-character keys: `get_blocking` on an L1 hit
//!   against `moka::sync::Cache::get` on a plain cache (`max_capacity`
//!   only) of the same keys and values, filled alike in chunks of 1,000.
//! - after divan's table, the `get`, `l1_1k`, `l1_100k` and `batch` (get_many
//!   against raw MGET and pipeline) variants again in
//!   interleaved rounds (every variant in every round, in a rotating order,
//!   paired ratios): on a shared machine, the steadier comparison. One line
//!   per variant:
//!   `interleaved <group>/<variant> median_ns <m> min_ns <f> paired_<base> <r>`,
//!   `r` the median over rounds of the variant's time over the group's
//!   first variant's in the same round. `CACHE_BENCH_ROUNDS` rounds
//!   (default 40, 0 to skip).
//!
//! With `CACHE_BENCH_CALLGRIND=<raw_get|manager_get>:<32|100|4096>` the
//! binary runs that many-byte variant's gets only, for callgrind to count
//! (see [`callgrind`]).
//!
//! With `CACHE_BENCH_CLEAR_STALL=1` the binary skips all of that and
//! measures instead what clearing a big region costs other clients (see
//! [`clear_stall`]): `CACHE_BENCH_CLEAR_KEYS` keys (default 1,000,000) are
//! written with raw pipelined `SET`s under the region's prefix, a client on
//! its own connection sends `PING`s in a tight loop (plain `TcpStream`,
//! RESP by hand) first alone (the baseline, `CACHE_BENCH_BASELINE_SECS`,
//! default 3) and then while `RegionHandle::clear` runs (`SCAN MATCH` +
//! `UNLINK`); `CACHE_BENCH_STALL_REPEATS` times (default 2). Lines start
//! with `stall`; the server's own view comes with them: its command
//! statistics (`SCAN` and `UNLINK` calls, time per call) and the slowest
//! of each in its slow log (threshold 100 µs), i.e. the longest the clear
//! held Redis' event loop in one command.
//!
//! The figures recorded on the reference machine, and the command that
//! reproduces them, are in the README's table of measured figures; the
//! targets (get within x1.05 of a raw GET, get_many within x1.3 of a raw
//! MGET) are printed next to each ratio by `scripts/bench-redis.sh`.

#[path = "common/interleave.rs"]
mod interleave;

use std::cell::Cell;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use cache_runtime::{
    CacheManager, RegionDescriptor, RegionHandle, config::Tier, manager::RegionCodecs,
    redis::RedisConfig,
};
use divan::{Bencher, black_box};
use interleave::Block;
use redis::aio::MultiplexedConnection;
use tokio::runtime::{Builder, Handle, Runtime};

#[path = "../src/test_support/redis.rs"]
#[allow(dead_code)] // pause, resume, restart: not needed here
mod redis_server;
#[path = "../src/test_support/server.rs"]
mod server;

use redis_server::RedisServer;

/// The key prefix of both managers (`{prefix}:{region}:{key}`).
const PREFIX: &str = "bench";
const GET_REGION: &str = "bench-redis-get";
const BATCH_REGION: &str = "bench-redis-batch";
const L1_1K_REGION: &str = "bench-redis-l1-1k";
const L1_100K_REGION: &str = "bench-redis-l1-100k";
const CLEAR_REGION: &str = "bench-redis-clear";
/// The regions of the `get_100b` and `get_4k` groups, with their value
/// lengths.
const SIZED_REGIONS: [(&str, usize); 2] =
    [("bench-redis-get-100b", 100), ("bench-redis-get-4k", 4096)];

/// Keys of the `get` group.
const GET_KEYS: usize = 1024;
/// Keys per batch.
const BATCH: usize = 1000;
/// Entries of the small and big L1 caches.
const SMALL: usize = 1024;
const BIG: usize = 100_000;
/// Length of `ORDER`, a power of two.
const ORDER_LEN: usize = 1 << 18;

/// The servers this process started: killed at the end of `main`, also
/// after a panic (statics are never dropped).
static SERVERS: Mutex<Vec<RedisServer>> = Mutex::new(Vec::new());

fn main() {
    let outcome = std::panic::catch_unwind(|| {
        if std::env::var_os("CACHE_BENCH_CLEAR_STALL").is_some_and(|on| on != "0") {
            clear_stall();
        } else if let Ok(which) = std::env::var(CALLGRIND) {
            callgrind(&which);
        } else if std::env::args().any(|arg| arg == "--list") {
            divan::main();
        } else {
            let started = Instant::now();
            LazyLock::force(&ORDER);
            LazyLock::force(&BENCH);
            eprintln!("set-up: {:.1?}", started.elapsed());
            divan::main();
            // Only when measuring (`cargo bench` passes `--bench`), not
            // when `cargo test --benches` runs each bench once.
            if std::env::args().any(|arg| arg == "--bench") {
                interleaved();
            }
            let _ = BENCH.manager.shutdown();
        }
    });
    SERVERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Starts a server, kept in [`SERVERS`]; its URL and port.
fn start_server() -> (String, u16) {
    let server = RedisServer::start();
    let found = (server.url(), server.port());
    SERVERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(server);
    found
}

// ---------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------

type Region = RegionHandle<String, Vec<u8>>;

/// A 32-byte value, distinct per index.
fn value(i: usize) -> Vec<u8> {
    format!("value-{i:026}").into_bytes()
}

/// A value of `len` bytes, distinct per index.
fn sized_value(i: usize, len: usize) -> Vec<u8> {
    let mut value = format!("value-{i:06}-").into_bytes();
    value.resize(len, b'v');
    value
}

/// Indices in a random order (xorshift64), taken modulo a key count.
static ORDER: LazyLock<Vec<usize>> = LazyLock::new(|| {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..ORDER_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x >> 32).expect("32 bits fit")
        })
        .collect()
});

/// The `i`-th index of [`ORDER`] below `len`.
#[inline]
fn order(i: usize, len: usize) -> usize {
    ORDER[i & (ORDER_LEN - 1)] % len
}

/// The next index of [`ORDER`] below `len` after `at`.
#[inline]
fn next(at: &Cell<usize>, len: usize) -> usize {
    let i = at.get();
    at.set(i.wrapping_add(1));
    order(i, len)
}

/// Random 16-character keys (hex of a second xorshift stream), distinct.
fn random_keys(count: usize, seed: u64) -> Vec<String> {
    let mut x = seed;
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut keys = Vec::with_capacity(count);
    while keys.len() < count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if seen.insert(x) {
            keys.push(format!("{x:016x}"));
        }
    }
    keys
}

fn descriptor(name: &'static str, tier: Tier) -> RegionDescriptor {
    let builder = RegionDescriptor::builder(name)
        .key::<String>()
        .value::<Vec<u8>>()
        .tier(tier);
    // Only a memory level takes a limit (a Redis region has none).
    let builder = if tier.has_memory_level() {
        builder.max_entries(200_000)
    } else {
        builder
    };
    builder.build().expect("region descriptor")
}

fn new_manager(url: &str) -> CacheManager {
    manager_with(RedisConfig::new(url).prefix(PREFIX))
}

fn manager_with(config: RedisConfig) -> CacheManager {
    let codecs = RegionCodecs::<String, Vec<u8>>::serde;
    CacheManager::builder()
        .without_linked_regions()
        .background_stats(false)
        .redis(config)
        .region_with(descriptor(GET_REGION, Tier::Redis), codecs())
        .region_with(descriptor(BATCH_REGION, Tier::Redis), codecs())
        .region_with(descriptor(L1_1K_REGION, Tier::Hybrid), codecs())
        .region_with(descriptor(L1_100K_REGION, Tier::Hybrid), codecs())
        .region_with(descriptor(CLEAR_REGION, Tier::Redis), codecs())
        .region_with(descriptor(SIZED_REGIONS[0].0, Tier::Redis), codecs())
        .region_with(descriptor(SIZED_REGIONS[1].0, Tier::Redis), codecs())
        .build()
        .expect("manager")
}

/// `{prefix}:{region}:{key}`, as the manager lays out a string key.
fn redis_key(region: &str, key: &str) -> String {
    format!("{PREFIX}:{region}:{key}")
}

/// A current-thread runtime on a thread of its own that only drives its
/// connections and timers (the shape of the Redis tier's I/O thread). It
/// runs until the process exits.
fn io_thread() -> Handle {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let handle = runtime.handle().clone();
    thread::Builder::new()
        .name("bench-raw-io".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .expect("I/O thread");
    handle
}

/// `future` polled with `handle`'s runtime context entered, boxed: what
/// the Redis tier does around each operation (its `InIo`).
struct Entered<F> {
    handle: Handle,
    future: Pin<Box<F>>,
}

fn entered<F: Future>(handle: &Handle, future: F) -> Entered<F> {
    Entered {
        handle: handle.clone(),
        future: Box::pin(future),
    }
}

impl<F: Future> Future for Entered<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = this.handle.enter();
        this.future.as_mut().poll(cx)
    }
}

/// The raw `GET` every raw variant sends.
async fn raw_get(connection: &mut MultiplexedConnection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET")
        .arg(key)
        .query_async::<Option<Vec<u8>>>(connection)
        .await
        .expect("GET")
}

struct Bench {
    /// The callers' runtime: current-thread, all drivers.
    rt: Runtime,
    /// Backplane on (the default).
    manager: CacheManager,
    /// Driven by `rt` (`RedisConfig::runtime`), not its own I/O thread.
    _on_caller: CacheManager,
    get: Region,
    get_on_caller: Region,
    get_keys: Vec<String>,
    get_redis_keys: Vec<String>,
    /// Opened on `rt`: its driver runs there.
    raw: MultiplexedConnection,
    /// Opened on `io`: its driver runs on that thread.
    io: Handle,
    raw_io: MultiplexedConnection,
    raw_sync: Mutex<redis::Connection>,
    batch: Region,
    batch_keys: Vec<String>,
    batch_entries: Vec<(String, Vec<u8>)>,
    batch_redis_keys: Vec<String>,
    l1_small: Region,
    l1_big: Region,
    moka_small: moka::sync::Cache<String, Vec<u8>>,
    moka_big: moka::sync::Cache<String, Vec<u8>>,
    small_keys: Vec<String>,
    big_keys: Vec<String>,
    /// The `get` keys again in regions of 100-byte and 4 KiB values.
    sized: Vec<Sized>,
}

/// A Redis region whose `GET_KEYS` values are all `bytes` long.
struct Sized {
    bytes: usize,
    region: Region,
    redis_keys: Vec<String>,
}

static BENCH: LazyLock<Bench> = LazyLock::new(|| {
    let (url, _) = start_server();
    let rt = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let manager = new_manager(&url);
    // Built off the runtime's thread while the runtime runs: building
    // reads the shared configuration from Redis, on that runtime.
    let on_caller_config = RedisConfig::new(url.as_str())
        .prefix(PREFIX)
        .runtime(rt.handle().clone());
    let on_caller = rt
        .block_on(async move {
            tokio::task::spawn_blocking(move || manager_with(on_caller_config)).await
        })
        .expect("the manager builds");
    let handle = |manager: &CacheManager, name| {
        manager
            .region_named::<String, Vec<u8>>(name)
            .expect("region")
    };
    let client = redis::Client::open(url.as_str()).expect("client");
    let io = io_thread();
    let bench = Bench {
        raw: rt
            .block_on(client.get_multiplexed_async_connection())
            .expect("raw connection"),
        raw_io: io
            .block_on(client.get_multiplexed_async_connection())
            .expect("raw connection on the I/O thread"),
        raw_sync: Mutex::new(client.get_connection().expect("raw sync connection")),
        io,
        get: handle(&manager, GET_REGION),
        get_on_caller: handle(&on_caller, GET_REGION),
        get_keys: (0..GET_KEYS).map(|i| format!("key-{i:06}")).collect(),
        get_redis_keys: (0..GET_KEYS)
            .map(|i| redis_key(GET_REGION, &format!("key-{i:06}")))
            .collect(),
        batch: handle(&manager, BATCH_REGION),
        batch_keys: (0..BATCH).map(|i| format!("batch-{i:06}")).collect(),
        batch_entries: (0..BATCH)
            .map(|i| (format!("batch-{i:06}"), value(i)))
            .collect(),
        batch_redis_keys: (0..BATCH)
            .map(|i| redis_key(BATCH_REGION, &format!("batch-{i:06}")))
            .collect(),
        l1_small: handle(&manager, L1_1K_REGION),
        l1_big: handle(&manager, L1_100K_REGION),
        moka_small: moka::sync::Cache::new(200_000),
        moka_big: moka::sync::Cache::new(200_000),
        small_keys: random_keys(SMALL, 0x9E37_79B9_7F4A_7C15),
        big_keys: random_keys(BIG, 0xD1B5_4A32_D192_ED03),
        sized: SIZED_REGIONS
            .iter()
            .map(|&(name, bytes)| Sized {
                bytes,
                region: handle(&manager, name),
                redis_keys: (0..GET_KEYS)
                    .map(|i| redis_key(name, &format!("key-{i:06}")))
                    .collect(),
            })
            .collect(),
        rt,
        manager,
        _on_caller: on_caller,
    };
    bench.fill();
    bench
});

impl Bench {
    fn fill(&self) {
        let entries = |keys: &[String]| -> Vec<(String, Vec<u8>)> {
            keys.iter()
                .enumerate()
                .map(|(i, key)| (key.clone(), value(i)))
                .collect()
        };
        let stored = self
            .rt
            .block_on(self.get.insert_many(entries(&self.get_keys)))
            .expect("insert_many");
        assert_eq!(stored, GET_KEYS as u64, "every get key stored");
        self.rt
            .block_on(self.batch.insert_many(self.batch_entries.clone()))
            .expect("insert_many");
        // The same bytes both ways: the raw GET reads the manager's key.
        let mut raw = self.raw.clone();
        for (key, redis_key) in self.get_keys.iter().zip(&self.get_redis_keys) {
            let manager = self.rt.block_on(self.get.get(key));
            assert!(manager.is_some(), "manager hit for {key}");
            let raw = self.rt.block_on(raw_get(&mut raw, redis_key));
            assert!(raw.is_some(), "raw hit for {redis_key}");
        }
        for sized in &self.sized {
            let entries = self
                .get_keys
                .iter()
                .enumerate()
                .map(|(i, key)| (key.clone(), sized_value(i, sized.bytes)))
                .collect();
            self.rt
                .block_on(sized.region.insert_many(entries))
                .expect("insert_many");
            for (i, (key, redis_key)) in self.get_keys.iter().zip(&sized.redis_keys).enumerate() {
                let manager = self.rt.block_on(sized.region.get(key));
                assert_eq!(
                    manager,
                    Some(sized_value(i, sized.bytes)),
                    "manager hit for {key}"
                );
                let raw = self.rt.block_on(raw_get(&mut raw, redis_key));
                assert!(raw.is_some(), "raw hit for {redis_key}");
            }
        }
        if std::env::var_os(CALLGRIND).is_some() {
            return; // only Redis gets are counted
        }
        // The L1 caches, in chunks of 1,000, each chunk into the hybrid
        // region then into moka, so their entries are allocated alike.
        for (handle, moka, keys) in [
            (&self.l1_small, &self.moka_small, &self.small_keys),
            (&self.l1_big, &self.moka_big, &self.big_keys),
        ] {
            let all = entries(keys);
            for chunk in all.chunks(1000) {
                self.rt
                    .block_on(handle.insert_many(chunk.to_vec()))
                    .expect("insert_many");
                for (key, value) in chunk {
                    moka.insert(key.clone(), value.clone());
                }
            }
            handle.run_pending_tasks();
            moka.run_pending_tasks();
            assert_eq!(moka.entry_count(), keys.len() as u64, "every entry in moka");
        }
    }
}

/// Runs `op` `count` times before a bench measures it, then benches it.
fn warm_and_bench<O>(bencher: Bencher, count: usize, mut op: impl FnMut() -> O) {
    for _ in 0..count {
        black_box(op());
    }
    bencher.bench_local(op);
}

// ---------------------------------------------------------------------------
// 1. A Redis get: manager against raw redis
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 300, sample_size = 10)]
mod get {
    use super::*;

    #[divan::bench]
    fn raw_get(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        let mut connection = b.raw.clone();
        warm_and_bench(bencher, 500, || {
            let key = &b.get_redis_keys[next(&at, GET_KEYS)];
            b.rt.block_on(super::raw_get(&mut connection, black_box(key)))
                .expect("hit")
        });
    }

    #[divan::bench]
    fn manager_get(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, 500, || {
            let key = &b.get_keys[next(&at, GET_KEYS)];
            b.rt.block_on(b.get.get(black_box(key))).expect("hit")
        });
    }

    #[divan::bench]
    fn manager_get_caller_runtime(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, 500, || {
            let key = &b.get_keys[next(&at, GET_KEYS)];
            b.rt.block_on(b.get_on_caller.get(black_box(key)))
                .expect("hit")
        });
    }

    #[divan::bench]
    fn manager_get_blocking(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, 500, || {
            let key = &b.get_keys[next(&at, GET_KEYS)];
            b.get.get_blocking(black_box(key)).expect("hit")
        });
    }

    #[divan::bench]
    fn raw_get_io_thread(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        let mut connection = b.raw_io.clone();
        warm_and_bench(bencher, 500, || {
            let key = &b.get_redis_keys[next(&at, GET_KEYS)];
            b.rt.block_on(entered(
                &b.io,
                super::raw_get(&mut connection, black_box(key)),
            ))
            .expect("hit")
        });
    }

    #[divan::bench]
    fn raw_sync_get(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        let mut connection = b.raw_sync.lock().unwrap_or_else(PoisonError::into_inner);
        warm_and_bench(bencher, 500, || {
            let key = &b.get_redis_keys[next(&at, GET_KEYS)];
            redis::cmd("GET")
                .arg(black_box(key))
                .query::<Option<Vec<u8>>>(&mut *connection)
                .expect("GET")
                .expect("hit")
        });
    }
}

// ---------------------------------------------------------------------------
// 2. Batches against one by one
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 20, sample_size = 1)]
mod batch {
    use super::*;

    #[divan::bench]
    fn get_many_1000(bencher: Bencher) {
        let b = &*BENCH;
        warm_and_bench(bencher, 2, || {
            let found =
                b.rt.block_on(b.batch.get_many(black_box(&b.batch_keys)))
                    .expect("get_many");
            assert!(found.iter().all(Option::is_some), "all hits");
            found
        });
    }

    #[divan::bench]
    fn get_1000_one_by_one(bencher: Bencher) {
        let b = &*BENCH;
        warm_and_bench(bencher, 2, || {
            b.rt.block_on(async {
                let mut hits = 0;
                for key in &b.batch_keys {
                    hits += usize::from(b.batch.get(black_box(key)).await.is_some());
                }
                assert_eq!(hits, BATCH, "all hits");
                hits
            })
        });
    }

    /// One raw `MGET` of the same 1,000 keys.
    #[divan::bench]
    fn raw_mget_1000(bencher: Bencher) {
        let b = &*BENCH;
        let mut connection = b.raw.clone();
        warm_and_bench(bencher, 2, || {
            b.rt.block_on(
                redis::cmd("MGET")
                    .arg(&b.batch_redis_keys)
                    .query_async::<Vec<Option<Vec<u8>>>>(&mut connection),
            )
            .expect("MGET")
        });
    }

    /// One pipeline of 1,000 raw `GET`s.
    #[divan::bench]
    fn raw_pipelined_get_1000(bencher: Bencher) {
        let b = &*BENCH;
        let mut connection = b.raw.clone();
        warm_and_bench(bencher, 2, || {
            let mut pipe = redis::pipe();
            for key in &b.batch_redis_keys {
                pipe.cmd("GET").arg(key);
            }
            b.rt.block_on(pipe.query_async::<Vec<Option<Vec<u8>>>>(&mut connection))
                .expect("pipelined GET")
        });
    }

    #[divan::bench]
    fn insert_many_1000(bencher: Bencher) {
        let b = &*BENCH;
        bencher
            .with_inputs(|| b.batch_entries.clone())
            .bench_local_values(|entries| {
                b.rt.block_on(b.batch.insert_many(entries))
                    .expect("insert_many")
            });
    }

    #[divan::bench]
    fn insert_1000_one_by_one(bencher: Bencher) {
        let b = &*BENCH;
        bencher
            .with_inputs(|| b.batch_entries.clone())
            .bench_local_values(|entries| {
                b.rt.block_on(async {
                    let mut stored = 0;
                    for (key, value) in entries {
                        stored += usize::from(b.batch.insert(key, value).await);
                    }
                    assert_eq!(stored, BATCH, "all stored");
                    stored
                })
            });
    }
}

// ---------------------------------------------------------------------------
// 3. Hybrid L1 hits against raw moka
// ---------------------------------------------------------------------------

#[divan::bench_group(sample_count = 1000, sample_size = 200)]
mod l1_1k {
    use super::*;

    #[divan::bench]
    fn moka_plain(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, ORDER_LEN, || {
            b.moka_small
                .get(black_box(&b.small_keys[next(&at, SMALL)]))
                .expect("hit")
        });
    }

    #[divan::bench]
    fn hybrid_get_blocking(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, ORDER_LEN, || {
            b.l1_small
                .get_blocking(black_box(&b.small_keys[next(&at, SMALL)]))
                .expect("hit")
        });
    }
}

#[divan::bench_group(sample_count = 1000, sample_size = 200)]
mod l1_100k {
    use super::*;

    #[divan::bench]
    fn moka_plain(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, ORDER_LEN, || {
            b.moka_big
                .get(black_box(&b.big_keys[next(&at, BIG)]))
                .expect("hit")
        });
    }

    #[divan::bench]
    fn hybrid_get_blocking(bencher: Bencher) {
        let (b, at) = (&*BENCH, Cell::new(0));
        warm_and_bench(bencher, ORDER_LEN, || {
            b.l1_big
                .get_blocking(black_box(&b.big_keys[next(&at, BIG)]))
                .expect("hit")
        });
    }
}

// ---------------------------------------------------------------------------
// Interleaved rounds (outside divan)
// ---------------------------------------------------------------------------

/// A timed block of `n` calls of `op` on the indices `ORDER[start..]`
/// below `len`.
fn timed<O>(n: usize, start: usize, len: usize, mut op: impl FnMut(usize) -> O) -> Duration {
    let started = Instant::now();
    for i in start..start + n {
        black_box(op(order(i, len)));
    }
    started.elapsed()
}

/// The first two variants of a get group: a raw `GET` of `redis_keys`
/// and `region`'s get of the same keys.
fn raw_and_manager_gets<'a>(
    b: &'a Bench,
    region: &'a Region,
    redis_keys: &'a [String],
) -> Vec<(&'static str, Block<'a>)> {
    let mut raw = b.raw.clone();
    vec![
        (
            "raw_get",
            Box::new(move |n, start| {
                timed(n, start, GET_KEYS, |i| {
                    b.rt.block_on(raw_get(&mut raw, &redis_keys[i]))
                })
            }),
        ),
        (
            "manager_get",
            Box::new(move |n, start| {
                timed(n, start, GET_KEYS, |i| {
                    b.rt.block_on(region.get(&b.get_keys[i]))
                })
            }),
        ),
    ]
}

/// The name of the interleaved group of `bytes`-long values: `get_100b`,
/// `get_4k`.
fn sized_group(bytes: usize) -> String {
    if bytes.is_multiple_of(1024) {
        format!("get_{}k", bytes / 1024)
    } else {
        format!("get_{bytes}b")
    }
}

/// The `get`, `l1_1k` and `l1_100k` variants again, in rounds: each round
/// runs a block of every variant (~10-25 ms), in a rotating order, so
/// drift in the machine's speed hits every variant alike, and gives a
/// paired ratio per round. See the crate docs for the output.
fn interleaved() {
    let rounds = interleave::rounds();
    if rounds == 0 {
        return;
    }
    let b = &*BENCH;
    let mut raw_io = b.raw_io.clone();
    let mut sync = b.raw_sync.lock().unwrap_or_else(PoisonError::into_inner);
    let mut get = raw_and_manager_gets(b, &b.get, &b.get_redis_keys);
    get.extend::<[(&str, Block); 4]>([
        (
            "manager_get_caller_runtime",
            Box::new(|n, start| {
                timed(n, start, GET_KEYS, |i| {
                    b.rt.block_on(b.get_on_caller.get(&b.get_keys[i]))
                })
            }),
        ),
        (
            "manager_get_blocking",
            Box::new(|n, start| timed(n, start, GET_KEYS, |i| b.get.get_blocking(&b.get_keys[i]))),
        ),
        (
            "raw_get_io_thread",
            Box::new(move |n, start| {
                timed(n, start, GET_KEYS, |i| {
                    b.rt.block_on(entered(&b.io, raw_get(&mut raw_io, &b.get_redis_keys[i])))
                })
            }),
        ),
        (
            "raw_sync_get",
            Box::new(|n, start| {
                timed(n, start, GET_KEYS, |i| {
                    redis::cmd("GET")
                        .arg(&b.get_redis_keys[i])
                        .query::<Option<Vec<u8>>>(&mut *sync)
                        .expect("GET")
                })
            }),
        ),
    ]);
    let small: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| timed(n, start, SMALL, |i| b.moka_small.get(&b.small_keys[i]))),
        ),
        (
            "hybrid_get_blocking",
            Box::new(|n, start| {
                timed(n, start, SMALL, |i| {
                    b.l1_small.get_blocking(&b.small_keys[i])
                })
            }),
        ),
    ];
    let big: Vec<(&str, Block)> = vec![
        (
            "moka_plain",
            Box::new(|n, start| timed(n, start, BIG, |i| b.moka_big.get(&b.big_keys[i]))),
        ),
        (
            "hybrid_get_blocking",
            Box::new(|n, start| timed(n, start, BIG, |i| b.l1_big.get_blocking(&b.big_keys[i]))),
        ),
    ];
    let mut raw_batch = b.raw.clone();
    let mut raw_mget = b.raw.clone();
    let batch: Vec<(&str, Block)> = vec![
        (
            "raw_mget_1000",
            Box::new(move |n, _| {
                let start = Instant::now();
                for _ in 0..n {
                    let found: Vec<Option<Vec<u8>>> =
                        b.rt.block_on(
                            redis::cmd("MGET")
                                .arg(&b.batch_redis_keys)
                                .query_async(&mut raw_mget),
                        )
                        .expect("MGET");
                    black_box(found);
                }
                start.elapsed()
            }),
        ),
        (
            "raw_pipelined_get_1000",
            Box::new(move |n, _| {
                let start = Instant::now();
                for _ in 0..n {
                    let mut pipe = redis::pipe();
                    for key in &b.batch_redis_keys {
                        pipe.cmd("GET").arg(key);
                    }
                    let found: Vec<Option<Vec<u8>>> =
                        b.rt.block_on(pipe.query_async(&mut raw_batch))
                            .expect("pipeline");
                    black_box(found);
                }
                start.elapsed()
            }),
        ),
        (
            "get_many_1000",
            Box::new(|n, _| {
                let start = Instant::now();
                for _ in 0..n {
                    let found =
                        b.rt.block_on(b.batch.get_many(&b.batch_keys))
                            .expect("get_many");
                    black_box(found);
                }
                start.elapsed()
            }),
        ),
    ];
    // Blocks: 300 Redis gets (~10-20 ms), 100,000 hits over 1,024
    // entries, 20,000 over 100,000 (~20-25 ms); the warm-up first.
    let mut groups = vec![("get".to_owned(), get, 300, 500)];
    for sized in &b.sized {
        let variants = raw_and_manager_gets(b, &sized.region, &sized.redis_keys);
        groups.push((sized_group(sized.bytes), variants, 300, 500));
    }
    groups.extend([
        ("l1_1k".to_owned(), small, 100_000, ORDER_LEN),
        ("l1_100k".to_owned(), big, 20_000, ORDER_LEN),
        ("batch".to_owned(), batch, 10, 3),
    ]);
    for (group, mut variants, n, warm) in groups {
        for (_, block) in &mut variants {
            block(warm, 0);
        }
        interleave::run(&group, &mut variants, n, rounds, ORDER_LEN);
    }
}

// ---------------------------------------------------------------------------
// Instructions per get (under callgrind)
// ---------------------------------------------------------------------------

/// `CACHE_BENCH_CALLGRIND=<variant>:<bytes>` runs [`CALLGRIND_GETS`] gets
/// of one variant (`raw_get` or `manager_get`, values of 32, 100 or 4096
/// bytes) inside [`measured_gets`], after a warm-up outside it, and exits:
/// run under `valgrind --tool=callgrind --toggle-collect='*measured_gets*'`,
/// the collected instructions are the caller's thread's (the connection's
/// driver task runs there too, on the caller's runtime) for that many
/// gets, the Redis server's not included.
const CALLGRIND: &str = "CACHE_BENCH_CALLGRIND";

/// Gets counted per `CACHE_BENCH_CALLGRIND` run.
const CALLGRIND_GETS: usize = 2_000;

fn callgrind(which: &str) {
    let usage = "CACHE_BENCH_CALLGRIND=<raw_get|manager_get>:<32|100|4096>";
    let b = &*BENCH;
    let (variant, bytes) = which.split_once(':').unwrap_or((which, "32"));
    let bytes: usize = bytes
        .parse()
        .unwrap_or_else(|_| panic!("{usage}, got {which}"));
    let (region, redis_keys) = if bytes == 32 {
        (&b.get, &b.get_redis_keys)
    } else {
        let sized = b.sized.iter().find(|sized| sized.bytes == bytes);
        let sized = sized.unwrap_or_else(|| panic!("{usage}, got {which}"));
        (&sized.region, &sized.redis_keys)
    };
    let mut raw = b.raw.clone();
    let mut op: Box<dyn FnMut(usize) -> bool> = match variant {
        "raw_get" => Box::new(move |i| b.rt.block_on(raw_get(&mut raw, &redis_keys[i])).is_some()),
        "manager_get" => Box::new(|i| b.rt.block_on(region.get(&b.get_keys[i])).is_some()),
        _ => panic!("{usage}, got {which}"),
    };
    for i in 0..500 {
        assert!(op(order(i, GET_KEYS)), "warm-up hit");
    }
    let hits = measured_gets(&mut *op, CALLGRIND_GETS);
    assert_eq!(hits, CALLGRIND_GETS, "every get hits");
    println!("callgrind {variant}:{bytes} gets {CALLGRIND_GETS}");
}

/// `n` gets by `op`, in [`ORDER`]: the only function callgrind counts in.
#[inline(never)]
fn measured_gets(op: &mut dyn FnMut(usize) -> bool, n: usize) -> usize {
    (0..n).filter(|&i| op(order(i, GET_KEYS))).count()
}

// ---------------------------------------------------------------------------
// 4. Other clients' stalls while a big region is cleared
// ---------------------------------------------------------------------------

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// `PING`s on a connection of its own in a tight loop, from when `start`
/// is passed until `stop` is set: each round trip's latency in ns.
fn ping_loop(port: u16, start: &Barrier, stop: &AtomicBool) -> Vec<u64> {
    const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let mut reply = [0u8; 7];
    let mut ping = |stream: &mut TcpStream| {
        stream.write_all(PING).expect("send PING");
        stream.read_exact(&mut reply).expect("read PONG");
        assert_eq!(&reply, b"+PONG\r\n", "PING answered");
    };
    for _ in 0..100 {
        ping(&mut stream);
    }
    let mut latencies = Vec::with_capacity(1 << 20);
    start.wait();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        ping(&mut stream);
        latencies.push(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
    latencies
}

/// `PING` latencies while `during` runs (on this thread): its output and
/// the latencies, sorted.
fn pinged_while<T>(port: u16, during: impl FnOnce() -> T) -> (T, Vec<u64>) {
    let start = Barrier::new(2);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let pinger = scope.spawn(|| ping_loop(port, &start, &stop));
        start.wait();
        let output = during();
        stop.store(true, Ordering::Relaxed);
        let mut latencies = pinger.join().expect("PING thread");
        latencies.sort_unstable();
        (output, latencies)
    })
}

/// `p50_us .. p99_us .. p999_us .. max_us .. over_1ms ..` of sorted ns.
fn percentiles(sorted: &[u64]) -> String {
    if sorted.is_empty() {
        return "pings 0".into();
    }
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    let over = sorted.iter().filter(|&&ns| ns > 1_000_000).count();
    format!(
        "pings {} p50_us {:.1} p99_us {:.1} p999_us {:.1} max_us {:.1} over_1ms {over}",
        sorted.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0),
    )
}

/// The clear's commands in the server's slow log (those over its
/// threshold; the log's own `SLOWLOG` and `CONFIG` entries left out):
/// `scan_slow <n> scan_slowest_us <µs> unlink_slow <n> unlink_slowest_us
/// <µs>`.
fn slowlog(connection: &mut redis::Connection) -> String {
    let entries: Vec<Vec<redis::Value>> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(100_000)
        .query(connection)
        .expect("SLOWLOG GET");
    let mut found = [("scan", 0, 0i64), ("unlink", 0, 0i64)];
    for entry in &entries {
        let (Some(redis::Value::Int(micros)), Some(redis::Value::Array(args))) =
            (entry.get(2), entry.get(3))
        else {
            continue;
        };
        let Some(redis::Value::BulkString(name)) = args.first() else {
            continue;
        };
        for (command, count, slowest) in &mut found {
            if name.eq_ignore_ascii_case(command.as_bytes()) {
                *count += 1;
                *slowest = (*slowest).max(*micros);
            }
        }
    }
    found
        .iter()
        .map(|(command, count, slowest)| {
            format!("{command}_slow {count} {command}_slowest_us {slowest}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `calls` and `usec_per_call` of `command` in `INFO commandstats`.
fn command_stats(info: &str, command: &str) -> String {
    let prefix = format!("cmdstat_{command}:");
    let Some(line) = info.lines().find(|line| line.starts_with(&prefix)) else {
        return format!("{command}_calls 0");
    };
    let field = |name: &str| {
        line[prefix.len()..]
            .split(',')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("?")
            .to_owned()
    };
    format!(
        "{command}_calls {} {command}_usec_per_call {}",
        field("calls"),
        field("usec_per_call")
    )
}

/// Fills a Redis region with `CACHE_BENCH_CLEAR_KEYS` keys (raw pipelined
/// `SET`s of 64-byte values under `{prefix}:{region}:`, 10,000 per
/// pipeline), measures `PING` latencies on another connection alone
/// (baseline) and while `RegionHandle::clear` runs, and prints them with
/// the clear's duration and the server's slow log. Repeated
/// `CACHE_BENCH_STALL_REPEATS` times.
fn clear_stall() {
    let keys = usize::try_from(env_number("CACHE_BENCH_CLEAR_KEYS", 1_000_000)).expect("keys");
    let baseline = Duration::from_secs(env_number("CACHE_BENCH_BASELINE_SECS", 3));
    let repeats = env_number("CACHE_BENCH_STALL_REPEATS", 2);
    let (url, port) = start_server();
    let rt = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let manager = new_manager(&url);
    let handle = manager
        .region_named::<String, Vec<u8>>(CLEAR_REGION)
        .expect("region");
    let client = redis::Client::open(url.as_str()).expect("client");
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(30)));
    let mut filler = rt
        .block_on(client.get_multiplexed_async_connection_with_config(&config))
        .expect("raw connection");
    let mut admin = client.get_connection().expect("admin connection");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(100)
        .arg("slowlog-max-len")
        .arg(100_000)
        .query(&mut admin)
        .expect("CONFIG SET");
    let value = vec![b'v'; 64];
    println!(
        "stall settings keys {keys} value_bytes 64 baseline_s {} slowlog_over_us 100",
        baseline.as_secs()
    );
    for run in 1..=repeats {
        let started = Instant::now();
        for first in (0..keys).step_by(10_000) {
            let mut pipe = redis::pipe();
            for i in first..(first + 10_000).min(keys) {
                pipe.cmd("SET")
                    .arg(redis_key(CLEAR_REGION, &format!("key-{i:07}")))
                    .arg(&value)
                    .ignore();
            }
            rt.block_on(pipe.query_async::<()>(&mut filler))
                .expect("fill");
        }
        let size: u64 = redis::cmd("DBSIZE").query(&mut admin).expect("DBSIZE");
        println!(
            "stall {run} fill keys {size} fill_ms {:.0}",
            started.elapsed().as_secs_f64() * 1e3
        );

        let ((), alone) = pinged_while(port, || thread::sleep(baseline));
        println!("stall {run} baseline {}", percentiles(&alone));

        let _: () = redis::cmd("SLOWLOG")
            .arg("RESET")
            .query(&mut admin)
            .expect("SLOWLOG RESET");
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut admin)
            .expect("CONFIG RESETSTAT");
        let ((removed, spent), during) = pinged_while(port, || {
            let started = Instant::now();
            let removed = rt.block_on(handle.clear()).expect("clear");
            (removed, started.elapsed())
        });
        let slow = slowlog(&mut admin);
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut admin)
            .expect("INFO");
        let left: u64 = redis::cmd("DBSIZE").query(&mut admin).expect("DBSIZE");
        println!(
            "stall {run} clear clear_ms {:.0} removed {removed} left {left}",
            spent.as_secs_f64() * 1e3
        );
        println!("stall {run} during {}", percentiles(&during));
        let (scan, unlink) = (command_stats(&info, "scan"), command_stats(&info, "unlink"));
        println!("stall {run} server {slow} {scan} {unlink}");
    }
    let _ = manager.shutdown();
}
