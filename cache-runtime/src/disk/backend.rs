//! [`DiskBackend`]: a [`DiskStore`] as a storage [`Backend`], for a region
//! registered on a named backend (or run through the conformance suite).
//!
//! The store seals what it is given in its own envelope (so the bytes the
//! manager hands over, already an envelope, are checked twice on the way
//! back: the store's check drops a torn or expired file, the manager's a
//! value of another region or schema). Operations run on the caller's
//! thread and finish on their first poll.

use std::time::{Duration, Instant};

use super::{DiskCursor, DiskError, DiskStore, Glob};
use crate::backend::{Backend, BackendError, Capabilities, Health, Put, ScanPage};
use crate::future::BoxFuture;

/// A [`DiskStore`] (one folder, one file per entry) as a [`Backend`].
#[derive(Debug)]
pub struct DiskBackend {
    store: DiskStore,
}

impl DiskBackend {
    /// `store` as a backend.
    pub fn new(store: DiskStore) -> DiskBackend {
        DiskBackend { store }
    }

    /// The store.
    pub fn store(&self) -> &DiskStore {
        &self.store
    }
}

fn failed(operation: &'static str) -> impl Fn(DiskError) -> BackendError {
    move |error| match error {
        DiskError::Encode(source) => BackendError::Refused {
            what: String::from("the value"),
            reason: source.to_string(),
        },
        other => BackendError::Failed {
            operation,
            reason: other.to_string(),
        },
    }
}

impl Backend for DiskBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with_ttl()
            .with_pattern_clear()
            .with_scan()
            .with_count()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(async move { self.store.get(key.as_bytes()).map_err(failed("get")) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>> {
        Box::pin(async move {
            let held = self.store.holds(key.as_bytes());
            self.store
                .put(key.as_bytes(), value, ttl)
                .map_err(failed("put"))?;
            Ok(if held { Put::Replaced } else { Put::Inserted })
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { self.store.remove(key.as_bytes()).map_err(failed("remove")) })
    }

    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move { self.store.clear().map_err(failed("clear")) })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            self.store
                .clear_matching(pattern)
                .map_err(failed("clear_matching"))
        })
    }

    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        Box::pin(async move {
            let cursor = match cursor {
                Some(text) => {
                    Some(DiskCursor::parse(text).ok_or_else(|| BackendError::Failed {
                        operation: "scan",
                        reason: format!("{text:?} is not a cursor this store handed out"),
                    })?)
                }
                None => None,
            };
            let page = self
                .store
                .entries(cursor.as_ref(), limit)
                .map_err(failed("scan"))?;
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
        })
    }

    fn count<'a>(&'a self) -> BoxFuture<'a, Result<Option<u64>, BackendError>> {
        Box::pin(async move { self.store.len().map(Some).map_err(failed("count")) })
    }

    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            let start = Instant::now();
            match std::fs::metadata(self.store.dir()) {
                Ok(meta) if meta.is_dir() => {
                    Ok(Health::up(self.store.dir().display().to_string()).latency(start.elapsed()))
                }
                Ok(_) => Err(BackendError::Unavailable {
                    server: self.store.dir().display().to_string(),
                    reason: String::from("not a folder"),
                }),
                Err(error) => Err(BackendError::Unavailable {
                    server: self.store.dir().display().to_string(),
                    reason: error.to_string(),
                }),
            }
        })
    }
}
