//! [`WriteBehind`]: a [`DiskStore`] whose writes and removals are queued
//! and applied by one worker thread, off the caller's path.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SendError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Glob;
use cache_spec::Codec;

use super::{
    CleanupReport, DiskCursor, DiskEntryPage, DiskError, DiskLookup, DiskStore, Held, expires_at,
};
use crate::envelope::{Decoded, EnvelopeError, check_sizes};

/// A [`DiskStore`] with write-behind: [`put`](WriteBehind::put) and
/// [`remove`](WriteBehind::remove) queue the operation and return; one
/// worker thread encodes and writes in order.
///
/// - **Bounded.** The queue holds `capacity` operations. When it is full,
///   `put` and `remove` block until the worker catches up (backpressure),
///   so memory stays bounded however fast callers write.
/// - **Read your writes.** Queued operations not yet on disk are kept in a
///   pending map that [`get`](WriteBehind::get) consults first.
/// - **Nothing acknowledged is lost** on an orderly stop:
///   [`flush`](WriteBehind::flush) waits until every operation queued
///   before it is on disk, and [`shutdown`](WriteBehind::shutdown) and
///   `Drop` drain the queue before the worker exits. A crash loses the
///   queued operations (never the entries already written).
/// - **Errors are deferred.** A write that fails on the worker (a full
///   disk) is reported by the next `flush` or `shutdown`; the pending value
///   is dropped.
/// - Folder-wide operations (`clear`, `clear_matching`, `entries`, `len`,
///   `cleanup`) first wait for the queue to drain, then act on the folder.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("doc-write-behind-{}", std::process::id()));
/// use cache_runtime::disk::{DiskStore, WriteBehind};
///
/// let disk = WriteBehind::new(DiskStore::open(&dir)?, 1024)?;
/// disk.put(b"k", b"v", None)?; // queued
/// assert_eq!(disk.get(b"k")?, Some(b"v".to_vec())); // read your writes
/// disk.shutdown()?; // everything queued is on disk
/// assert_eq!(DiskStore::open(&dir)?.get(b"k")?, Some(b"v".to_vec()));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), cache_runtime::disk::DiskError>(())
/// ```
pub struct WriteBehind {
    store: Arc<DiskStore>,
    shared: Arc<Shared>,
    /// The sending side, locked across numbering and sending so the worker
    /// sees operations in sequence order.
    sender: Mutex<Sender>,
    worker: Option<JoinHandle<()>>,
}

struct Sender {
    channel: Option<SyncSender<Op>>,
    last_seq: u64,
}

/// What the callers and the worker share.
struct Shared {
    /// Queued operations not yet applied, by key: the latest one wins.
    pending: Mutex<HashMap<Arc<[u8]>, Pending>>,
    /// The sequence number of the last operation handed to the worker.
    enqueued: AtomicU64,
    progress: Mutex<Progress>,
    progressed: Condvar,
    #[cfg(test)]
    gate: test_gate::Gate,
}

struct Pending {
    seq: u64,
    /// `None`: a removal.
    value: Option<PendingValue>,
}

#[derive(Clone)]
struct PendingValue {
    value: Arc<[u8]>,
    written_at_ms: u64,
    expires_at_ms: Option<u64>,
}

#[derive(Default)]
struct Progress {
    /// The sequence number of the last operation applied.
    done: u64,
    /// Failures since the last report, and the first of them.
    failed: u64,
    first_error: Option<DiskError>,
    /// The worker has exited.
    stopped: bool,
}

enum Op {
    Put {
        seq: u64,
        key: Arc<[u8]>,
        value: PendingValue,
    },
    Remove {
        seq: u64,
        key: Arc<[u8]>,
    },
}

impl Op {
    fn apply(&self, store: &DiskStore) -> (u64, &Arc<[u8]>, Result<(), DiskError>) {
        match self {
            Op::Put { seq, key, value } => (
                *seq,
                key,
                store.write_entry(key, &value.value, value.written_at_ms, value.expires_at_ms),
            ),
            Op::Remove { seq, key } => (*seq, key, store.remove(key).map(drop)),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something did, the data
    // is still consistent enough to carry on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WriteBehind {
    /// Starts the worker thread for `store`, with a queue of `capacity`
    /// operations (at least 1).
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the thread cannot be started.
    pub fn new(store: DiskStore, capacity: usize) -> Result<WriteBehind, DiskError> {
        let store = Arc::new(store);
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            enqueued: AtomicU64::new(0),
            progress: Mutex::new(Progress::default()),
            progressed: Condvar::new(),
            #[cfg(test)]
            gate: test_gate::Gate::default(),
        });
        let (channel, queue) = mpsc::sync_channel(capacity.max(1));
        let failed = super::io_error("start the write-behind worker for", store.dir());
        let worker = {
            let store = Arc::clone(&store);
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("cache-disk-writer".into())
                .spawn(move || work(&store, &shared, &queue))
                .map_err(failed)?
        };
        Ok(WriteBehind {
            store,
            shared,
            sender: Mutex::new(Sender {
                channel: Some(channel),
                last_seq: 0,
            }),
            worker: Some(worker),
        })
    }

    /// The underlying store, for reads that need not see queued writes.
    pub fn store(&self) -> &DiskStore {
        &self.store
    }

    /// `key`'s value: a queued write, or what the store holds.
    ///
    /// # Errors
    ///
    /// As [`DiskStore::get`].
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, DiskError> {
        self.lookup(key).map(DiskLookup::into_value)
    }

    /// As [`DiskStore::holds`], queued operations first: a queued write
    /// holds the key, a queued removal does not.
    pub fn holds(&self, key: &[u8]) -> bool {
        match lock(&self.shared.pending).get(key) {
            Some(pending) => pending.value.is_some(),
            None => self.store.holds(key),
        }
    }

    /// As [`DiskStore::lookup`], queued operations first. A queued value is
    /// a hit reported as uncompressed (it is not encoded yet); a queued
    /// removal is [`DiskLookup::Missing`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::lookup`].
    pub fn lookup(&self, key: &[u8]) -> Result<DiskLookup, DiskError> {
        let pending = lock(&self.shared.pending).get(key).map(|p| p.value.clone());
        let Some(pending) = pending else {
            return self.store.lookup(key);
        };
        let Some(pending) = pending else {
            return Ok(DiskLookup::Missing);
        };
        let now_ms = self.store.now_ms();
        if let Some(expires_at_ms) = pending.expires_at_ms
            && now_ms >= expires_at_ms
        {
            return Ok(DiskLookup::Rejected(EnvelopeError::Expired {
                expires_at_ms,
                now_ms,
            }));
        }
        Ok(DiskLookup::Hit(Decoded {
            value: pending.value.to_vec(),
            written_at_ms: pending.written_at_ms,
            expires_at_ms: pending.expires_at_ms,
            compression: Codec::None,
            stored_len: pending.value.len(),
            format: self.store.schema().format(),
        }))
    }

    /// As [`DiskStore::read_held`], queued operations first: a queued
    /// value, whatever its expiry; a queued removal is missing.
    pub(crate) fn read_held(&self, key: &[u8]) -> Result<Held, DiskError> {
        let pending = lock(&self.shared.pending).get(key).map(|p| p.value.clone());
        match pending {
            None => self.store.read_held(key),
            Some(None) => Ok(Held::Missing),
            Some(Some(pending)) => Ok(Held::Intact(pending.value.to_vec())),
        }
    }

    /// Queues `value` for `key`, expiring `ttl` after now (not after the
    /// write); blocks while the queue is full.
    ///
    /// # Errors
    ///
    /// [`DiskError::Encode`] at once for a key or value too large to
    /// persist. Only when the worker has stopped is the write done here,
    /// and its [`DiskError::Io`] returned.
    pub fn put(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<(), DiskError> {
        check_sizes(key, value)?;
        let now = self.store.now_ms();
        let value = PendingValue {
            value: value.into(),
            written_at_ms: now,
            expires_at_ms: expires_at(now, ttl),
        };
        self.enqueue(key.into(), Some(value))
    }

    /// Queues the removal of `key`'s entry; blocks while the queue is full.
    ///
    /// # Errors
    ///
    /// Only when the worker has stopped is the removal done here, and its
    /// [`DiskError::Io`] returned.
    pub fn remove(&self, key: &[u8]) -> Result<(), DiskError> {
        self.enqueue(key.into(), None)
    }

    fn enqueue(&self, key: Arc<[u8]>, value: Option<PendingValue>) -> Result<(), DiskError> {
        let mut sender = lock(&self.sender);
        sender.last_seq += 1;
        let seq = sender.last_seq;
        let op = match &value {
            Some(value) => Op::Put {
                seq,
                key: Arc::clone(&key),
                value: value.clone(),
            },
            None => Op::Remove {
                seq,
                key: Arc::clone(&key),
            },
        };
        lock(&self.shared.pending).insert(Arc::clone(&key), Pending { seq, value });
        let op = match &sender.channel {
            Some(channel) => match channel.send(op) {
                Ok(()) => {
                    self.shared.enqueued.store(seq, Ordering::Release);
                    return Ok(());
                }
                Err(SendError(op)) => op,
            },
            None => op,
        };
        // The worker is gone: apply it here, still in order (the sender
        // lock is held).
        let (_, _, result) = op.apply(&self.store);
        self.shared.settle(&key, seq);
        result
    }

    /// Waits until every operation queued before this call is applied.
    ///
    /// # Errors
    ///
    /// [`DiskError::WriteBehind`] when queued operations failed since the
    /// last report (the count and the first error);
    /// [`DiskError::WorkerStopped`] when the worker died with operations
    /// queued.
    pub fn flush(&self) -> Result<(), DiskError> {
        self.wait_idle()?;
        let mut progress = lock(&self.shared.progress);
        if progress.failed == 0 {
            return Ok(());
        }
        let failed = std::mem::take(&mut progress.failed);
        let first = progress
            .first_error
            .take()
            .unwrap_or(DiskError::WorkerStopped);
        Err(DiskError::WriteBehind {
            failed,
            first: Box::new(first),
        })
    }

    /// Waits until every operation queued before this call is applied,
    /// leaving failures for `flush` to report.
    fn wait_idle(&self) -> Result<(), DiskError> {
        let target = self.shared.enqueued.load(Ordering::Acquire);
        let mut progress = lock(&self.shared.progress);
        while progress.done < target {
            if progress.stopped {
                return Err(DiskError::WorkerStopped);
            }
            progress = self
                .shared
                .progressed
                .wait(progress)
                .unwrap_or_else(PoisonError::into_inner);
        }
        Ok(())
    }

    /// Flushes, then stops the worker.
    ///
    /// # Errors
    ///
    /// As [`WriteBehind::flush`].
    pub fn shutdown(mut self) -> Result<(), DiskError> {
        let result = self.flush();
        self.stop();
        result
    }

    /// Closes the queue and waits for the worker to drain it and exit.
    fn stop(&mut self) {
        drop(lock(&self.sender).channel.take());
        #[cfg(test)]
        self.shared.gate.open();
        if let Some(worker) = self.worker.take() {
            // A worker that panicked has nothing more to give back.
            let _ = worker.join();
        }
    }

    /// Once queued operations are applied, as [`DiskStore::clear`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::clear`], or [`DiskError::WorkerStopped`].
    pub fn clear(&self) -> Result<u64, DiskError> {
        self.wait_idle()?;
        self.store.clear()
    }

    /// Once queued operations are applied, as [`DiskStore::clear_matching`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::clear_matching`], or [`DiskError::WorkerStopped`].
    pub fn clear_matching(&self, pattern: &Glob) -> Result<u64, DiskError> {
        self.wait_idle()?;
        self.store.clear_matching(pattern)
    }

    /// Once queued operations are applied, as [`DiskStore::entries`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::entries`], or [`DiskError::WorkerStopped`].
    pub fn entries(
        &self,
        cursor: Option<&DiskCursor>,
        limit: usize,
    ) -> Result<DiskEntryPage, DiskError> {
        self.wait_idle()?;
        self.store.entries(cursor, limit)
    }

    /// Once queued operations are applied, as [`DiskStore::len`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::len`], or [`DiskError::WorkerStopped`].
    pub fn len(&self) -> Result<u64, DiskError> {
        self.wait_idle()?;
        self.store.len()
    }

    /// Once queued operations are applied, as [`DiskStore::is_empty`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::is_empty`], or [`DiskError::WorkerStopped`].
    pub fn is_empty(&self) -> Result<bool, DiskError> {
        self.wait_idle()?;
        self.store.is_empty()
    }

    /// Once queued operations are applied, as [`DiskStore::cleanup`].
    ///
    /// # Errors
    ///
    /// As [`DiskStore::cleanup`], or [`DiskError::WorkerStopped`].
    pub fn cleanup(&self) -> Result<CleanupReport, DiskError> {
        self.wait_idle()?;
        self.store.cleanup()
    }

    /// How many queued operations are not applied yet.
    pub fn pending(&self) -> usize {
        lock(&self.shared.pending).len()
    }
}

impl Drop for WriteBehind {
    /// Drains the queue: every acknowledged operation is applied before the
    /// worker exits. Failures are dropped; call [`WriteBehind::shutdown`] to
    /// see them.
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for WriteBehind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBehind")
            .field("store", &self.store)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Forgets the pending entry of an applied operation unless a later one
    /// for the same key replaced it.
    fn settle(&self, key: &[u8], seq: u64) {
        let mut pending = lock(&self.pending);
        if pending.get(key).is_some_and(|p| p.seq == seq) {
            pending.remove(key);
        }
    }
}

/// The worker: applies operations in order until the queue is closed and
/// drained.
fn work(store: &DiskStore, shared: &Shared, queue: &Receiver<Op>) {
    /// Marks the worker stopped however it exits, so `flush` never waits
    /// for a dead worker.
    struct Stopped<'a>(&'a Shared);
    impl Drop for Stopped<'_> {
        fn drop(&mut self) {
            lock(&self.0.progress).stopped = true;
            self.0.progressed.notify_all();
        }
    }
    let _stopped = Stopped(shared);
    for op in queue {
        #[cfg(test)]
        shared.gate.pass();
        let (seq, key, result) = op.apply(store);
        shared.settle(key, seq);
        let mut progress = lock(&shared.progress);
        progress.done = seq;
        if let Err(error) = result {
            progress.failed += 1;
            progress.first_error.get_or_insert(error);
        }
        drop(progress);
        shared.progressed.notify_all();
    }
}

#[cfg(test)]
mod test_gate {
    //! Lets unit tests hold the worker before it applies an operation, so
    //! they can observe queued state deterministically.

    use std::sync::{Condvar, Mutex};

    use super::lock;

    #[derive(Default)]
    pub(super) struct Gate {
        closed: Mutex<bool>,
        changed: Condvar,
    }

    impl Gate {
        pub(super) fn close(&self) {
            *lock(&self.closed) = true;
        }

        pub(super) fn open(&self) {
            *lock(&self.closed) = false;
            self.changed.notify_all();
        }

        pub(super) fn pass(&self) {
            let mut closed = lock(&self.closed);
            while *closed {
                closed = self
                    .changed
                    .wait(closed)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::tests::Scratch;

    #[test]
    fn queued_writes_and_removals_are_read_before_they_reach_disk() {
        let scratch = Scratch::new("write-behind-pending");
        let disk =
            WriteBehind::new(DiskStore::open(scratch.path()).expect("store"), 16).expect("start");
        disk.store().put(b"old", b"on disk", None).expect("put");
        disk.shared.gate.close();
        disk.put(b"new", b"queued", None).expect("put");
        disk.remove(b"old").expect("remove");
        disk.put(b"twice", b"first", None).expect("put");
        disk.put(b"twice", b"second", None).expect("put");
        assert_eq!(disk.pending(), 3);
        assert_eq!(disk.get(b"new").expect("get"), Some(b"queued".to_vec()));
        assert_eq!(disk.get(b"old").expect("get"), None);
        assert_eq!(disk.get(b"twice").expect("get"), Some(b"second".to_vec()));
        assert!(
            !disk.store().path_for(b"new").exists(),
            "held: not written yet"
        );
        assert!(
            disk.store().path_for(b"old").exists(),
            "held: not removed yet"
        );
        disk.shared.gate.open();
        disk.flush().expect("flush");
        assert_eq!(disk.pending(), 0);
        assert_eq!(
            disk.store().get(b"new").expect("get"),
            Some(b"queued".to_vec())
        );
        assert_eq!(disk.store().get(b"old").expect("get"), None);
        assert_eq!(
            disk.store().get(b"twice").expect("get"),
            Some(b"second".to_vec())
        );
    }

    #[test]
    fn a_full_queue_blocks_and_drop_drains_it() {
        let scratch = Scratch::new("write-behind-full");
        let disk = Arc::new(
            WriteBehind::new(DiskStore::open(scratch.path()).expect("store"), 2).expect("start"),
        );
        disk.shared.gate.close();
        let writer = {
            let disk = Arc::clone(&disk);
            std::thread::spawn(move || {
                for i in 0..10u32 {
                    disk.put(&i.to_le_bytes(), b"v", None).expect("put");
                }
            })
        };
        // The worker holds one operation and the queue two: the writer
        // blocks. Only the pending map shows progress; without a timing
        // assertion, check it never exceeds the bound.
        for _ in 0..50 {
            assert!(disk.pending() <= 4, "pending {}", disk.pending());
            std::thread::yield_now();
        }
        disk.shared.gate.open();
        writer.join().expect("writer");
        let disk = Arc::into_inner(disk).expect("sole owner");
        drop(disk);
        let store = DiskStore::open(scratch.path()).expect("store");
        assert_eq!(store.len().expect("len"), 10);
    }

    #[test]
    fn failures_are_reported_by_the_next_flush() {
        let scratch = Scratch::new("write-behind-failure");
        let disk =
            WriteBehind::new(DiskStore::open(scratch.path()).expect("store"), 4).expect("start");
        // A folder where the entry file should go makes the rename fail.
        std::fs::create_dir_all(disk.store().path_for(b"blocked").join("inside")).expect("folder");
        disk.put(b"blocked", b"v", None).expect("queued");
        disk.put(b"fine", b"v", None).expect("queued");
        let error = disk.flush().expect_err("deferred failure");
        assert!(
            matches!(&error, DiskError::WriteBehind { failed: 1, .. }),
            "{error}"
        );
        disk.flush().expect("reported once");
        assert_eq!(disk.get(b"fine").expect("get"), Some(b"v".to_vec()));
        assert!(matches!(
            disk.put(
                &vec![0; crate::envelope::Envelope::MAX_KEY_LEN + 1],
                b"",
                None
            ),
            Err(DiskError::Encode(_))
        ));
        disk.shutdown().expect("shutdown");
    }
}
