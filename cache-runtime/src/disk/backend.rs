//! [`DiskBackend`]: a [`DiskStore`] as a storage [`Backend`]: the disk
//! tier's second level, and a backend a region can use by name (or run
//! through the conformance suite).
//!
//! The store seals what it is given in its own envelope (its key, its
//! expiry, a checksum: about 60 bytes plus the key per file), which is what
//! lets it list keys, clear by pattern and clean up without understanding
//! the value. It judges nothing on the way back: [`Backend::get`] serves
//! the value of an intact file even past its expiry (the backend has no
//! native TTL: expired files stay until read or [cleaned
//! up](Backend::cleanup)), and a damaged or misnamed file's raw bytes. The
//! manager's own envelope inside the value is the one check that decides,
//! and counts: a damaged file, an expired entry, a value of another region
//! or schema is a counted miss on the disk tier as on any other, and is
//! then removed (a local folder: no other process can use it).
//!
//! Operations run on the caller's thread and finish on their first poll;
//! with write-behind, writes and removals are queued for one worker thread
//! instead ([`WriteBehind`]), read back from the queue until they are on
//! disk, and [`Backend::flush`] waits for them.

use std::time::{Duration, Instant};

use super::{CleanupReport, DiskCursor, DiskError, DiskStore, Glob, Held, WriteBehind};
use crate::backend::{Backend, BackendError, Capabilities, Health, Put, ScanPage};
use crate::future::BoxFuture;

/// A [`DiskStore`] (one folder, one file per entry) as a [`Backend`],
/// writing directly or through a [`WriteBehind`] queue.
#[derive(Debug)]
pub struct DiskBackend {
    writer: Writer,
}

#[derive(Debug)]
enum Writer {
    Direct(DiskStore),
    Behind(WriteBehind),
}

impl DiskBackend {
    /// `store` as a backend whose writes are on disk when they return.
    pub fn new(store: DiskStore) -> DiskBackend {
        DiskBackend {
            writer: Writer::Direct(store),
        }
    }

    /// `store` as a backend whose writes and removals are queued (up to
    /// `capacity`, at least 1; callers wait while it is full) and applied by
    /// one worker thread; reads see queued operations.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] when the worker thread cannot be started.
    pub fn with_write_behind(store: DiskStore, capacity: usize) -> Result<DiskBackend, DiskError> {
        Ok(DiskBackend {
            writer: Writer::Behind(WriteBehind::new(store, capacity)?),
        })
    }

    /// The store.
    pub fn store(&self) -> &DiskStore {
        match &self.writer {
            Writer::Direct(store) => store,
            Writer::Behind(behind) => behind.store(),
        }
    }

    fn get_now(&self, key: &str) -> Result<Option<Vec<u8>>, DiskError> {
        match &self.writer {
            Writer::Direct(store) => store.read_held(key.as_bytes()),
            Writer::Behind(behind) => behind.read_held(key.as_bytes()),
        }
        .map(Held::into_served)
    }

    fn put_now(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<Put, DiskError> {
        let key = key.as_bytes();
        let held = match &self.writer {
            Writer::Direct(store) => {
                let held = store.holds(key);
                store.put(key, value, ttl)?;
                held
            }
            Writer::Behind(behind) => {
                let held = behind.holds(key);
                behind.put(key, value, ttl)?;
                held
            }
        };
        Ok(if held { Put::Replaced } else { Put::Inserted })
    }

    fn remove_now(&self, key: &str) -> Result<bool, DiskError> {
        let key = key.as_bytes();
        match &self.writer {
            Writer::Direct(store) => store.remove(key),
            Writer::Behind(behind) => {
                let existed = behind.holds(key);
                behind.remove(key)?;
                Ok(existed)
            }
        }
    }

    fn scan_now(
        &self,
        pattern: Option<&Glob>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ScanPage, BackendError> {
        let cursor = match cursor {
            Some(text) => Some(
                DiskCursor::parse(text).ok_or_else(|| BackendError::BadCursor {
                    cursor: text.to_owned(),
                })?,
            ),
            None => None,
        };
        let page = match &self.writer {
            Writer::Direct(store) => store.entries(cursor.as_ref(), limit),
            Writer::Behind(behind) => behind.entries(cursor.as_ref(), limit),
        }
        .map_err(failed)?;
        let keys = page
            .entries
            .into_iter()
            .filter_map(|entry| String::from_utf8(entry.key).ok())
            .filter(|key| pattern.is_none_or(|glob| glob.matches(key)))
            .collect();
        Ok(ScanPage {
            keys,
            cursor: page.next.map(|next| next.as_str().to_owned()),
        })
    }
}

/// A store's failure as a backend's: a key or value it cannot persist is
/// refused; the rest keep the [`DiskError`] (the disk tier reports it as
/// such).
fn failed(error: DiskError) -> BackendError {
    match error {
        DiskError::Encode(source) => BackendError::Refused {
            what: String::from("the entry"),
            reason: source.to_string(),
        },
        other => BackendError::Other(Box::new(other)),
    }
}

impl Backend for DiskBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with_pattern_clear()
            .with_scan()
            .with_count()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(async move { self.get_now(key).map_err(failed) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>> {
        Box::pin(async move { self.put_now(key, value, ttl).map_err(failed) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { self.remove_now(key).map_err(failed) })
    }

    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            match &self.writer {
                Writer::Direct(store) => store.clear(),
                Writer::Behind(behind) => behind.clear(),
            }
            .map_err(failed)
        })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            match &self.writer {
                Writer::Direct(store) => store.clear_matching(pattern),
                Writer::Behind(behind) => behind.clear_matching(pattern),
            }
            .map_err(failed)
        })
    }

    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        Box::pin(async move { self.scan_now(pattern, cursor, limit) })
    }

    fn count<'a>(&'a self) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async move {
            match &self.writer {
                Writer::Direct(store) => store.len(),
                Writer::Behind(behind) => behind.len(),
            }
            .map(Some)
            .map_err(failed)
        })
    }

    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            let start = Instant::now();
            let dir = self.store().dir();
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {
                    // Writable: a probe file is created, synced and removed
                    // (its name starts with a dot: never taken for an entry).
                    static PROBES: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(0);
                    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let probe = dir.join(format!(".health-probe-{}-{n}", std::process::id()));
                    let written = std::fs::File::create(&probe)
                        .and_then(|mut file| {
                            std::io::Write::write_all(&mut file, b"ok")?;
                            file.sync_all()
                        })
                        .and_then(|()| std::fs::remove_file(&probe));
                    if let Err(error) = written {
                        let _ = std::fs::remove_file(&probe);
                        return Err(BackendError::Unavailable {
                            server: dir.display().to_string(),
                            reason: format!("not writable: {error}"),
                        });
                    }
                    Ok(Health::up(dir.display().to_string()).latency(start.elapsed()))
                }
                Ok(_) => Err(BackendError::Unavailable {
                    server: dir.display().to_string(),
                    reason: String::from("not a folder"),
                }),
                Err(error) => Err(BackendError::Unavailable {
                    server: dir.display().to_string(),
                    reason: error.to_string(),
                }),
            }
        })
    }

    fn flush<'a>(&'a self) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            match &self.writer {
                Writer::Direct(_) => Ok(()),
                Writer::Behind(behind) => behind.flush().map_err(failed),
            }
        })
    }

    fn cleanup<'a>(&'a self) -> BoxFuture<'a, Result<Option<CleanupReport>, BackendError>> {
        Box::pin(async move {
            match &self.writer {
                Writer::Direct(store) => store.cleanup(),
                Writer::Behind(behind) => behind.cleanup(),
            }
            .map(Some)
            .map_err(failed)
        })
    }
}
