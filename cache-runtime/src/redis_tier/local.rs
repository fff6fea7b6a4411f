//! Connections driven by the callers' own tokio runtimes: an operation
//! awaited on a runtime that has its IO and time drivers is sent and
//! answered on a connection whose driver task runs on that same runtime,
//! with no hop to the tier's I/O thread and back (`scripts/bench-redis.sh`
//! measures what the hop costs).
//!
//! Which calls: those polled inside a tokio runtime's context (in a task,
//! or in `Runtime::block_on`) and not from a `_blocking` form. Tokio has no
//! way to ask whether a runtime has its IO and time drivers but to make a
//! timer and a socket, which panics without them: that check runs once per
//! runtime, catches the panic and keeps it from being printed. Every other
//! call — blocking forms, other executors, runtimes without drivers — goes
//! through the I/O thread as before, and so do the tier's own tasks (the
//! backplane, the watchers). [`RedisConfig::io_thread_only`] turns this
//! off.
//!
//! A runtime's connection lives as long as the runtime: a guard task
//! spawned on it marks the entry dead when the runtime shuts down (its
//! tasks are dropped then), and dead entries are forgotten. At most
//! [`MAX_RUNTIMES`] runtimes keep one at a time; calls from more go through
//! the I/O thread.
//!
//! [`RedisConfig::io_thread_only`]: super::RedisConfig::io_thread_only

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use tokio::runtime::{Handle, Id};

use super::connection::Connection;

/// The most runtimes that keep a connection of their own at a time.
pub(crate) const MAX_RUNTIMES: usize = 16;

thread_local! {
    /// Set while this thread runs a `_blocking` call (`crate::block_on`):
    /// it blocks whatever runtime the thread belongs to, so the call must
    /// not wait on that runtime's driver.
    static BLOCKING: Cell<bool> = const { Cell::new(false) };
    /// Set while this thread checks a runtime's drivers: a panic then is
    /// the answer, not news.
    static CHECKING: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as running a blocking call until dropped.
pub(crate) struct BlockingCall {
    was: bool,
}

impl BlockingCall {
    pub(crate) fn enter() -> BlockingCall {
        BlockingCall {
            was: BLOCKING.with(|blocking| blocking.replace(true)),
        }
    }
}

impl Drop for BlockingCall {
    fn drop(&mut self) {
        let was = self.was;
        BLOCKING.with(|blocking| blocking.set(was));
    }
}

/// One runtime's state: whether it has its drivers, its connection once
/// opened, and whether it still runs.
struct Runtime {
    id: Id,
    usable: bool,
    connection: Option<Connection>,
    alive: Arc<AtomicBool>,
}

/// The runtimes seen: at most [`MAX_RUNTIMES`] live ones, found by a scan
/// (no hashing on an operation's path).
#[derive(Default)]
pub(crate) struct Locals {
    runtimes: Mutex<Vec<Runtime>>,
}

impl std::fmt::Debug for Locals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runtimes = self.lock();
        f.debug_struct("Locals")
            .field("runtimes", &runtimes.len())
            .finish()
    }
}

/// Sets an [`AtomicBool`] to false when dropped.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The runtime an operation may be driven on, and its open connection.
pub(crate) struct Local {
    pub(crate) runtime: Handle,
    pub(crate) connection: Option<Connection>,
}

impl Locals {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Runtime>> {
        self.runtimes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The runtime this call may be driven on: the current one when the
    /// call is not blocking, the runtime is not `io` (the I/O thread's or
    /// the configured one) and it has its drivers; `None` otherwise.
    pub(crate) fn usable_runtime(&self, io: &Handle) -> Option<Handle> {
        self.find(io, false).map(|local| local.runtime)
    }

    /// [`Locals::usable_runtime`], with that runtime's connection if one is
    /// open and the runtime runs: one lock for both.
    pub(crate) fn current(&self, io: &Handle) -> Option<Local> {
        self.find(io, true)
    }

    /// The usable runtime, and its connection when `with_connection`.
    #[inline]
    fn find(&self, io: &Handle, with_connection: bool) -> Option<Local> {
        if BLOCKING.with(Cell::get) {
            return None;
        }
        let current = Handle::try_current().ok()?;
        let id = current.id();
        if id == io.id() {
            return None;
        }
        let mut runtimes = self.lock();
        if let Some(runtime) = runtimes.iter().find(|runtime| runtime.id == id) {
            if !runtime.usable {
                return None;
            }
            let connection = runtime
                .connection
                .as_ref()
                .filter(|_| with_connection && runtime.alive.load(Ordering::Acquire))
                .cloned();
            return Some(Local {
                runtime: current,
                connection,
            });
        }
        runtimes.retain(|runtime| runtime.alive.load(Ordering::Acquire));
        if runtimes.len() >= MAX_RUNTIMES {
            return None;
        }
        let usable = drivers_enabled(&current);
        let alive = Arc::new(AtomicBool::new(true));
        let guard = ClearOnDrop(Arc::clone(&alive));
        // Dropped with the runtime's other tasks when it shuts down.
        current.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        runtimes.push(Runtime {
            id,
            usable,
            connection: None,
            alive,
        });
        usable.then_some(Local {
            runtime: current,
            connection: None,
        })
    }

    /// The connection of `runtime`, if one is open and the runtime runs.
    pub(crate) fn connection(&self, runtime: &Handle) -> Option<Connection> {
        let id = runtime.id();
        let runtimes = self.lock();
        let entry = runtimes.iter().find(|entry| entry.id == id)?;
        if !entry.alive.load(Ordering::Acquire) {
            return None;
        }
        entry.connection.clone()
    }

    /// Keeps `connection` as `runtime`'s.
    pub(crate) fn keep(&self, runtime: &Handle, connection: Connection) {
        let id = runtime.id();
        if let Some(entry) = self.lock().iter_mut().find(|entry| entry.id == id) {
            entry.connection = Some(connection);
        }
    }

    /// Forgets every runtime's connection (one broke).
    pub(crate) fn forget(&self) {
        self.lock()
            .iter_mut()
            .for_each(|entry| entry.connection = None);
    }

    /// Whether any runtime's connection is open.
    pub(crate) fn any_open(&self) -> bool {
        self.lock()
            .iter()
            .any(|entry| entry.connection.is_some() && entry.alive.load(Ordering::Acquire))
    }
}

/// Whether `runtime` has its IO and time drivers: making a timer and a
/// socket in its context panics without them (caught, and not printed).
fn drivers_enabled(runtime: &Handle) -> bool {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CHECKING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let _entered = runtime.enter();
    CHECKING.with(|checking| checking.set(true));
    let checked = std::panic::catch_unwind(|| {
        drop(tokio::time::sleep(std::time::Duration::ZERO));
        let socket = std::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        socket.set_nonblocking(true)?;
        tokio::net::UdpSocket::from_std(socket).map(drop)
    });
    CHECKING.with(|checking| checking.set(false));
    matches!(checked, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_without_drivers_are_not_used_and_nothing_is_printed() {
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let locals = Locals::default();
        let bare = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let timers_only = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let full = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        assert!(
            bare.block_on(async { locals.usable_runtime(io.handle()) })
                .is_none()
        );
        assert!(
            timers_only
                .block_on(async { locals.usable_runtime(io.handle()) })
                .is_none()
        );
        assert!(
            full.block_on(async { locals.usable_runtime(io.handle()) })
                .is_some()
        );
        // The I/O runtime itself, a blocking call, and no runtime: no.
        assert!(
            io.block_on(async { locals.usable_runtime(io.handle()) })
                .is_none()
        );
        assert!(
            full.block_on(async {
                let _blocking = BlockingCall::enter();
                locals.usable_runtime(io.handle())
            })
            .is_none()
        );
        assert!(locals.usable_runtime(io.handle()).is_none());
    }

    #[test]
    fn a_runtime_that_shut_down_is_forgotten() {
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let locals = Locals::default();
        for _ in 0..(MAX_RUNTIMES * 2) {
            let short = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            assert!(
                short
                    .block_on(async { locals.usable_runtime(io.handle()) })
                    .is_some(),
                "room for another runtime once the last ones are gone"
            );
            drop(short);
        }
        assert!(locals.lock().len() <= MAX_RUNTIMES);
    }
}
