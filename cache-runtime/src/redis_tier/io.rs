//! [`Io`]: the Redis tier's own thread, a current-thread tokio runtime that
//! drives the connections, their timers and the backplane.
//!
//! A `redis` connection spawns a driver task on the runtime that opens it,
//! and its response timeouts are tokio timers. Owning the runtime makes the
//! tier independent of the caller's: async callers on any executor, and
//! blocking callers on plain threads, reach Redis the same way. Each
//! operation is polled on the caller's task inside [`Io::enter`] (the I/O
//! thread's context is entered for the length of each poll): no task is
//! spawned per operation, and the operation's future stays inline (no
//! allocation). What remains is the hop between the caller's thread and
//! the driver's, both ways: a raw `GET` whose connection is driven on
//! another thread takes x1.55-1.60 the time of one driven on the caller's
//! (loopback, `scripts/bench-redis.sh`). So an operation awaited on a tokio
//! runtime that has its drivers is driven on that runtime instead, on a
//! connection of its own (`local.rs`); blocking calls and other executors
//! come here. [`Io::on`] drives the whole tier on one given runtime
//! (`RedisConfig::runtime`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use super::local::Locals;

/// The I/O thread and a handle on its runtime. Dropping it stops the
/// runtime (its connections close) and joins the thread.
pub(crate) struct Io {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io").finish_non_exhaustive()
    }
}

impl Io {
    /// Drives the tier on `handle`'s runtime (no thread of its own).
    pub(crate) fn on(handle: Handle) -> Io {
        Io {
            handle,
            stop: None,
            thread: None,
        }
    }

    /// Starts the thread (`cache-redis-io`).
    ///
    /// # Errors
    ///
    /// The operating system's, when the runtime or the thread cannot be made.
    pub(crate) fn start() -> std::io::Result<Io> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("cache-redis-io".into())
            .spawn(move || {
                // Runs spawned tasks (connection drivers, the backplane)
                // and the timers until the `Io` is dropped.
                let _ = runtime.block_on(stopped);
                runtime.shutdown_background();
            })?;
        Ok(Io {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Spawns a long-running task (the backplane) on the I/O thread.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }

    /// `future`, polled with the I/O runtime's context entered: what
    /// every Redis operation runs in, wherever it is awaited. With
    /// `locals`, an operation whose first poll is on a runtime they accept
    /// is left in that runtime's context instead (see `local.rs`), for all
    /// of its polls: a tokio task never moves to another runtime.
    pub(crate) fn enter<'a, F: Future>(
        &'a self,
        locals: Option<&'a Locals>,
        future: F,
    ) -> InIo<'a, F> {
        InIo {
            io: self,
            locals,
            on_caller: None,
            future,
        }
    }

    /// The handle of the runtime the tier's tasks run on.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

pin_project_lite::pin_project! {
    /// A future polled inside the I/O runtime's context (see [`Io::enter`]),
    /// kept inline: no allocation per operation.
    pub(crate) struct InIo<'a, F> {
        io: &'a Io,
        locals: Option<&'a Locals>,
        // Whether the caller's runtime drives this operation, decided at
        // its first poll.
        on_caller: Option<bool>,
        #[pin]
        future: F,
    }
}

impl<'a, F: Future> InIo<'a, F> {
    /// This operation with its output passed through `map` (no async block
    /// of its own around it).
    pub(crate) fn map<T, M: FnOnce(F::Output) -> T>(self, map: M) -> Map<InIo<'a, F>, M> {
        Map {
            future: self,
            map: Some(map),
        }
    }
}

pin_project_lite::pin_project! {
    /// A future whose output goes through a function (see [`InIo::map`]).
    pub(crate) struct Map<F, M> {
        #[pin]
        future: F,
        map: Option<M>,
    }
}

impl<F: Future, M: FnOnce(F::Output) -> T, T> Future for Map<F, M> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        let map = this.map.take().expect("`Map` polled after it was ready");
        Poll::Ready(map(output))
    }
}

impl<F: Future> Future for InIo<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let io = *this.io;
        let on_caller = *this.on_caller.get_or_insert_with(|| {
            this.locals
                .is_some_and(|locals| locals.usable_runtime(&io.handle).is_some())
        });
        if on_caller {
            // The caller's runtime drives this operation's connection.
            return this.future.poll(cx);
        }
        let _entered = io.handle.enter();
        this.future.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn timers_run_for_blocking_callers() {
        let io = Io::start().expect("runtime");
        let start = Instant::now();
        let slept = crate::block_on::block_on(io.enter(None, async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        }));
        assert_eq!(slept, 7);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn timeouts_run_for_callers_on_another_runtime() {
        let io = Io::start().expect("runtime");
        // A runtime without a time driver: only the I/O thread's can fire.
        let other = Builder::new_current_thread().build().expect("runtime");
        let outcome = other.block_on(io.enter(None, async {
            tokio::time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await
        }));
        assert!(outcome.is_err(), "the timeout fired");
    }

    #[test]
    fn spawned_tasks_run_and_stop_with_the_io() {
        let io = Io::start().expect("runtime");
        let (tx, rx) = std::sync::mpsc::channel();
        io.spawn(async move {
            let _ = tx.send(thread::current().name().map(str::to_owned));
        });
        let name = rx.recv_timeout(Duration::from_secs(5)).expect("task ran");
        assert_eq!(name.as_deref(), Some("cache-redis-io"));
        drop(io);
    }
}
