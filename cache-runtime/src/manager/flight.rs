//! Single flight: one loader per key, however many callers miss on it at once.
//!
//! A region's [`Flights`] maps `(key, error type)` to the load in progress
//! for it. The first caller to miss becomes the flight's *leader*: it runs the
//! loader, hands the value to `store` (where the manager inserts it into the
//! cache), and only then takes the flight off the map and publishes the value
//! to the callers that arrived meanwhile, the *waiters*. An error is shared
//! the same way (every waiter gets the leader's `Arc`) but is not kept: the
//! next caller after the flight lands starts a new load.
//!
//! # Why `check` runs under the map lock
//!
//! A caller's `check` (its cache lookup) runs while it holds the map lock,
//! just before it looks for a flight. A leader calls `store` before it takes
//! its flight off the map, and taking it off needs the same lock, so a caller
//! either finds the flight (and joins it) or finds the stored value: there is
//! no moment at which it could see neither and start a second load. Checking
//! without the lock would leave that window open (miss, then the flight
//! lands, then no flight is found). `check` should therefore be a cheap
//! lookup; a manager does its lock-free lookup first and calls into
//! [`Flights`] only on a miss, so the map lock is taken on misses only.
//!
//! # Cancellation and panics
//!
//! The leader's future can be dropped at any await (a timeout, an aborted
//! task), and the loader or `store` can panic. A drop guard then takes the
//! flight off the map, marks it abandoned and wakes its waiters, which start
//! over: they `check` again, one of them leads a new flight, and the others
//! join it. A waiter that is cancelled itself just goes away.
//!
//! No lock is held while user code runs other than `check` (and the key's and
//! value's `Hash`, `Eq` and `Clone`), so a panic cannot leave anything half
//! done; a lock poisoned by such a panic is recovered with
//! [`PoisonError::into_inner`], since the data behind it is still consistent.
//!
//! # Waiting
//!
//! Async waiters wait on a [`Notify`], blocking waiters on a [`Condvar`], both
//! on the same flight, so a blocking caller can join an async leader and the
//! other way round. A caller must not ask for the key it is loading from
//! within its own loader or `store` (it would wait for itself), nor call into
//! the same [`Flights`] from `check`.

use std::any::{Any, TypeId};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// In-flight loads of one cache region, so that exactly one loader runs per
/// key however many callers ask for it at once.
///
/// Flights are keyed by the key and the loader's error type: callers whose
/// loaders fail with different types never join each other (an infallible
/// caller uses [`Infallible`](std::convert::Infallible)).
pub(crate) struct Flights<K, V> {
    /// The flights in progress, each with its leader.
    map: Mutex<FlightMap<K, V>>,
}

/// How a caller got its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<V> {
    /// `check` found it: no flight was started or joined.
    Cached(V),
    /// This caller led the flight: it ran the loader and `store`.
    Loaded(V),
    /// This caller waited for another caller's flight.
    Joined(V),
}

impl<V> Outcome<V> {
    /// The value, however it was obtained.
    #[cfg(test)]
    pub(crate) fn into_value(self) -> V {
        match self {
            Self::Cached(value) | Self::Loaded(value) | Self::Joined(value) => value,
        }
    }
}

/// The map behind [`Flights`].
type FlightMap<K, V> = HashMap<FlightKey<K>, Arc<Flight<V>>>;

/// A loader's error with its type erased, as a flight keeps it for its
/// waiters; they downcast it back (the flight's key holds its [`TypeId`]).
type ErasedError = Arc<dyn Any + Send + Sync>;

/// What identifies a flight: the key and the [`TypeId`] of the loader's error.
#[derive(PartialEq, Eq)]
struct FlightKey<K> {
    /// The cache key.
    key: K,
    /// The [`TypeId`] of the loader's error type.
    error: TypeId,
}

/// A flight's identity, owned ([`FlightKey`]) or borrowed (`(&K, TypeId)`),
/// so that the map can be searched without cloning the key.
trait KeyView<K> {
    /// The cache key.
    fn key(&self) -> &K;
    /// The [`TypeId`] of the loader's error type.
    fn error(&self) -> TypeId;
}

impl<K> KeyView<K> for FlightKey<K> {
    fn key(&self) -> &K {
        &self.key
    }

    fn error(&self) -> TypeId {
        self.error
    }
}

impl<K> KeyView<K> for (&K, TypeId) {
    fn key(&self) -> &K {
        self.0
    }

    fn error(&self) -> TypeId {
        self.1
    }
}

/// Hashes a flight's identity: the one function behind both `Hash` impls, as
/// [`Borrow`] requires the owned and the borrowed form to hash alike.
fn hash_flight<K: Hash, H: Hasher>(key: &K, error: TypeId, state: &mut H) {
    key.hash(state);
    error.hash(state);
}

impl<K: Hash> Hash for FlightKey<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_flight(&self.key, self.error, state);
    }
}

impl<K: Hash> Hash for dyn KeyView<K> + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_flight(self.key(), self.error(), state);
    }
}

impl<K: PartialEq> PartialEq for dyn KeyView<K> + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.error() == other.error() && self.key() == other.key()
    }
}

impl<K: Eq> Eq for dyn KeyView<K> + '_ {}

impl<'a, K: 'a> Borrow<dyn KeyView<K> + 'a> for FlightKey<K> {
    fn borrow(&self) -> &(dyn KeyView<K> + 'a) {
        self
    }
}

/// One load in progress, shared by its leader, the map and its waiters.
struct Flight<V> {
    /// Where the flight stands.
    state: Mutex<State<V>>,
    /// Wakes async waiters when the flight lands.
    landed: Notify,
    /// Wakes blocking waiters when the flight lands.
    landed_blocking: Condvar,
}

/// Where a flight stands.
enum State<V> {
    /// The leader is loading.
    Running,
    /// The loader succeeded and the value was stored.
    Loaded(V),
    /// The loader failed: an `Arc<E>` for the flight's error type `E`.
    Failed(ErasedError),
    /// The leader went away (cancelled, or its loader or `store` panicked)
    /// without an outcome: waiters start over.
    Abandoned,
}

/// What a waiter finds once its flight has landed.
enum Landing<V> {
    /// The leader's value.
    Loaded(V),
    /// The leader's error.
    Failed(ErasedError),
    /// No outcome: start over.
    Abandoned,
}

impl<V: Clone> Flight<V> {
    /// A flight whose leader is loading.
    fn new() -> Self {
        Self {
            state: Mutex::new(State::Running),
            landed: Notify::new(),
            landed_blocking: Condvar::new(),
        }
    }

    /// How the flight landed, or `None` while it is still running.
    fn landing(state: &State<V>) -> Option<Landing<V>> {
        match state {
            State::Running => None,
            State::Loaded(value) => Some(Landing::Loaded(value.clone())),
            State::Failed(error) => Some(Landing::Failed(Arc::clone(error))),
            State::Abandoned => Some(Landing::Abandoned),
        }
    }

    /// Waits, asynchronously, for the flight to land.
    async fn wait(&self) -> Landing<V> {
        loop {
            // Register before looking at the state: a landing after the look
            // then wakes this waiter, one before it is seen by the look.
            let mut landed = pin!(self.landed.notified());
            landed.as_mut().enable();
            if let Some(landing) = Self::landing(&lock(&self.state)) {
                return landing;
            }
            landed.await;
        }
    }

    /// Waits, blocking the thread, for the flight to land.
    fn wait_blocking(&self) -> Landing<V> {
        let mut state = lock(&self.state);
        loop {
            if let Some(landing) = Self::landing(&state) {
                return landing;
            }
            state = self
                .landed_blocking
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Records how the flight landed and wakes every waiter.
    fn land(&self, landing: State<V>) {
        *lock(&self.state) = landing;
        self.landed_blocking.notify_all();
        self.landed.notify_waiters();
    }
}

/// The leader's hold on its flight. Dropping it before [`finish`] (the
/// leader's future was dropped, or the loader or `store` panicked) takes the
/// flight off the map and lands it as abandoned, so that no waiter is left
/// waiting.
///
/// [`finish`]: Self::finish
struct Leader<'a, K: Hash + Eq, V: Clone> {
    /// The map the flight is on.
    map: &'a Mutex<FlightMap<K, V>>,
    /// The flight's key.
    key: &'a K,
    /// The [`TypeId`] of the loader's error type.
    error: TypeId,
    /// The flight.
    flight: Arc<Flight<V>>,
    /// Whether the flight is still on the map (then the map's entry for the
    /// key is this flight: only its leader takes it off).
    on_map: bool,
    /// Whether the flight has landed with an outcome.
    landed: bool,
}

impl<K: Hash + Eq, V: Clone> Leader<'_, K, V> {
    /// Hands `result` to the caller, and to the waiters through the flight:
    /// on success, after calling `store` with the value; on failure, as a
    /// shared `Arc<E>`.
    fn finish<E: Send + Sync + 'static>(
        mut self,
        result: Result<V, E>,
        store: impl FnOnce(&V),
    ) -> Result<Outcome<V>, Arc<E>> {
        match result {
            Ok(value) => {
                // Stored before the flight leaves the map: see the module docs.
                store(&value);
                self.land(|| State::Loaded(value.clone()));
                Ok(Outcome::Loaded(value))
            }
            Err(error) => {
                let error = Arc::new(error);
                self.land(|| State::Failed(Arc::clone(&error) as ErasedError));
                Err(error)
            }
        }
    }

    /// Takes the flight off the map and, if anyone waits on it, lands it with
    /// `landing`. The value is thus cloned only when there are waiters.
    fn land(&mut self, landing: impl FnOnce() -> State<V>) {
        if self.take_off() {
            self.flight.land(landing());
        }
        self.landed = true;
    }

    /// Takes the flight off the map (if it still is on it) and tells whether
    /// waiters hold it. Once it is off the map nobody else can get hold of
    /// it, so a count of one (the leader's) means that no waiter will read it.
    fn take_off(&mut self) -> bool {
        if self.on_map {
            let removed = lock(self.map).remove_entry(&(self.key, self.error) as &dyn KeyView<K>);
            self.on_map = false;
            debug_assert!(
                removed
                    .as_ref()
                    .is_some_and(|(_, flight)| Arc::ptr_eq(flight, &self.flight)),
                "a flight is taken off the map by its leader only"
            );
            // The key and the map's reference are dropped here, unlocked.
            drop(removed);
        }
        Arc::strong_count(&self.flight) > 1
    }
}

impl<K: Hash + Eq, V: Clone> Drop for Leader<'_, K, V> {
    fn drop(&mut self) {
        if !self.landed && self.take_off() {
            self.flight.land(State::Abandoned);
        }
    }
}

/// What a caller does after looking at the cache and the map.
enum Boarding<'a, K: Hash + Eq, V: Clone> {
    /// `check` found the value.
    Cached(V),
    /// Another caller's flight is loading it: wait for it.
    Join(Arc<Flight<V>>),
    /// A new flight was started: load it.
    Lead(Leader<'a, K, V>),
}

impl<K, V> Flights<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// No flights.
    pub(crate) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Gets the value of `key`, running `load` only if no other caller is
    /// already loading it.
    ///
    /// Under the map lock, `check` is called first (see the module docs for
    /// why there); if it returns a value, that is the outcome
    /// ([`Outcome::Cached`]). Otherwise, if a flight for `key` and the error
    /// type `E` is in progress, this caller waits for it
    /// ([`Outcome::Joined`], or the flight's error). Otherwise this caller
    /// leads a new flight: it awaits `load()`, calls `store` with the value
    /// ([`Outcome::Loaded`]) before the flight ends, and publishes the value,
    /// or the error as one `Arc` shared with every waiter, to the flight's
    /// waiters. Errors are not kept: the next caller after the flight loads
    /// again.
    ///
    /// If the flight being waited for is abandoned (its leader was cancelled
    /// or panicked), the caller starts over, calling `check` again; `load`
    /// and `store` are called at most once. Dropping the returned future is
    /// safe at any await: a leader's flight is then abandoned.
    pub(crate) async fn run<E, Fut>(
        &self,
        key: &K,
        mut check: impl FnMut() -> Option<V>,
        load: impl FnOnce() -> Fut,
        store: impl FnOnce(&V),
    ) -> Result<Outcome<V>, Arc<E>>
    where
        E: Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>>,
    {
        loop {
            let flight = match self.board::<E>(key, &mut check) {
                Boarding::Cached(value) => return Ok(Outcome::Cached(value)),
                Boarding::Join(flight) => flight,
                Boarding::Lead(leader) => return leader.finish(load().await, store),
            };
            match flight.wait().await {
                Landing::Loaded(value) => return Ok(Outcome::Joined(value)),
                Landing::Failed(error) => return Err(downcast(error)),
                Landing::Abandoned => {}
            }
        }
    }

    /// [`run`](Self::run) for synchronous callers: the loader is a plain
    /// function, and waiting for another caller's flight (async or blocking)
    /// blocks the thread. Not to be called from an async task (use
    /// `spawn_blocking`, or [`run`](Self::run)).
    pub(crate) fn run_blocking<E>(
        &self,
        key: &K,
        mut check: impl FnMut() -> Option<V>,
        load: impl FnOnce() -> Result<V, E>,
        store: impl FnOnce(&V),
    ) -> Result<Outcome<V>, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        loop {
            let flight = match self.board::<E>(key, &mut check) {
                Boarding::Cached(value) => return Ok(Outcome::Cached(value)),
                Boarding::Join(flight) => flight,
                Boarding::Lead(leader) => return leader.finish(load(), store),
            };
            match flight.wait_blocking() {
                Landing::Loaded(value) => return Ok(Outcome::Joined(value)),
                Landing::Failed(error) => return Err(downcast(error)),
                Landing::Abandoned => {}
            }
        }
    }

    /// Number of flights in progress.
    pub(crate) fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// Under the map lock: calls `check`, then joins the flight for `key`
    /// and `E` or starts one. The only allocations are a new flight and its
    /// map entry.
    fn board<'a, E: 'static>(
        &'a self,
        key: &'a K,
        check: &mut impl FnMut() -> Option<V>,
    ) -> Boarding<'a, K, V> {
        let error = TypeId::of::<E>();
        let mut map = lock(&self.map);
        if let Some(value) = check() {
            return Boarding::Cached(value);
        }
        if let Some(flight) = map.get(&(key, error) as &dyn KeyView<K>) {
            return Boarding::Join(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::new());
        map.insert(
            FlightKey {
                key: key.clone(),
                error,
            },
            Arc::clone(&flight),
        );
        drop(map);
        // Made once the lock is released: its drop takes the lock.
        Boarding::Lead(Leader {
            map: &self.map,
            key,
            error,
            flight,
            on_map: true,
            landed: false,
        })
    }
}

impl<K, V> Default for Flights<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for Flights<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flights")
            .field("in_flight", &lock(&self.map).len())
            .finish()
    }
}

/// Locks `mutex`, recovering it if a panic poisoned it: no lock here is held
/// across a step that a panic could leave half done.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives a waiter back the leader's error as the `Arc<E>` it was made as.
fn downcast<E: Send + Sync + 'static>(error: ErasedError) -> Arc<E> {
    match error.downcast::<E>() {
        Ok(error) => error,
        // Waiters join only flights keyed by the `TypeId` of their own `E`.
        Err(_) => unreachable!("a flight's error has the type its key names"),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    use tokio::task::{JoinHandle, spawn_blocking};

    use super::*;

    /// How long anything may take before a test calls it hung.
    const HANG: Duration = Duration::from_secs(20);

    /// Awaits `future`, failing the test if it takes longer than [`HANG`].
    async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
        match tokio::time::timeout(HANG, future).await {
            Ok(output) => output,
            Err(_) => panic!("{what} hung"),
        }
    }

    /// Waits (bounded) until `ready` holds.
    async fn until(what: &str, ready: impl Fn() -> bool) {
        bounded(what, async {
            while !ready() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
    }

    impl<K, V> Flights<K, V>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        /// References to the flight for `key` and `E`: the map's, the
        /// leader's and one per waiter; 0 without a flight.
        fn holders<E: 'static>(&self, key: &K) -> usize {
            lock(&self.map)
                .get(&(key, TypeId::of::<E>()) as &dyn KeyView<K>)
                .map_or(0, Arc::strong_count)
        }
    }

    /// A gate that loaders pass once the test opens it.
    #[derive(Default)]
    struct Gate {
        /// Whether it is open.
        open: Mutex<bool>,
        /// Wakes blocking passers.
        opened: Condvar,
        /// Wakes async passers.
        opened_async: Notify,
    }

    impl Gate {
        /// Opens the gate for good.
        fn open(&self) {
            *lock(&self.open) = true;
            self.opened.notify_all();
            self.opened_async.notify_waiters();
        }

        /// Waits, asynchronously, until the gate is open.
        async fn pass(&self) {
            loop {
                let mut opened = pin!(self.opened_async.notified());
                opened.as_mut().enable();
                if *lock(&self.open) {
                    return;
                }
                opened.await;
            }
        }

        /// Waits, blocking, until the gate is open.
        fn pass_blocking(&self) {
            let open = lock(&self.open);
            let _open = self
                .opened
                .wait_while(open, |open| !*open)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A test error type.
    #[derive(Debug)]
    struct Boom;

    /// Another test error type.
    #[derive(Debug)]
    struct OtherError;

    /// The result of an infallible `u64` caller.
    type Got = Result<Outcome<u64>, Arc<Infallible>>;

    /// Awaits every caller and returns their values and how many led a load.
    async fn collect(callers: Vec<JoinHandle<Got>>) -> (Vec<u64>, usize) {
        let mut values = Vec::with_capacity(callers.len());
        let mut loaded = 0;
        for caller in callers {
            let outcome = bounded("a caller", caller)
                .await
                .expect("caller task failed")
                .expect("infallible");
            if matches!(outcome, Outcome::Loaded(_)) {
                loaded += 1;
            }
            values.push(outcome.into_value());
        }
        (values, loaded)
    }

    /// What the first load of a [`Rig`] does.
    #[derive(Clone, Copy)]
    enum First {
        /// Never finishes.
        Hangs,
        /// Panics once the gate opens.
        Panics,
    }

    /// Callers of key 1 backed by a cache slot; load `n` yields `n`, except
    /// that the first one never succeeds.
    #[derive(Clone, Default)]
    struct Rig {
        /// The flights.
        flights: Arc<Flights<u32, u64>>,
        /// The cache `check` reads and `store` writes.
        cache: Arc<Mutex<Option<u64>>>,
        /// Loads started.
        loads: Arc<AtomicUsize>,
        /// What the first load waits for.
        gate: Arc<Gate>,
    }

    impl Rig {
        /// Gets key 1.
        async fn get(&self, first: First) -> Got {
            self.flights
                .run(
                    &1,
                    || *lock(&self.cache),
                    || async {
                        let n = self.loads.fetch_add(1, SeqCst) + 1;
                        if n == 1 {
                            match first {
                                First::Hangs => std::future::pending::<()>().await,
                                First::Panics => {
                                    self.gate.pass().await;
                                    panic!("the loader panics");
                                }
                            }
                        }
                        Ok(n as u64)
                    },
                    |value| *lock(&self.cache) = Some(*value),
                )
                .await
        }

        /// Gets key 1 in a task.
        fn spawn(&self, first: First) -> JoinHandle<Got> {
            let rig = self.clone();
            tokio::spawn(async move { rig.get(first).await })
        }

        /// References to the flight of key 1.
        fn holders(&self) -> usize {
            self.flights.holders::<Infallible>(&1)
        }

        /// Checks that `waiters` all got the second load's value, one of
        /// them by leading it, and that nothing is left.
        async fn check_handover(&self, waiters: Vec<JoinHandle<Got>>) {
            let (values, loaded) = collect(waiters).await;
            assert!(values.iter().all(|&value| value == 2), "{values:?}");
            assert_eq!(loaded, 1);
            assert_eq!(self.loads.load(SeqCst), 2);
            assert_eq!(self.flights.len(), 0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_thousand_async_callers_share_one_load() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let loads = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let callers: Vec<_> = (0..1000)
            .map(|_| {
                let (flights, loads, gate) = (flights.clone(), loads.clone(), gate.clone());
                tokio::spawn(async move {
                    let load = || async {
                        loads.fetch_add(1, SeqCst);
                        gate.pass().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(42)
                    };
                    flights.run(&7, || None, load, |_| {}).await
                })
            })
            .collect();
        until("the callers", || flights.holders::<Infallible>(&7) == 1001).await;
        gate.open();
        let (values, loaded) = collect(callers).await;
        assert!(values.iter().all(|&value| value == 42));
        assert_eq!(loaded, 1);
        assert_eq!(loads.load(SeqCst), 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_aborted_leader_hands_over_to_a_waiter() {
        let rig = Rig::default();
        let leader = rig.spawn(First::Hangs);
        until("the leader", || rig.holders() == 2).await;
        let waiters: Vec<_> = (0..50).map(|_| rig.spawn(First::Hangs)).collect();
        until("the waiters", || rig.holders() == 52).await;
        leader.abort();
        let error = bounded("the leader", leader).await.expect_err("aborted");
        assert!(error.is_cancelled());
        rig.check_handover(waiters).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_timed_out_leader_hands_over_to_a_waiter() {
        let rig = Rig::default();
        let leader = {
            let rig = rig.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_millis(200), rig.get(First::Hangs)).await
            })
        };
        until("the leader", || rig.holders() == 2).await;
        // Waiters that arrive after the timeout lead or join the second
        // load, or find its value: the outcome is the same.
        let waiters: Vec<_> = (0..50).map(|_| rig.spawn(First::Hangs)).collect();
        let timed_out = bounded("the leader", leader).await.expect("leader task");
        assert!(timed_out.is_err(), "the first load never finishes");
        rig.check_handover(waiters).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_panicking_loader_hands_over_to_a_waiter() {
        let rig = Rig::default();
        let leader = rig.spawn(First::Panics);
        until("the leader", || rig.holders() == 2).await;
        let waiters: Vec<_> = (0..20).map(|_| rig.spawn(First::Panics)).collect();
        until("the waiters", || rig.holders() == 22).await;
        rig.gate.open();
        let error = bounded("the leader", leader).await.expect_err("panicked");
        assert!(error.is_panic());
        rig.check_handover(waiters).await;

        // Nothing was left poisoned or stuck.
        let cached = rig.get(First::Panics).await.expect("infallible");
        assert_eq!(cached, Outcome::Cached(2));
        let fresh = rig
            .flights
            .run::<Infallible, _>(&1, || None, || async { Ok(9) }, |_| {});
        let fresh = bounded("a later load", fresh).await.expect("infallible");
        assert_eq!(fresh, Outcome::Loaded(9));
        let flights = rig.flights.clone();
        let blocking = spawn_blocking(move || {
            flights.run_blocking::<Infallible>(&1, || None, || Ok(10), |_| {})
        });
        let blocking = bounded("a blocking load", blocking)
            .await
            .expect("no panic");
        assert_eq!(blocking.expect("infallible"), Outcome::Loaded(10));
        assert_eq!(rig.flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_panicking_store_hands_over_to_a_waiter() {
        let rig = Rig::default();
        let leader = {
            let rig = rig.clone();
            std::thread::spawn(move || {
                rig.flights.run_blocking::<Infallible>(
                    &1,
                    || None,
                    || {
                        rig.loads.fetch_add(1, SeqCst);
                        rig.gate.pass_blocking();
                        Ok(1)
                    },
                    |_| panic!("store panics"),
                )
            })
        };
        until("the leader", || rig.holders() == 2).await;
        let waiters: Vec<_> = (0..20).map(|_| rig.spawn(First::Hangs)).collect();
        until("the waiters", || rig.holders() == 22).await;
        rig.gate.open();
        let joined = bounded("the leader", spawn_blocking(move || leader.join())).await;
        assert!(joined.expect("join task").is_err(), "the leader panicked");
        rig.check_handover(waiters).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn errors_are_shared_but_not_kept() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let loads = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let get = {
            let (flights, loads, gate) = (flights.clone(), loads.clone(), gate.clone());
            move || {
                let (flights, loads, gate) = (flights.clone(), loads.clone(), gate.clone());
                tokio::spawn(async move {
                    let load = || async {
                        loads.fetch_add(1, SeqCst);
                        gate.pass().await;
                        Err(Boom)
                    };
                    flights.run(&3, || None, load, |_| {}).await
                })
            }
        };
        let callers: Vec<_> = (0..100).map(|_| get()).collect();
        until("the callers", || flights.holders::<Boom>(&3) == 101).await;
        gate.open();
        let mut errors = Vec::new();
        for caller in callers {
            let result = bounded("a caller", caller).await.expect("caller task");
            errors.push(result.expect_err("the load fails"));
        }
        assert!(errors.iter().all(|error| Arc::ptr_eq(error, &errors[0])));
        assert_eq!(loads.load(SeqCst), 1);
        assert_eq!(flights.len(), 0);

        let again = bounded("the next caller", get())
            .await
            .expect("caller task");
        let again = again.expect_err("the load fails");
        assert!(!Arc::ptr_eq(&again, &errors[0]));
        assert_eq!(loads.load(SeqCst), 2);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn different_error_types_do_not_join() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let gate = Arc::new(Gate::default());
        let first = {
            let (flights, gate) = (flights.clone(), gate.clone());
            tokio::spawn(async move {
                let load = || async {
                    gate.pass().await;
                    Ok::<_, Boom>(1)
                };
                flights.run(&5, || None, load, |_| {}).await
            })
        };
        until("the first flight", || flights.holders::<Boom>(&5) == 2).await;

        // Joining the gated flight would hang.
        let load = || async {
            assert_eq!(flights.len(), 2);
            Ok::<_, OtherError>(2)
        };
        let other = flights.run(&5, || None, load, |_| {});
        let other = bounded("the second flight", other).await;
        assert_eq!(other.expect("loads"), Outcome::Loaded(2));
        let blocking = {
            let flights = flights.clone();
            spawn_blocking(move || {
                flights.run_blocking::<Infallible>(&5, || None, || Ok(3), |_| {})
            })
        };
        let blocking = bounded("the third flight", blocking)
            .await
            .expect("no panic");
        assert_eq!(blocking.expect("infallible"), Outcome::Loaded(3));
        assert_eq!(flights.len(), 1);

        gate.open();
        let first = bounded("the first flight", first).await.expect("task");
        assert_eq!(first.expect("loads"), Outcome::Loaded(1));
        assert_eq!(flights.len(), 0);
    }

    /// Gets key 6 in a blocking task, with a loader that must not run.
    fn spawn_blocking_waiter(flights: &Arc<Flights<u32, u64>>) -> JoinHandle<Got> {
        let flights = flights.clone();
        spawn_blocking(move || flights.run_blocking(&6, || None, || unreachable!("joins"), |_| {}))
    }

    /// Gets key 6 in a task, with a loader that must not run.
    fn spawn_async_waiter(flights: &Arc<Flights<u32, u64>>) -> JoinHandle<Got> {
        let flights = flights.clone();
        tokio::spawn(async move {
            let load = || async { unreachable!("joins") };
            flights.run(&6, || None, load, |_| {}).await
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn blocking_callers_join_an_async_leader() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let gate = Arc::new(Gate::default());
        let leader = {
            let (flights, gate) = (flights.clone(), gate.clone());
            tokio::spawn(async move {
                let load = || async {
                    gate.pass().await;
                    Ok(6)
                };
                flights.run(&6, || None, load, |_| {}).await
            })
        };
        until("the leader", || flights.holders::<Infallible>(&6) == 2).await;
        let mut callers = vec![leader];
        callers.extend((0..8).map(|_| spawn_blocking_waiter(&flights)));
        callers.extend((0..8).map(|_| spawn_async_waiter(&flights)));
        until("the waiters", || flights.holders::<Infallible>(&6) == 18).await;
        gate.open();
        let (values, loaded) = collect(callers).await;
        assert!(values.iter().all(|&value| value == 6));
        assert_eq!(loaded, 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn async_callers_join_a_blocking_leader() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let gate = Arc::new(Gate::default());
        let leader = {
            let (flights, gate) = (flights.clone(), gate.clone());
            let load = move || {
                gate.pass_blocking();
                Ok(7)
            };
            let leader =
                std::thread::spawn(move || flights.run_blocking(&6, || None, load, |_| {}));
            spawn_blocking(move || leader.join().expect("the leader does not panic"))
        };
        until("the leader", || flights.holders::<Infallible>(&6) == 2).await;
        let mut callers = vec![leader];
        callers.extend((0..8).map(|_| spawn_async_waiter(&flights)));
        callers.extend((0..4).map(|_| spawn_blocking_waiter(&flights)));
        until("the waiters", || flights.holders::<Infallible>(&6) == 14).await;
        gate.open();
        let (values, loaded) = collect(callers).await;
        assert!(values.iter().all(|&value| value == 7));
        assert_eq!(loaded, 1);
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn check_sees_what_a_landed_flight_stored() {
        const ROUNDS: u64 = 200;
        const TASKS: u64 = 8;
        const KEYS: u64 = 16;
        let flights = Arc::new(Flights::<u64, u64>::new());
        let cache = Arc::new(Mutex::new(HashMap::<u64, u64>::new()));
        let loads = Arc::new(AtomicUsize::new(0));
        for round in 0..ROUNDS {
            lock(&cache).clear();
            let tasks: Vec<JoinHandle<()>> = (0..TASKS)
                .map(|task| {
                    let (flights, cache, loads) = (flights.clone(), cache.clone(), loads.clone());
                    let keys = (0..KEYS).map(move |i| (i + task * 3) % KEYS);
                    let value = move |key: u64| round * 100 + key;
                    if task % 2 == 0 {
                        tokio::spawn(async move {
                            for key in keys {
                                let check = || lock(&cache).get(&key).copied();
                                let load = || async {
                                    loads.fetch_add(1, SeqCst);
                                    tokio::task::yield_now().await;
                                    Ok(value(key))
                                };
                                let store = |got: &u64| {
                                    lock(&cache).insert(key, *got);
                                };
                                let got = flights.run::<Infallible, _>(&key, check, load, store);
                                assert_eq!(got.await.expect("infallible").into_value(), value(key));
                            }
                        })
                    } else {
                        spawn_blocking(move || {
                            for key in keys {
                                let check = || lock(&cache).get(&key).copied();
                                let load = || {
                                    loads.fetch_add(1, SeqCst);
                                    std::thread::yield_now();
                                    Ok(value(key))
                                };
                                let store = |got: &u64| {
                                    lock(&cache).insert(key, *got);
                                };
                                let got =
                                    flights.run_blocking::<Infallible>(&key, check, load, store);
                                assert_eq!(got.expect("infallible").into_value(), value(key));
                            }
                        })
                    }
                })
                .collect();
            for task in tasks {
                bounded("a task", task).await.expect("task");
            }
            // Each key was loaded once in this round, whatever the interleaving.
            assert_eq!(
                loads.load(SeqCst),
                usize::try_from((round + 1) * KEYS).expect("small")
            );
            assert_eq!(flights.len(), 0);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_cancelled_waiter_goes_away() {
        let flights = Arc::new(Flights::<u32, u64>::new());
        let gate = Arc::new(Gate::default());
        let leader = {
            let (flights, gate) = (flights.clone(), gate.clone());
            tokio::spawn(async move {
                let load = || async {
                    gate.pass().await;
                    Ok(8)
                };
                flights.run(&8, || None, load, |_| {}).await
            })
        };
        until("the leader", || flights.holders::<Infallible>(&8) == 2).await;
        let load = || async { unreachable!("joins") };
        let waiter = flights.run::<Infallible, _>(&8, || None, load, |_| {});
        let waited = tokio::time::timeout(Duration::from_millis(20), waiter).await;
        assert!(waited.is_err(), "the flight is held at the gate");
        assert_eq!(flights.holders::<Infallible>(&8), 2);
        gate.open();
        let (values, loaded) = collect(vec![leader]).await;
        assert_eq!((values, loaded), (vec![8], 1));
        assert_eq!(flights.len(), 0);
    }

    #[test]
    fn a_cached_value_skips_the_flight() {
        let flights = Flights::<u32, u64>::new();
        let got = flights.run_blocking::<Infallible>(&1, || Some(5), || unreachable!(), |_| {});
        assert_eq!(got.expect("infallible"), Outcome::Cached(5));
        assert_eq!(flights.len(), 0);
    }

    #[test]
    fn a_panicking_check_poisons_nothing() {
        let flights = Flights::<u32, u64>::new();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            flights.run_blocking::<Infallible>(&1, || panic!("check panics"), || Ok(1), |_| {})
        }));
        assert!(panicked.is_err());
        assert!(flights.map.is_poisoned());
        assert_eq!(flights.len(), 0);
        let got = flights.run_blocking::<Infallible>(&1, || None, || Ok(2), |_| {});
        assert_eq!(got.expect("infallible"), Outcome::Loaded(2));
        assert_eq!(flights.len(), 0);
    }
}
