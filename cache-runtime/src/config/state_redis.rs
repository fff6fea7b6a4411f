//! [`RedisState`]: run-time overrides and the audit trail in Redis, shared
//! by every instance on the same server and prefix.
//!
//! Keys:
//!
//! - `{prefix}:config`, a hash: `version` (decimal) and `overrides` (the
//!   [`ConfigPatch`] as JSON);
//! - `{prefix}:config:history`, a list of [`AuditRecord`]s as JSON, oldest
//!   first, trimmed to the newest `keep` (on a Redis Cluster
//!   `{{prefix}:config}:history`, in the state hash's slot, since the
//!   commit script touches both).
//!
//! A commit is one `EVAL` of [`COMMIT_SCRIPT`]: it checks the version,
//! sets the hash, appends to and trims the history, and announces the new
//! version on `{prefix}:config:changed`, all at once (a script runs alone
//! on the server), so two instances committing the same version get one
//! `Done` and one `Conflict`. (`WATCH`/`MULTI` would need a connection of
//! its own: the multiplexed one is shared by every caller.)
//!
//! Other instances hear of a commit through [`RedisState::watch`]: the
//! backplane's subscriber, which also listens on the config channel, plus
//! polling the version as a safety net.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::audit::AuditRecord;
use super::error::ConfigError;
use super::patch::ConfigPatch;
use super::state::{Commit, SharedState, StateStore};
use crate::future::BoxFuture;
use crate::redis_tier::{Backplane, RedisError, RedisLink};

/// The compare-and-set of a commit.
///
/// `KEYS[1]`: the state hash; `KEYS[2]`: the history list. `ARGV`: the
/// version it follows, the new version, the overrides (JSON), the record
/// (JSON), how many records to keep, the channel, the announcement.
/// Returns 1 when committed, 0 when the version moved on. Every check that
/// can fail comes before the first write (a script is not rolled back).
const COMMIT_SCRIPT: &str = r"
local kind = redis.call('TYPE', KEYS[2])['ok']
if kind ~= 'none' and kind ~= 'list' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[2] .. ' holds a ' .. kind .. ', not the configuration history list')
end
local current = redis.call('HGET', KEYS[1], 'version')
if not current then
  current = '0'
end
if not string.match(current, '^%d+$') then
  return redis.error_reply('ERR field version of ' .. KEYS[1] .. ' is not a number: ' .. current)
end
if tonumber(current) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'overrides', ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
";

/// The history list's key for the state hash `key`: `{key}:history`, or
/// on a cluster, where the commit script's two keys must share a slot and
/// that name does not, `{{key}}:history` (the hash tag is the state's key).
/// A cluster's prefix that allows neither is refused when the manager is
/// built (see `redis_tier::link`).
pub(crate) fn history_key(key: &str, cluster: bool) -> String {
    let plain = format!("{key}:history");
    if !cluster {
        return plain;
    }
    crate::redis_tier::companion_key(key, ":history").unwrap_or(plain)
}

/// The shortest time between two polls of the version.
const MIN_POLL: Duration = Duration::from_millis(10);

/// The first wait before reading the version again after a failed read.
const MIN_RETRY: Duration = Duration::from_millis(50);

/// The longest wait before reading the version again after failed reads.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// How often [`StateStore::follow`] reads the version without a backplane
/// (the only way it learns of other instances' commits then).
const POLL_ALONE: Duration = Duration::from_secs(1);

/// How often [`StateStore::follow`] reads the version with a backplane (a
/// safety net: announcements are only missed while unsubscribed, and the
/// version is read again at once after resubscribing).
const POLL_WITH_BACKPLANE: Duration = Duration::from_secs(10);

/// The shared state in Redis.
pub(crate) struct RedisState {
    link: Arc<RedisLink>,
    backplane: Option<Arc<Backplane>>,
    keep: usize,
    /// `{prefix}:config`.
    key: String,
    /// `{prefix}:config:history` (on a cluster, in the state's slot).
    history_key: String,
    /// `{prefix}:config:changed`.
    channel: String,
    /// Who announcements come from: the backplane's instance id (so that
    /// it ignores this instance's own), else one of its own.
    instance: String,
    /// The newest version committed here or reported to a watcher.
    seen: Arc<AtomicU64>,
    /// The watchers, stopped on drop.
    watchers: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for RedisState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisState")
            .field("key", &self.key)
            .field("keep", &self.keep)
            .field("backplane", &self.backplane.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisState {
    /// The state kept under the link's prefix, with at most `keep` audit
    /// records (at least one). Nothing is sent until it is used.
    pub(crate) fn new(link: Arc<RedisLink>, keep: usize) -> RedisState {
        let prefix = &link.config().prefix;
        let key = format!("{prefix}:config");
        RedisState {
            history_key: history_key(&key, link.config().is_cluster()),
            key,
            channel: Backplane::config_channel(link.config()),
            instance: own_id(),
            link,
            backplane: None,
            keep: keep.max(1),
            seen: Arc::new(AtomicU64::new(0)),
            watchers: Mutex::new(Vec::new()),
        }
    }

    /// Hears other instances' commits through `backplane` (the manager's,
    /// when it has one): [`RedisState::watch`] then learns of them as soon
    /// as they are announced, not only when it polls.
    #[must_use]
    pub(crate) fn with_backplane(mut self, backplane: Option<Arc<Backplane>>) -> RedisState {
        if let Some(backplane) = &backplane {
            self.instance = backplane.instance().to_owned();
        }
        self.backplane = backplane;
        self
    }

    /// Calls `on_change(version)` whenever a version newer than any seen
    /// so far appears in Redis: one committed by another instance (this
    /// store's own commits are seen already). Announcements come through
    /// the backplane (when [`with_backplane`](Self::with_backplane) gave
    /// one); the version is also read every `every` (at least 10 ms), and
    /// at once after the backplane resubscribes, since announcements are
    /// lost while nobody listens. The first read is made at once, so a
    /// version committed before the watch started is reported too: compare
    /// it with the version in force.
    ///
    /// `on_change` runs on the Redis I/O thread: it must return quickly and
    /// must not wait for Redis (that thread drives the replies), so hand
    /// the work to another thread. The watch runs until this store is
    /// dropped.
    pub(crate) fn watch(&self, every: Duration, on_change: Arc<dyn Fn(u64) + Send + Sync>) {
        let watcher = Watcher {
            link: Arc::downgrade(&self.link),
            key: self.key.clone(),
            seen: Arc::clone(&self.seen),
            every: every.max(MIN_POLL),
            on_change,
        };
        let backplane = self.backplane.as_ref().map(Arc::downgrade);
        let task = self.link.spawn(watcher.run(backplane));
        self.watchers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task);
    }

    fn error(
        key: &str,
        action: &'static str,
        source: impl Into<crate::provider::BoxError>,
    ) -> ConfigError {
        ConfigError::State {
            location: format!("redis {key}"),
            action,
            source: source.into(),
        }
    }

    async fn load_now(&self) -> Result<SharedState, ConfigError> {
        let read = |source: RedisError| Self::error(&self.key, "read", source);
        let (version, overrides): (Option<String>, Option<String>) = self
            .link
            .call(
                "HMGET",
                || key_target(&self.key),
                |mut connection| async move {
                    redis::cmd("HMGET")
                        .arg(&self.key)
                        .arg("version")
                        .arg("overrides")
                        .query_async(&mut connection)
                        .await
                },
            )
            .await
            .map_err(read)?;
        let corrupt = |what: String| Self::error(&self.key, "read", what);
        let version = match version {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                corrupt(format!("field `version` is not a version number: {text:?}"))
            })?,
        };
        let overrides = match overrides {
            None => ConfigPatch::new(),
            Some(json) => serde_json::from_str(&json).map_err(|error| {
                corrupt(format!(
                    "field `overrides` is not a valid set of overrides: {error}"
                ))
            })?,
        };
        Ok(SharedState { version, overrides })
    }

    async fn commit_now(&self, record: &AuditRecord) -> Result<Commit, ConfigError> {
        let written = |source: String| Self::error(&self.key, "written", source);
        let Some(follows) = record.version.checked_sub(1) else {
            return Ok(Commit::Conflict);
        };
        let overrides = serde_json::to_string(&record.overrides)
            .map_err(|error| written(format!("cannot encode the overrides: {error}")))?;
        let entry = serde_json::to_string(record)
            .map_err(|error| written(format!("cannot encode the audit record: {error}")))?;
        let announcement = Backplane::config_announcement(&self.instance, record.version);
        let committed: i64 = self
            .link
            .call(
                "EVAL",
                || key_target(&self.key),
                |mut connection| async move {
                    redis::cmd("EVAL")
                        .arg(COMMIT_SCRIPT)
                        .arg(2)
                        .arg(&self.key)
                        .arg(&self.history_key)
                        .arg(follows)
                        .arg(record.version)
                        .arg(overrides)
                        .arg(entry)
                        .arg(self.keep)
                        .arg(&self.channel)
                        .arg(announcement)
                        .query_async(&mut connection)
                        .await
                },
            )
            .await
            .map_err(|source| Self::error(&self.key, "written", source))?;
        if committed == 1 {
            self.seen.fetch_max(record.version, Ordering::AcqRel);
            Ok(Commit::Done)
        } else {
            Ok(Commit::Conflict)
        }
    }

    async fn history_now(&self) -> Result<Vec<AuditRecord>, ConfigError> {
        let keep_from = -i64::try_from(self.keep).unwrap_or(i64::MAX);
        let entries: Vec<String> = self
            .link
            .call(
                "LRANGE",
                || key_target(&self.history_key),
                |mut connection| async move {
                    // The newest `keep` (fewer than the list holds when
                    // `keep` was lowered since it was written).
                    redis::cmd("LRANGE")
                        .arg(&self.history_key)
                        .arg(keep_from)
                        .arg(-1)
                        .query_async(&mut connection)
                        .await
                },
            )
            .await
            .map_err(|source| Self::error(&self.history_key, "read", source))?;
        let count = entries.len();
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                serde_json::from_str(entry).map_err(|error| {
                    Self::error(
                        &self.history_key,
                        "read",
                        format!(
                            "record {} of {count} is not a valid audit record: {error}",
                            index + 1
                        ),
                    )
                })
            })
            .collect()
    }
}

impl Drop for RedisState {
    fn drop(&mut self) {
        for task in self
            .watchers
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

impl StateStore for RedisState {
    fn load(&self) -> BoxFuture<'_, Result<SharedState, ConfigError>> {
        Box::pin(self.link.enter(self.load_now()))
    }

    fn commit<'a>(&'a self, record: &'a AuditRecord) -> BoxFuture<'a, Result<Commit, ConfigError>> {
        Box::pin(self.link.enter(self.commit_now(record)))
    }

    fn history(&self) -> BoxFuture<'_, Result<Vec<AuditRecord>, ConfigError>> {
        Box::pin(self.link.enter(self.history_now()))
    }

    fn location(&self) -> String {
        format!("redis {}", self.key)
    }

    fn follow(&self, on_change: Arc<dyn Fn(u64) + Send + Sync>) {
        let every = if self.backplane.is_some() {
            POLL_WITH_BACKPLANE
        } else {
            POLL_ALONE
        };
        self.watch(every, on_change);
    }
}

/// A key, for error messages.
fn key_target(key: &str) -> String {
    format!("key `{key}`")
}

/// An id for announcements when there is no backplane (nobody in this
/// process listens then; other instances only need it to differ from
/// theirs).
fn own_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("config-{:016x}", hasher.finish())
}

/// What woke the watcher.
enum Wake {
    /// The backplane heard something.
    Signal,
    /// Time to read the version.
    Poll,
    /// The backplane is gone: polling only from now on.
    Closed,
}

/// The task behind [`RedisState::watch`].
struct Watcher {
    /// Weak: the task must not keep the link (and its I/O thread) alive.
    link: Weak<RedisLink>,
    key: String,
    seen: Arc<AtomicU64>,
    every: Duration,
    on_change: Arc<dyn Fn(u64) + Send + Sync>,
}

impl Watcher {
    async fn run(self, backplane: Option<Weak<Backplane>>) {
        // Only the receiver is kept: it does not keep the backplane alive.
        let mut signals = backplane
            .as_ref()
            .and_then(Weak::upgrade)
            .map(|backplane| backplane.config_signals());
        let mut subscriptions = signals
            .as_mut()
            .map_or(0, |receiver| receiver.borrow_and_update().subscriptions);
        // The first read at once.
        let mut next_poll = Instant::now();
        let mut retry = MIN_RETRY;
        loop {
            let wake = match signals.as_mut() {
                Some(receiver) => {
                    match tokio::time::timeout_at(next_poll, receiver.changed()).await {
                        Ok(Ok(())) => Wake::Signal,
                        Ok(Err(_)) => Wake::Closed,
                        Err(_) => Wake::Poll,
                    }
                }
                None => {
                    tokio::time::sleep_until(next_poll).await;
                    Wake::Poll
                }
            };
            match wake {
                Wake::Signal => {
                    let Some(receiver) = signals.as_mut() else {
                        continue;
                    };
                    let signal = *receiver.borrow_and_update();
                    self.report(signal.version);
                    if signal.subscriptions != subscriptions {
                        // Announcements may have been missed meanwhile.
                        subscriptions = signal.subscriptions;
                        next_poll = Instant::now();
                    }
                }
                Wake::Closed => signals = None,
                Wake::Poll => {
                    let Some(version) = self.read_version().await else {
                        return;
                    };
                    next_poll = Instant::now()
                        + match version {
                            Some(version) => {
                                self.report(version);
                                retry = MIN_RETRY;
                                self.every
                            }
                            // Soon again (a broken connection is replaced
                            // by the next call), backing off while Redis
                            // stays away.
                            None => {
                                let wait = retry.min(self.every);
                                retry = (retry * 2).min(MAX_RETRY);
                                wait
                            }
                        };
                }
            }
        }
    }

    /// The version in Redis (`Some(None)` when it cannot be read now;
    /// the next poll tries again); `None` when the link is gone.
    async fn read_version(&self) -> Option<Option<u64>> {
        let link = self.link.upgrade()?;
        let read = link
            .call(
                "HGET",
                || key_target(&self.key),
                |mut connection| async move {
                    redis::cmd("HGET")
                        .arg(&self.key)
                        .arg("version")
                        .query_async::<Option<String>>(&mut connection)
                        .await
                },
            )
            .await;
        Some(match read {
            Ok(Some(text)) => text.parse().ok(),
            Ok(None) => Some(0),
            Err(_) => None,
        })
    }

    fn report(&self, version: u64) {
        if self.seen.fetch_max(version, Ordering::AcqRel) < version {
            (self.on_change)(version);
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::redis_tier::slot;

    #[test]
    fn the_history_shares_the_state_slot_on_a_cluster() {
        for prefix in ["cache", "shop", "a{b", "{tenant}x"] {
            let key = format!("{prefix}:config");
            let history = history_key(&key, true);
            assert_eq!(slot(key.as_bytes()), slot(history.as_bytes()), "{history}");
            assert_eq!(history_key(&key, false), format!("{key}:history"));
        }
        assert_eq!(history_key("cache:config", true), "{cache:config}:history");
        assert_eq!(history_key("{t}:config", true), "{t}:config:history");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Instant as StdInstant;

    use tokio::sync::mpsc;

    use super::*;
    use crate::redis_tier::RedisConfig;
    use crate::test_support::redis::RedisServer;

    fn config(server: &RedisServer) -> RedisConfig {
        RedisConfig::new(server.url()).prefix("test")
    }

    fn link(config: RedisConfig) -> Arc<RedisLink> {
        Arc::new(RedisLink::open(config).unwrap())
    }

    /// Version `version`, setting `users.ttl` to `ttl`, from `instance`.
    fn record(version: u64, ttl: &str, instance: &str) -> AuditRecord {
        crate::config::state::test_record(version, ttl, instance)
    }

    fn versions(history: &[AuditRecord]) -> Vec<u64> {
        history.iter().map(|record| record.version).collect()
    }

    /// A raw command, for what the store never does.
    async fn raw<T: redis::FromRedisValue>(link: &RedisLink, command: &redis::Cmd) -> T {
        link.enter(async {
            let mut connection = link.connection().await.unwrap();
            command.query_async(&mut connection).await.unwrap()
        })
        .await
    }

    /// A watcher's reports, and its callback (to count who holds it).
    fn reports() -> (Arc<dyn Fn(u64) + Send + Sync>, mpsc::UnboundedReceiver<u64>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let on_change: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |version| {
            let _ = sender.send(version);
        });
        (on_change, receiver)
    }

    async fn next_report(
        receiver: &mut mpsc::UnboundedReceiver<u64>,
        within: Duration,
    ) -> Option<u64> {
        tokio::time::timeout(within, receiver.recv())
            .await
            .ok()
            .flatten()
    }

    async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
        let deadline = StdInstant::now() + within;
        while !done() {
            assert!(StdInstant::now() < deadline, "{what} within {within:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn commits_read_back_with_their_history() {
        let server = RedisServer::start();
        let link = link(config(&server));
        let state = RedisState::new(Arc::clone(&link), 2);
        assert_eq!(state.location(), "redis test:config");
        assert_eq!(state.load().await.unwrap(), SharedState::default());
        assert!(state.history().await.unwrap().is_empty());

        let first = record(1, "10m", "a");
        let second = record(2, "1h", "a");
        assert_eq!(state.commit(&first).await.unwrap(), Commit::Done);
        assert_eq!(state.commit(&second).await.unwrap(), Commit::Done);
        let loaded = state.load().await.unwrap();
        assert_eq!(loaded.version, 2);
        assert_eq!(loaded.overrides, second.overrides);
        assert_eq!(state.history().await.unwrap(), vec![first, second.clone()]);

        // Stale or skipped versions change nothing.
        for version in [0, 1, 2, 4] {
            assert_eq!(
                state.commit(&record(version, "5m", "a")).await.unwrap(),
                Commit::Conflict,
                "version {version}"
            );
        }
        assert_eq!(state.load().await.unwrap().version, 2);

        // Another instance (its own connection) sees the same; the history
        // keeps the newest two.
        let other = RedisState::new(super::tests::link(config(&server)), 2);
        assert_eq!(other.load().await.unwrap().overrides, second.overrides);
        let third = record(3, "2h", "b");
        assert_eq!(other.commit(&third).await.unwrap(), Commit::Done);
        assert_eq!(versions(&state.history().await.unwrap()), vec![2, 3]);
        assert_eq!(state.load().await.unwrap().overrides, third.overrides);

        // The layout.
        let (version, overrides): (String, String) = raw(
            &link,
            redis::cmd("HMGET")
                .arg("test:config")
                .arg("version")
                .arg("overrides"),
        )
        .await;
        assert_eq!(version, "3");
        assert_eq!(overrides, r#"{"users":{"ttl":"2h"}}"#);
        let kept: Vec<String> = raw(
            &link,
            redis::cmd("LRANGE")
                .arg("test:config:history")
                .arg(0)
                .arg(-1),
        )
        .await;
        assert_eq!(kept.len(), 2);
        let newest: AuditRecord = serde_json::from_str(&kept[1]).unwrap();
        assert_eq!(newest, third);
        // A lower limit applies at once to what is read.
        let fewer = RedisState::new(Arc::clone(&link), 1);
        assert_eq!(versions(&fewer.history().await.unwrap()), vec![3]);
    }

    #[tokio::test]
    async fn racing_instances_commit_each_version_once() {
        let server = RedisServer::start();
        let a = RedisState::new(link(config(&server)), 100);
        let b = RedisState::new(link(config(&server)), 100);
        for version in 1..=20 {
            let (from_a, from_b) = (record(version, "1m", "a"), record(version, "2m", "b"));
            let (a_did, b_did) = tokio::join!(a.commit(&from_a), b.commit(&from_b));
            let mut outcomes = [a_did.unwrap(), b_did.unwrap()];
            outcomes.sort_by_key(|outcome| *outcome == Commit::Conflict);
            assert_eq!(
                outcomes,
                [Commit::Done, Commit::Conflict],
                "version {version}"
            );
        }
        let history = a.history().await.unwrap();
        assert_eq!(versions(&history), (1..=20).collect::<Vec<_>>());
        assert_eq!(a.load().await.unwrap().version, 20);
    }

    #[tokio::test]
    async fn watch_hears_other_instances_through_the_backplane() {
        let server = RedisServer::start();
        let a = RedisState::new(link(config(&server)), 10);
        let b_link = link(config(&server));
        let b_backplane = Backplane::start(&b_link);
        let b =
            RedisState::new(Arc::clone(&b_link), 10).with_backplane(Some(Arc::clone(&b_backplane)));
        let (on_change, mut reports) = reports();
        // Polling once a minute: only the announcement can be this fast.
        b.watch(Duration::from_secs(60), on_change);
        until("subscribed", Duration::from_secs(5), || {
            b_backplane.stats().subscribed
        })
        .await;
        // The first reads (at start, after subscribing) are done.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(reports.try_recv().ok(), None, "nothing committed yet");

        assert_eq!(
            a.commit(&record(1, "10m", "a")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(5)).await,
            Some(1)
        );
        assert_eq!(
            a.commit(&record(2, "20m", "a")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(5)).await,
            Some(2)
        );

        // Its own commit is not reported.
        assert_eq!(
            b.commit(&record(3, "30m", "b")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_millis(300)).await,
            None
        );
        assert_eq!(
            a.commit(&record(4, "40m", "a")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(5)).await,
            Some(4)
        );
    }

    #[tokio::test]
    async fn watch_polls_without_the_backplane_and_stops_with_the_store() {
        let server = RedisServer::start();
        let a = RedisState::new(link(config(&server).backplane(false)), 10);
        let b = RedisState::new(link(config(&server).backplane(false)), 10);
        // A version committed before the watch started is reported too.
        assert_eq!(
            a.commit(&record(1, "10m", "a")).await.unwrap(),
            Commit::Done
        );
        let (on_change, mut reports) = reports();
        b.watch(Duration::from_millis(50), Arc::clone(&on_change));
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(3)).await,
            Some(1)
        );
        assert_eq!(
            a.commit(&record(2, "20m", "a")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(3)).await,
            Some(2)
        );
        // Each version once.
        assert_eq!(
            next_report(&mut reports, Duration::from_millis(200)).await,
            None
        );

        // Dropping the store ends its watcher: the callback is let go.
        drop(b);
        until("watcher gone", Duration::from_secs(2), || {
            Arc::strong_count(&on_change) == 1
        })
        .await;
        assert_eq!(
            a.commit(&record(3, "30m", "a")).await.unwrap(),
            Commit::Done
        );
        assert_eq!(
            next_report(&mut reports, Duration::from_millis(300)).await,
            None
        );
    }

    #[tokio::test]
    async fn watch_catches_up_after_redis_comes_back() {
        let mut server = RedisServer::start();
        let fast = |server: &RedisServer| {
            config(server)
                .connect_timeout(Duration::from_millis(200))
                .response_timeout(Duration::from_millis(200))
                .backplane_ping_every(Duration::from_millis(50))
        };
        let a = RedisState::new(link(fast(&server)), 10);
        let b_link = link(fast(&server));
        let b_backplane = Backplane::start(&b_link);
        let b =
            RedisState::new(Arc::clone(&b_link), 10).with_backplane(Some(Arc::clone(&b_backplane)));
        let (on_change, mut reports) = reports();
        // Polling rarely: the resubscription makes it read at once.
        b.watch(Duration::from_secs(60), on_change);
        until("subscribed", Duration::from_secs(5), || {
            b_backplane.stats().subscribed
        })
        .await;
        // The first read is done (a failed read is retried within
        // milliseconds, which is not what this test is about).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let subscriptions = b_backplane.stats().subscriptions;

        server.restart();
        // B is not listening yet, A's announcement is lost, but B reads the
        // version once it resubscribes.
        let committed = StdInstant::now();
        loop {
            match a.commit(&record(1, "10m", "a")).await {
                Ok(outcome) => {
                    assert_eq!(outcome, Commit::Done);
                    break;
                }
                Err(_) if committed.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(
            next_report(&mut reports, Duration::from_secs(10)).await,
            Some(1)
        );
        assert!(b_backplane.stats().subscriptions > subscriptions);
    }

    #[tokio::test]
    async fn a_dead_server_is_a_state_error_not_a_hang() {
        let mut server = RedisServer::start();
        let limits = config(&server)
            .connect_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_millis(300));
        let state = RedisState::new(link(limits.clone()), 10);
        assert_eq!(
            state.commit(&record(1, "10m", "a")).await.unwrap(),
            Commit::Done
        );

        // Stalled: each call gives up after the response timeout.
        server.pause();
        let started = StdInstant::now();
        let error = state.load().await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(
            matches!(error, ConfigError::State { action: "read", .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("redis test:config"), "{error}");
        assert!(error.to_string().contains("timed out"), "{error}");
        server.resume();

        server.kill();
        let started = StdInstant::now();
        let error = state.load().await.unwrap_err();
        assert!(
            matches!(error, ConfigError::State { action: "read", .. }),
            "{error:?}"
        );
        let error = state.commit(&record(2, "20m", "a")).await.unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::State {
                    action: "written",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = state.history().await.unwrap_err();
        assert!(
            matches!(error, ConfigError::State { action: "read", .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("redis test:config:history"),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );

        // The password is never shown.
        let secret = RedisState::new(
            link(
                RedisConfig::new(format!("redis://app:s3cret@127.0.0.1:{}/", server.port()))
                    .prefix("test")
                    .connect_timeout(Duration::from_millis(300)),
            ),
            10,
        );
        let error = secret.load().await.unwrap_err();
        let message = error.to_string();
        assert!(!message.contains("s3cret"), "{message}");
        assert!(message.contains("app:***"), "{message}");
    }

    #[tokio::test]
    async fn unreadable_state_in_redis_is_a_clear_error() {
        let server = RedisServer::start();
        let link = link(config(&server));
        let state = RedisState::new(Arc::clone(&link), 10);

        let () = raw(
            &link,
            redis::cmd("HSET")
                .arg("test:config")
                .arg("version")
                .arg("seven"),
        )
        .await;
        let error = state.load().await.unwrap_err();
        assert!(error.to_string().contains("field `version`"), "{error}");
        // A commit refuses it too, and writes nothing.
        let error = state.commit(&record(1, "10m", "a")).await.unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::State {
                    action: "written",
                    ..
                }
            ),
            "{error:?}"
        );
        let exists: u64 = raw(&link, redis::cmd("EXISTS").arg("test:config:history")).await;
        assert_eq!(exists, 0);

        let () = raw(
            &link,
            redis::cmd("HSET")
                .arg("test:config")
                .arg("version")
                .arg("1")
                .arg("overrides")
                .arg("{\"users\":{\"ttl\":\"soon\"}}"),
        )
        .await;
        let error = state.load().await.unwrap_err();
        assert!(error.to_string().contains("field `overrides`"), "{error}");

        let () = raw(
            &link,
            redis::cmd("RPUSH")
                .arg("test:config:history")
                .arg("not json"),
        )
        .await;
        let error = state.history().await.unwrap_err();
        assert!(error.to_string().contains("record 1 of 1"), "{error}");

        // Keys of another type: refused before anything is written.
        let () = raw(
            &link,
            redis::cmd("DEL")
                .arg("test:config")
                .arg("test:config:history"),
        )
        .await;
        let () = raw(&link, redis::cmd("SET").arg("test:config:history").arg("x")).await;
        let error = state.commit(&record(1, "10m", "a")).await.unwrap_err();
        assert!(error.to_string().contains("WRONGTYPE"), "{error}");
        let exists: u64 = raw(&link, redis::cmd("EXISTS").arg("test:config")).await;
        assert_eq!(exists, 0, "the hash was not written");
        let () = raw(&link, redis::cmd("SET").arg("test:config").arg("x")).await;
        let error = state.load().await.unwrap_err();
        assert!(
            matches!(error, ConfigError::State { action: "read", .. }),
            "{error:?}"
        );
    }
}
