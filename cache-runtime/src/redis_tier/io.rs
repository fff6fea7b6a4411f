//! [`Io`]: the Redis tier's own thread, a current-thread tokio runtime that
//! drives the connections, their timers and the backplane.
//!
//! A `redis` connection spawns a driver task on the runtime that opens it,
//! and its response timeouts are tokio timers. Owning the runtime makes the
//! tier independent of the caller's: async callers on any executor, and
//! blocking callers on plain threads, reach Redis the same way. Each
//! operation is polled on the caller's task inside [`Io::enter`] (the I/O
//! thread's context is entered for the length of each poll): no task is
//! spawned per operation. What remains is the hop between the caller's
//! thread and the driver's, both ways: about 15-20 % of a loopback round
//! trip (`scripts/bench-redis.sh`). [`Io::on`] drives the tier on the
//! caller's own runtime instead (`RedisConfig::runtime`), which removes it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

    /// `future`, polled with the I/O runtime's context entered: what every
    /// Redis operation runs in, wherever it is awaited. With `locals`, a
    /// poll on a runtime they accept is left in that runtime's context
    /// instead (see `local.rs`).
    pub(crate) fn enter<F: Future>(&self, locals: Option<Arc<Locals>>, future: F) -> InIo<F> {
        InIo {
            handle: self.handle.clone(),
            locals,
            future: Box::pin(future),
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

/// A future polled inside the I/O runtime's context (see [`Io::enter`]).
pub(crate) struct InIo<F> {
    handle: Handle,
    locals: Option<Arc<Locals>>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InIo<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        if let Some(locals) = &this.locals
            && locals.usable_runtime(&this.handle).is_some()
        {
            // The caller's runtime drives this operation's connection.
            return this.future.as_mut().poll(cx);
        }
        let _entered = this.handle.enter();
        this.future.as_mut().poll(cx)
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
