//! The manager under concurrency: exact statistics after many tasks (and
//! threads) hammer one region, single-flight loads for a cold key, and
//! callers that are cancelled, whose loader panics or fails, leaving nothing
//! stuck, with async and blocking callers sharing one load.
//!
//! Nothing here asserts a timing: timeouts only guard against hangs, and the
//! one deliberate timeout (a cancelled caller) decides nothing the
//! assertions depend on.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use cache_runtime::{CacheManager, RegionHandle, cache_region};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

#[cache_region(name = "mc-hammer", key = u64, value = u64, max_entries = 10_000)]
struct Hammer;

#[cache_region(name = "mc-hammer-threads", key = u64, value = u64, max_entries = 10_000)]
struct HammerThreads;

#[cache_region(name = "mc-cold", key = String, value = String)]
struct Cold;

#[cache_region(name = "mc-untimed", key = u64, value = u64, max_entries = 100_000)]
struct Untimed;

#[cache_region(name = "mc-cancelled", key = String, value = String)]
struct Cancelled;

#[cache_region(name = "mc-panicking", key = String, value = String)]
struct Panicking;

#[cache_region(name = "mc-failing", key = String, value = String)]
struct Failing;

#[cache_region(name = "mc-mixed", key = String, value = String)]
struct Mixed;

/// How long any one wait may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(30);

fn manager() -> CacheManager {
    CacheManager::builder()
        .background_stats(false)
        .build()
        .expect("the manager builds")
}

/// Awaits `future`, failing the test if it takes longer than [`HANG`].
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} hung"),
    }
}

/// Polls `done` until it holds, failing the test after [`HANG`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A small deterministic generator (xorshift64*).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// What one worker of the hammer did, counted by itself.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    /// `get`s plus `get_or_insert_with`s: each counts one hit or miss.
    gets: u64,
    /// `insert`s (the loaders' stores are counted by the loaders).
    inserts: u64,
    /// `remove`s that found the key.
    removed: u64,
}

impl std::ops::Add for Tally {
    type Output = Tally;
    fn add(self, other: Tally) -> Tally {
        Tally {
            gets: self.gets + other.gets,
            inserts: self.inserts + other.inserts,
            removed: self.removed + other.removed,
        }
    }
}

const WORKERS: u64 = 8;
const OPS: u64 = 20_000;
const KEYS: u64 = 64;

/// A value that says which key it belongs to, so a get can check it.
fn value_for(key: u64, serial: u64) -> u64 {
    (key << 32) | (serial & 0xFFFF_FFFF)
}

fn check_value(key: u64, value: u64) {
    assert_eq!(
        value >> 32,
        key,
        "the value {value:#x} belongs to another key than {key}"
    );
}

/// Checks the region's counters against what the workers and loaders counted.
fn check_counts(handle: &RegionHandle<u64, u64>, tally: Tally, loads: u64) {
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(
        snapshot.gets(),
        tally.gets,
        "every get counted once, as a hit, a miss or coalesced: {snapshot:?}"
    );
    assert!(
        snapshot.misses >= loads,
        "every loader run is some caller's miss: {snapshot:?}"
    );
    assert_eq!(
        snapshot.inserts,
        tally.inserts + loads,
        "every store counted once"
    );
    assert_eq!(
        snapshot.loads_succeeded, loads,
        "every loader run counted once"
    );
    assert_eq!(snapshot.loads_failed, 0);
    assert_eq!(
        snapshot.removals, tally.removed,
        "every removal that found its key"
    );
    // Each key was created by a store, then either removed or still held;
    // every other store replaced a live value.
    let entries = handle.len().expect("a memory region counts its entries");
    assert!(entries <= KEYS);
    assert_eq!(snapshot.entries, Some(entries));
    assert_eq!(
        snapshot.updates,
        snapshot.inserts - snapshot.removals - entries,
        "stores that replaced a value: {snapshot:?}"
    );
    let evictions = snapshot.evictions;
    assert_eq!(
        (evictions.expired, evictions.idle, evictions.size),
        (0, 0, 0),
        "nothing expires or overflows"
    );
    // Replacements and removals are not evictions.
    assert_eq!(evictions.total(), 0);
    assert_eq!(handle.loads_in_flight(), 0);
    assert!(tally.gets > 0 && tally.inserts > 0 && tally.removed > 0 && loads > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_hammering_shared_keys_count_exactly() {
    let manager = manager();
    let handle = manager.region::<Hammer>().expect("region");
    let loads = Arc::new(AtomicU64::new(0));
    let workers: Vec<JoinHandle<Tally>> = (0..WORKERS)
        .map(|worker| {
            let handle = handle.clone();
            let loads = Arc::clone(&loads);
            tokio::spawn(async move {
                let mut rng = XorShift::new(worker + 1);
                let mut tally = Tally::default();
                for serial in 0..OPS {
                    let roll = rng.next();
                    let key = roll % KEYS;
                    match (roll >> 32) % 10 {
                        0..=4 => {
                            tally.gets += 1;
                            if let Some(value) = handle.get(&key).await {
                                check_value(key, value);
                            }
                        }
                        5 | 6 => {
                            tally.inserts += 1;
                            assert!(handle.insert(key, value_for(key, serial)).await);
                        }
                        7 | 8 => {
                            tally.gets += 1;
                            let loads = &loads;
                            let value = handle
                                .get_or_insert_with(key, || async move {
                                    loads.fetch_add(1, SeqCst);
                                    tokio::task::yield_now().await;
                                    value_for(key, serial)
                                })
                                .await;
                            check_value(key, value);
                        }
                        _ => {
                            if handle.remove(&key).await {
                                tally.removed += 1;
                            }
                        }
                    }
                    if serial % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        tally = tally + bounded("a worker", worker).await.expect("worker task");
    }
    check_counts(&handle, tally, loads.load(SeqCst));
}

#[test]
fn eight_threads_hammering_shared_keys_count_exactly() {
    let manager = manager();
    let handle = manager.region::<HammerThreads>().expect("region");
    let loads = AtomicU64::new(0);
    let tally = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                let handle = &handle;
                let loads = &loads;
                scope.spawn(move || {
                    let mut rng = XorShift::new(worker + 100);
                    let mut tally = Tally::default();
                    for serial in 0..OPS {
                        let roll = rng.next();
                        let key = roll % KEYS;
                        match (roll >> 32) % 10 {
                            0..=4 => {
                                tally.gets += 1;
                                if let Some(value) = handle.get_blocking(&key) {
                                    check_value(key, value);
                                }
                            }
                            5 | 6 => {
                                tally.inserts += 1;
                                assert!(handle.insert_blocking(key, value_for(key, serial)));
                            }
                            7 | 8 => {
                                tally.gets += 1;
                                let value = handle.get_or_insert_with_blocking(key, || {
                                    loads.fetch_add(1, SeqCst);
                                    std::thread::yield_now();
                                    value_for(key, serial)
                                });
                                check_value(key, value);
                            }
                            _ => {
                                if handle.remove_blocking(&key) {
                                    tally.removed += 1;
                                }
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker thread"))
            .fold(Tally::default(), |sum, tally| sum + tally)
    });
    check_counts(&handle, tally, loads.load(SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_callers_of_a_cold_key_share_one_load() {
    const CALLERS: u64 = 1_000;
    let manager = manager();
    let handle = manager.region::<Cold>().expect("region");
    let calls = Arc::new(AtomicUsize::new(0));
    let callers: Vec<JoinHandle<String>> = (0..CALLERS)
        .map(|_| {
            let handle = handle.clone();
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                handle
                    .get_or_insert_with("cold".to_owned(), || async move {
                        calls.fetch_add(1, SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        "loaded once".to_owned()
                    })
                    .await
            })
        })
        .collect();
    for caller in callers {
        let value = bounded("a caller", caller).await.expect("caller task");
        assert_eq!(value, "loaded once");
    }
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(handle.loads_in_flight(), 0);
    assert_eq!(
        handle.get(&"cold".to_owned()).await.as_deref(),
        Some("loaded once")
    );
    // moka counts entries in its maintenance.
    handle.run_pending_tasks();
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.loads_succeeded, 1);
    assert_eq!(snapshot.inserts, 1);
    assert_eq!(snapshot.gets(), CALLERS + 1);
    // One caller missed and loaded; the others waited for it (coalesced)
    // or found its value: a burst is not a 0 % hit rate.
    assert_eq!(snapshot.misses, 1, "{snapshot:?}");
    assert!(snapshot.coalesced > 0, "{snapshot:?}");
    assert_eq!(
        snapshot.hit_rate,
        Some(CALLERS as f64 / (CALLERS + 1) as f64)
    );
    assert_eq!(snapshot.entries, Some(1));
}

/// A future that records its first poll, and whether it was left pending
/// then (a single-flight waiter is pending exactly when it joined a flight
/// that has not landed).
struct Watched<F> {
    inner: Pin<Box<F>>,
    first_poll: bool,
    polled: Arc<AtomicUsize>,
    parked: Arc<AtomicUsize>,
}

impl<F: Future> Future for Watched<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let result = self.inner.as_mut().poll(cx);
        if self.first_poll {
            self.first_poll = false;
            self.polled.fetch_add(1, SeqCst);
            if result.is_pending() {
                self.parked.fetch_add(1, SeqCst);
            }
        }
        result
    }
}

/// Counts of [`Watched`] futures.
#[derive(Clone, Default)]
struct Watch {
    polled: Arc<AtomicUsize>,
    parked: Arc<AtomicUsize>,
}

impl Watch {
    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(Watched {
            inner: Box::pin(future),
            first_poll: true,
            polled: Arc::clone(&self.polled),
            parked: Arc::clone(&self.parked),
        })
    }

    fn polled(&self) -> usize {
        self.polled.load(SeqCst)
    }

    fn parked(&self) -> usize {
        self.parked.load(SeqCst)
    }
}

/// A waiter on `key` whose own loader (run only if it has to lead)
/// counts itself and returns `value`.
fn waiter(
    watch: &Watch,
    handle: &RegionHandle<String, String>,
    calls: &Arc<AtomicUsize>,
    key: &str,
    value: &str,
) -> JoinHandle<String> {
    let (handle, calls, key, value) = (
        handle.clone(),
        Arc::clone(calls),
        key.to_owned(),
        value.to_owned(),
    );
    watch.spawn(async move {
        handle
            .get_or_insert_with(key, || async move {
                calls.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                value
            })
            .await
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_loader_hands_over_to_a_waiter() {
    const WAITERS: usize = 50;
    let manager = manager();
    let handle = manager.region::<Cancelled>().expect("region");
    let calls = Arc::new(AtomicUsize::new(0));
    let leader = {
        let (handle, calls) = (handle.clone(), Arc::clone(&calls));
        tokio::spawn(async move {
            let load = handle.get_or_insert_with("k".to_owned(), || async move {
                calls.fetch_add(1, SeqCst);
                std::future::pending::<String>().await
            });
            tokio::time::timeout(Duration::from_millis(300), load).await
        })
    };
    until("the leader's flight", || handle.loads_in_flight() == 1).await;
    let watch = Watch::default();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| waiter(&watch, &handle, &calls, "k", "second load"))
        .collect();
    until("the waiters' first polls", || watch.polled() == WAITERS).await;
    let timed_out = bounded("the leader", leader).await.expect("leader task");
    assert!(
        timed_out.is_err(),
        "the first load never finishes: cancelled by its timeout"
    );
    for waiter in waiters {
        let value = bounded("a waiter", waiter).await.expect("waiter task");
        assert_eq!(value, "second load");
    }
    assert_eq!(calls.load(SeqCst), 2, "the cancelled load and one more");
    assert_eq!(handle.loads_in_flight(), 0);
    assert_eq!(
        handle.get(&"k".to_owned()).await.as_deref(),
        Some("second load")
    );
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.loads_succeeded, 1);
    assert_eq!(snapshot.inserts, 1);
    // A later load of another key is not held up by anything left behind.
    let other = bounded(
        "a later load",
        handle.get_or_insert_with("j".to_owned(), || async { "j".to_owned() }),
    )
    .await;
    assert_eq!(other, "j");
    assert_eq!(handle.loads_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_loader_hands_over_to_a_waiter() {
    const WAITERS: usize = 50;
    let manager = manager();
    let handle = manager.region::<Panicking>().expect("region");
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let leader = {
        let (handle, calls, gate) = (handle.clone(), Arc::clone(&calls), Arc::clone(&gate));
        tokio::spawn(async move {
            handle
                .get_or_insert_with("k".to_owned(), || async move {
                    calls.fetch_add(1, SeqCst);
                    let _permit = gate.acquire().await.expect("gate open");
                    panic!("the loader panics (on purpose)");
                })
                .await
        })
    };
    until("the leader's flight", || handle.loads_in_flight() == 1).await;
    let watch = Watch::default();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| waiter(&watch, &handle, &calls, "k", "after the panic"))
        .collect();
    // The leader is held at the gate, so every waiter joins its flight.
    until("the waiters to join", || watch.parked() == WAITERS).await;
    assert_eq!(calls.load(SeqCst), 1);
    gate.add_permits(1);
    let panicked = bounded("the leader", leader)
        .await
        .expect_err("the leader panicked");
    assert!(panicked.is_panic());
    for waiter in waiters {
        let value = bounded("a waiter", waiter).await.expect("waiter task");
        assert_eq!(value, "after the panic");
    }
    assert_eq!(calls.load(SeqCst), 2, "the panicking load and one more");
    assert_eq!(handle.loads_in_flight(), 0);
    assert_eq!(
        handle.get(&"k".to_owned()).await.as_deref(),
        Some("after the panic")
    );
    let snapshot = handle.snapshot();
    assert_eq!((snapshot.loads_succeeded, snapshot.loads_failed), (1, 0));
    assert_eq!(snapshot.inserts, 1);
}

/// A loader's error.
#[derive(Debug, PartialEq, Eq)]
struct LoadError(&'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_load_is_shared_by_its_waiters_and_not_kept() {
    const WAITERS: usize = 50;
    let manager = manager();
    let handle = manager.region::<Failing>().expect("region");
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let load = |handle: RegionHandle<String, String>,
                calls: Arc<AtomicUsize>,
                gate: Option<Arc<Semaphore>>| async move {
        handle
            .try_get_or_insert_with("k".to_owned(), || async move {
                calls.fetch_add(1, SeqCst);
                match gate {
                    Some(gate) => {
                        let _permit = gate.acquire().await.expect("gate open");
                        Err(LoadError("backend down"))
                    }
                    None => Ok("recovered".to_owned()),
                }
            })
            .await
    };
    let leader = tokio::spawn(load(
        handle.clone(),
        Arc::clone(&calls),
        Some(Arc::clone(&gate)),
    ));
    until("the leader's flight", || handle.loads_in_flight() == 1).await;
    let watch = Watch::default();
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| watch.spawn(load(handle.clone(), Arc::clone(&calls), None)))
        .collect();
    until("the waiters to join", || watch.parked() == WAITERS).await;
    gate.add_permits(1);
    let error = bounded("the leader", leader)
        .await
        .expect("leader task")
        .expect_err("the load fails");
    assert_eq!(*error, LoadError("backend down"));
    for waiter in waiters {
        let got = bounded("a waiter", waiter).await.expect("waiter task");
        let shared = got.expect_err("a waiter gets the leader's error");
        assert!(Arc::ptr_eq(&shared, &error), "the very same Arc");
    }
    assert_eq!(calls.load(SeqCst), 1, "the waiters' loaders never ran");
    assert_eq!(handle.loads_in_flight(), 0);
    handle.run_pending_tasks();
    assert_eq!(handle.len(), Some(0), "an error is not cached");
    let snapshot = handle.snapshot();
    assert_eq!((snapshot.loads_succeeded, snapshot.loads_failed), (0, 1));
    assert_eq!(snapshot.inserts, 0);

    // The next caller loads again, and this time it sticks.
    let again = bounded(
        "the next load",
        load(handle.clone(), Arc::clone(&calls), None),
    )
    .await;
    assert_eq!(again.expect("loads"), "recovered");
    assert_eq!(calls.load(SeqCst), 2);
    assert_eq!(
        handle.get(&"k".to_owned()).await.as_deref(),
        Some("recovered")
    );
    let snapshot = handle.snapshot();
    assert_eq!((snapshot.loads_succeeded, snapshot.loads_failed), (1, 1));
    assert_eq!(handle.loads_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocking_and_async_callers_share_one_load() {
    const EACH: usize = 8;
    let manager = manager();
    let handle = manager.region::<Mixed>().expect("region");

    // An async leader, joined by blocking and async callers.
    let calls = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let leader = {
        let (handle, calls, gate) = (handle.clone(), Arc::clone(&calls), Arc::clone(&gate));
        tokio::spawn(async move {
            handle
                .get_or_insert_with("async-led".to_owned(), || async move {
                    calls.fetch_add(1, SeqCst);
                    let _permit = gate.acquire().await.expect("gate open");
                    "from async".to_owned()
                })
                .await
        })
    };
    until("the leader's flight", || handle.loads_in_flight() == 1).await;
    let mut callers: Vec<JoinHandle<String>> = vec![leader];
    for _ in 0..EACH {
        let (handle, calls) = (handle.clone(), Arc::clone(&calls));
        callers.push(tokio::task::spawn_blocking(move || {
            handle.get_or_insert_with_blocking("async-led".to_owned(), || {
                calls.fetch_add(1, SeqCst);
                "from a blocking caller".to_owned()
            })
        }));
    }
    let watch = Watch::default();
    for _ in 0..EACH {
        callers.push(waiter(
            &watch,
            &handle,
            &calls,
            "async-led",
            "from an async waiter",
        ));
    }
    until("the async waiters to join", || watch.parked() == EACH).await;
    // Blocking callers give no sign of waiting: give them a moment. One
    // that arrives after the load finds its value, so the count holds anyway.
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1);
    for caller in callers {
        let value = bounded("a caller", caller).await.expect("caller task");
        assert_eq!(value, "from async");
    }
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(handle.loads_in_flight(), 0);

    // A blocking leader, joined by async and blocking callers.
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let leader = {
        let (handle, calls) = (handle.clone(), Arc::clone(&calls));
        tokio::task::spawn_blocking(move || {
            handle.get_or_insert_with_blocking("blocking-led".to_owned(), || {
                calls.fetch_add(1, SeqCst);
                gate.recv().expect("gate open");
                "from blocking".to_owned()
            })
        })
    };
    until("the leader's flight", || handle.loads_in_flight() == 1).await;
    let mut callers: Vec<JoinHandle<String>> = vec![leader];
    let watch = Watch::default();
    for _ in 0..EACH {
        callers.push(waiter(
            &watch,
            &handle,
            &calls,
            "blocking-led",
            "from an async waiter",
        ));
    }
    for _ in 0..EACH {
        let (handle, calls) = (handle.clone(), Arc::clone(&calls));
        callers.push(tokio::task::spawn_blocking(move || {
            handle.get_or_insert_with_blocking("blocking-led".to_owned(), || {
                calls.fetch_add(1, SeqCst);
                "from a blocking caller".to_owned()
            })
        }));
    }
    until("the async waiters to join", || watch.parked() == EACH).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    open.send(()).expect("the leader waits at the gate");
    for caller in callers {
        let value = bounded("a caller", caller).await.expect("caller task");
        assert_eq!(value, "from blocking");
    }
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(handle.loads_in_flight(), 0);
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.loads_succeeded, 2);
    assert_eq!(snapshot.inserts, 2);
    assert_eq!(snapshot.gets(), 2 * (1 + 2 * EACH as u64));
    assert_eq!(snapshot.misses, 2, "one leader per round: {snapshot:?}");
}

/// A region without TTL has no per-entry expiry until its first entry with
/// a TTL of its own; that entry rebuilds the cache while other threads
/// write and read. Nothing written before, during or after the switch is
/// lost, and no reader sees a value other than the one written.
#[test]
fn the_switch_to_an_expiring_cache_loses_no_concurrent_write() {
    let manager = manager();
    let handle = manager.region::<Untimed>().expect("region");
    const WRITERS: u64 = 4;
    const PER_WRITER: u64 = 5_000;
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let handle = &handle;
            scope.spawn(move || {
                for n in 0..PER_WRITER {
                    if writer == 0 && n == PER_WRITER / 2 {
                        // The switch, half-way through the writes.
                        assert!(handle.insert_with_ttl_blocking(
                            u64::MAX,
                            1,
                            Duration::from_secs(3600)
                        ));
                    }
                    let key = writer * PER_WRITER + n;
                    assert!(handle.insert_blocking(key, key * 3));
                    // Read back something written earlier by this thread.
                    let earlier = writer * PER_WRITER + n / 2;
                    assert_eq!(handle.get_blocking(&earlier), Some(earlier * 3));
                }
            });
        }
    });
    for key in 0..WRITERS * PER_WRITER {
        assert_eq!(
            handle.get_blocking(&key),
            Some(key * 3),
            "key {key} after the switch"
        );
    }
    assert_eq!(handle.get_blocking(&u64::MAX), Some(1));
    handle.run_pending_tasks();
    assert_eq!(handle.len(), Some(WRITERS * PER_WRITER + 1));
    assert_eq!(handle.snapshot().evictions.size, 0);
}
