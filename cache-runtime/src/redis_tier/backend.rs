//! [`RedisConnection`] and [`RedisBackend`]: a Redis server as a storage
//! [`Backend`], for regions registered on a named backend (or run through
//! the conformance suite).
//!
//! The backend uses the Redis tier's own machinery: the link (connection
//! opened on first use and reopened after it breaks, time limits, circuit
//! breaker, its I/O thread) and a region's level (keys
//! `{prefix}:{region}:{key text}`, pipelined batches, `SCAN` + `UNLINK`
//! clearing, Redis' own glob for patterns), storing the bytes it is given
//! as they are: the manager has sealed them. Its futures run in the I/O
//! thread's context, so they complete on any executor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::level::{RedisLevel, RedisLookup};
use super::link::RedisLink;
use super::scan::ScanPosition;
use super::{RedisConfig, RedisError};
use crate::backend::{
    Backend, BackendContext, BackendError, Capabilities, Entry, Health, Put, ScanPage,
};
use crate::disk::Glob;
use crate::future::BoxFuture;

/// A connection to a Redis server, shared by the [`RedisBackend`]s of
/// several regions. Cheap to clone.
#[derive(Clone)]
pub struct RedisConnection {
    link: Arc<RedisLink>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("server", &self.link.health().server)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// The server `config` names; the connection opens on first use.
    ///
    /// # Errors
    ///
    /// [`RedisError::Url`] for a URL that does not parse,
    /// [`RedisError::Setup`] when the I/O thread cannot start.
    pub fn open(config: RedisConfig) -> Result<RedisConnection, RedisError> {
        Ok(RedisConnection {
            link: Arc::new(RedisLink::open(config)?),
        })
    }

    /// The backend of `region` on this server.
    pub fn backend(&self, region: &str) -> RedisBackend {
        RedisBackend::on(&self.link, region)
    }

    /// A factory for
    /// [`CacheManagerBuilder::backend`](crate::CacheManagerBuilder::backend):
    /// one [`RedisBackend`] per region.
    pub fn factory(
        &self,
    ) -> impl Fn(&BackendContext<'_>) -> Result<Arc<dyn Backend>, BackendError> + Send + Sync + 'static
    {
        let connection = self.clone();
        move |context: &BackendContext<'_>| {
            Ok(Arc::new(connection.backend(context.region())) as Arc<dyn Backend>)
        }
    }
}

/// One region's entries on a Redis server.
pub struct RedisBackend {
    level: RedisLevel,
    link: Arc<RedisLink>,
}

impl RedisBackend {
    /// `region`'s backend over `link` (the manager's own, for the Redis
    /// tier).
    pub(crate) fn on(link: &Arc<RedisLink>, region: &str) -> RedisBackend {
        RedisBackend {
            level: RedisLevel::new(link, region),
            link: Arc::clone(link),
        }
    }
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// Redis' own error, kept whole: the Redis tier reports it as
/// `CacheError::Redis`, and its message says what happened.
fn backend_error(error: RedisError) -> BackendError {
    BackendError::Other(Box::new(error))
}

fn value(lookup: RedisLookup) -> Option<Vec<u8>> {
    lookup.into_value()
}

impl Backend for RedisBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::none()
            .with_ttl()
            .with_pattern_clear()
            .with_scan()
            .with_shared()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(
            self.link
                .enter(self.level.get(key))
                .map(|lookup| lookup.map(value).map_err(backend_error)),
        )
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, BackendError>> {
        Box::pin(async move {
            let lookups = self.link.enter(self.level.get_many(keys)).await;
            lookups
                .map(|lookups| lookups.into_iter().map(value).collect())
                .map_err(backend_error)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        ttl: Option<Duration>,
    ) -> BoxFuture<'a, Result<Put, BackendError>> {
        Box::pin(async move {
            let replaced = self.link.enter(self.level.put(key, value, ttl)).await;
            replaced
                .map(|replaced| {
                    if replaced {
                        Put::Replaced
                    } else {
                        Put::Inserted
                    }
                })
                .map_err(backend_error)
        })
    }

    fn put_many<'a>(
        &'a self,
        entries: &'a [Entry<'a>],
    ) -> BoxFuture<'a, Result<Vec<Put>, BackendError>> {
        Box::pin(async move {
            let triples: Vec<(&str, &[u8], Option<Duration>)> = entries
                .iter()
                .map(|entry| (entry.key, entry.value, entry.ttl))
                .collect();
            let replaced = self.link.enter(self.level.put_many(&triples)).await;
            replaced
                .map(|replaced| {
                    replaced
                        .into_iter()
                        .map(|held| if held { Put::Replaced } else { Put::Inserted })
                        .collect()
                })
                .map_err(backend_error)
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let removed = self.link.enter(self.level.remove(key)).await;
            removed.map_err(backend_error)
        })
    }

    fn clear<'a>(&'a self) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            let removed = self.link.enter(self.level.clear()).await;
            removed.map_err(backend_error)
        })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a Glob) -> BoxFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            let removed = self.link.enter(self.level.clear_matching(pattern)).await;
            removed.map_err(backend_error)
        })
    }

    fn scan<'a>(
        &'a self,
        pattern: Option<&'a Glob>,
        cursor: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<ScanPage, BackendError>> {
        Box::pin(async move {
            let position = match cursor {
                Some(text) => ScanPosition::parse(text, self.link.config().is_cluster())
                    .ok_or_else(|| BackendError::BadCursor {
                        cursor: text.to_owned(),
                    })?,
                None => ScanPosition::Start,
            };
            let page = self
                .link
                .enter(self.level.scan_keys(position, pattern, limit))
                .await;
            let (next, keys) = page.map_err(backend_error)?;
            Ok(ScanPage {
                keys,
                cursor: next.map(|next| next.to_string()),
            })
        })
    }

    fn health<'a>(&'a self) -> BoxFuture<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            let start = Instant::now();
            let answered = self
                .link
                .enter(async {
                    let mut connection = self.link.connection().await?;
                    redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .map_err(|error| {
                            RedisError::classify(
                                "PING",
                                String::from("the server"),
                                self.link.config().response_timeout,
                                error,
                            )
                        })
                })
                .await;
            let health = self.link.health();
            match answered {
                Ok(_) => Ok(Health::up(health.server).latency(start.elapsed())),
                Err(error) => Err(BackendError::Unavailable {
                    server: health.server,
                    reason: error.to_string(),
                }),
            }
        })
    }
}
