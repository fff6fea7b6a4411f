//! [`Writers`]: the writers still using a memory level's first cache
//! directly, counted per thread so that the first rebuild can wait for them.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// Per-thread counts of the writers using [`MemoryLevel::first`] directly,
/// so that the first rebuild can wait for them (they pay two uncontended
/// adds on their own cache line; readers pay nothing).
///
/// [`MemoryLevel::first`]: super::MemoryLevel::first
pub(super) struct Writers {
    shards: Box<[Padded]>,
}

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicU64);

/// A writer in flight: leaves its shard when dropped.
pub(super) struct Writing<'a>(&'a AtomicU64);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_INDEX: Cell<u64> = const { Cell::new(u64::MAX) };
}

fn thread_index() -> usize {
    THREAD_INDEX
        .try_with(|index| {
            if index.get() == u64::MAX {
                index.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
            }
            index.get() as usize
        })
        .unwrap_or(0)
}

impl Writers {
    pub(super) fn new() -> Writers {
        let shards = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .saturating_mul(2)
            .next_power_of_two()
            .clamp(2, 64);
        Writers {
            shards: (0..shards).map(|_| Padded::default()).collect(),
        }
    }

    /// Counts this thread in until the guard drops. A flag it loads after
    /// this is seen set, or the [`Writers::drain`] of whoever set it waits
    /// for it (the fences pair up: Dekker).
    pub(super) fn enter(&self) -> Writing<'_> {
        let shard = &self.shards[thread_index() & (self.shards.len() - 1)].0;
        shard.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        Writing(shard)
    }

    /// Waits until every writer that entered before this call has left.
    pub(super) fn drain(&self) {
        fence(Ordering::SeqCst);
        for shard in self.shards.iter() {
            // A shard seen at zero once is enough: a writer that entered
            // before keeps it above zero until it leaves; one entering
            // after sees the flag.
            while shard.0.load(Ordering::SeqCst) != 0 {
                std::thread::yield_now();
            }
        }
    }
}
