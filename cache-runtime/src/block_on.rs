//! [`block_on`]: the `_blocking` forms' executor — the calling thread polls
//! a future, parking until it is woken. Memory and disk operations finish
//! on the first poll; Redis operations are driven by the Redis tier's own
//! I/O thread, which wakes this one.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: polls `future` on this thread, parking until woken.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    // The Redis tier then keeps off the connection of the runtime this
    // thread may belong to: this thread blocks it.
    #[cfg(feature = "redis")]
    let _blocking = crate::redis_tier::BlockingCall::enter();
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
