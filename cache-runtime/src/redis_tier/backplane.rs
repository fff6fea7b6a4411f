//! [`Backplane`]: pub/sub invalidation that keeps the memory levels (L1) of
//! hybrid regions coherent across instances sharing one Redis.
//!
//! A write, remove or clear on one instance, once it reached Redis (L2), is
//! published on `{prefix}:backplane` as a small JSON message naming the
//! instance, the region and what changed. Every instance's subscriber drops
//! that key, pattern or region from its own L1 (its own messages are
//! ignored), so its next read goes to L2 and sees the new value.
//!
//! Pub/sub forgets messages sent while a subscriber is away. So:
//!
//! - the subscriber checks its connection with a `PING` whenever it has
//!   been quiet for `ping_every`; a broken or stalled subscription is
//!   reopened, with backoff, and after every (re)subscription the L1 of
//!   every registered region is cleared (a resync): whatever was missed
//!   cannot survive it;
//! - a message that cannot be published (Redis down) is kept in a bounded
//!   outbox and sent when Redis answers again; when the outbox overflows, one
//!   "every region" message replaces what was lost.
//!
//! The same subscriber connection also listens on `{prefix}:config:changed`,
//! where a committed configuration version is announced (by the commit's
//! own Lua script, see `config/state_redis.rs`) as
//! `{"from": "<instance>", "version": N}`. The newest version announced by
//! another instance, and the number of (re)subscriptions, are kept in a
//! [`ConfigSignal`] that the configuration watcher follows
//! ([`Backplane::config_signals`]): after a resubscription it re-reads the
//! version from Redis, since announcements may have been missed.
//!
//! On a Redis Cluster the channels are plain pub/sub, not sharded: a
//! plain `PUBLISH` on any node is forwarded to every node over the cluster
//! bus, so the subscriber listens on one node (a seed, the next seed after
//! its node fails) and hears every instance, whichever node each publishes
//! on; and the configuration commit's script publishes from the node that
//! owns the configuration's slot, which `SPUBLISH` would only allow for a
//! channel in that same slot. Sharded pub/sub would spare the cluster bus
//! the copies, which matters for high message rates, not for invalidations.
//!
//! Staleness bound: while both instances reach Redis, the time for a
//! message to arrive (sub-millisecond on a LAN). When the subscriber loses
//! Redis, its L1 may serve entries changed elsewhere until it resubscribes:
//! at most `ping_every + response_timeout` after Redis answers again (plus
//! the reconnect backoff, at most 2 s), never longer than the entries'
//! memory TTL.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::RedisError;
use super::fleet_clear::{ClearHandler, FleetAnswer, FleetClears, Reply, Request};
use super::link::RedisLink;

/// The most messages kept while Redis is unreachable.
const OUTBOX: usize = 4_096;

/// The longest wait between two tries to resubscribe.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What other instances drop from a region's memory level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "arg", rename_all = "snake_case")]
pub(crate) enum Invalidation {
    /// One key, by its text form.
    Key(String),
    /// Several keys (a batch write).
    Keys(Vec<String>),
    /// The keys whose text matches a glob.
    Matching(String),
    /// The whole region.
    Region,
}

/// One message on the channel.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    /// The sending instance.
    from: String,
    /// The region; `None` for every region (after an outbox overflow).
    region: Option<String>,
    #[serde(flatten)]
    what: Invalidation,
}

/// One configuration announcement on the config channel.
#[derive(Debug, Serialize, Deserialize)]
struct ConfigMessage {
    /// The committing instance.
    from: String,
    /// The version it committed.
    version: u64,
}

/// What the config channel told this instance so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConfigSignal {
    /// The newest configuration version another instance announced (0:
    /// none yet).
    pub(crate) version: u64,
    /// Subscriptions made so far: when it grows, announcements may have
    /// been missed meanwhile.
    pub(crate) subscriptions: u64,
}

/// A region's memory level, as the backplane reaches it.
pub(crate) trait LocalLevel: Send + Sync {
    /// Drops what `what` names from the memory level only (nothing is
    /// written to Redis, nothing is published); `received` when another
    /// instance's message asked for it (not a resync).
    fn invalidate_local(&self, what: &Invalidation, received: bool);
}

/// The backplane's counters for a manager (all regions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BackplaneStats {
    /// Whether the subscription is live now.
    pub subscribed: bool,
    /// Messages published.
    pub sent: u64,
    /// Messages from other instances applied here.
    pub received: u64,
    /// This instance's own messages, ignored.
    pub own_ignored: u64,
    /// Messages that could not be published at once (kept for later).
    pub deferred: u64,
    /// Messages lost: outbox overflow (replaced by one clear of every
    /// region) or unreadable messages received.
    pub dropped: u64,
    /// Subscriptions made (1 + resubscriptions).
    pub subscriptions: u64,
    /// Memory levels cleared because messages may have been missed.
    pub resyncs: u64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    own_ignored: AtomicU64,
    deferred: AtomicU64,
    dropped: AtomicU64,
    subscriptions: AtomicU64,
    resyncs: AtomicU64,
}

#[derive(Default)]
struct Outbox {
    waiting: VecDeque<Message>,
    overflowed: bool,
}

/// The backplane of one manager.
pub(crate) struct Backplane {
    link: Arc<RedisLink>,
    channel: String,
    config_channel: String,
    instance: String,
    regions: RwLock<HashMap<String, Weak<dyn LocalLevel>>>,
    outbox: Mutex<Outbox>,
    subscribed: AtomicBool,
    counters: Counters,
    config_signal: tokio::sync::watch::Sender<ConfigSignal>,
    /// Fleet-wide clears, on two channels of their own.
    clears: Arc<FleetClears>,
}

impl std::fmt::Debug for Backplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backplane")
            .field("channel", &self.channel)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Backplane {
    /// Starts the subscriber on the link's I/O thread; it stops when the
    /// backplane is dropped.
    pub(crate) fn start(link: &Arc<RedisLink>) -> Arc<Backplane> {
        let backplane = Arc::new(Backplane {
            channel: link.config().channel(),
            config_channel: Backplane::config_channel(link.config()),
            link: Arc::clone(link),
            instance: instance_id(),
            regions: RwLock::new(HashMap::new()),
            outbox: Mutex::new(Outbox::default()),
            subscribed: AtomicBool::new(false),
            counters: Counters::default(),
            config_signal: tokio::sync::watch::Sender::new(ConfigSignal::default()),
            clears: Arc::new(FleetClears::new(&link.config().prefix)),
        });
        link.spawn(subscribe(Arc::downgrade(&backplane)));
        backplane
    }

    /// The channel configuration versions are announced on:
    /// `{prefix}:config:changed`.
    pub(crate) fn config_channel(config: &super::RedisConfig) -> String {
        format!("{}:config:changed", config.prefix)
    }

    /// The announcement of `version`, committed by `from`, as published on
    /// [`Backplane::config_channel`].
    pub(crate) fn config_announcement(from: &str, version: u64) -> String {
        serde_json::json!({ "from": from, "version": version }).to_string()
    }

    /// This instance's id in messages (its own are ignored).
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// Follows what the config channel tells: a change is seen when another
    /// instance announces a newer version, and after every
    /// (re)subscription. Ends (`changed` fails) when the backplane is
    /// dropped.
    pub(crate) fn config_signals(&self) -> tokio::sync::watch::Receiver<ConfigSignal> {
        self.config_signal.subscribe()
    }

    /// Delivers messages for `region` to `level` from now on.
    pub(crate) fn register(&self, region: &str, level: Weak<dyn LocalLevel>) {
        self.regions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(region.to_owned(), level);
    }

    /// Runs the clears other instances ask for (see
    /// [`fleet_clear`](Backplane::fleet_clear)) with `handler`.
    pub(crate) fn set_clear_handler(&self, handler: ClearHandler) {
        self.clears.set_handler(handler);
    }

    /// Asks every other instance subscribed to this Redis to clear
    /// `region` (the keys matching `pattern`, or all) and waits up to
    /// `wait` for their answers: how many the request reached, and the
    /// answers that came.
    ///
    /// # Errors
    ///
    /// A [`RedisError`] when the request cannot be published, or
    /// [`RedisError::Setup`] while this instance is not subscribed (it
    /// could not hear the answers).
    pub(crate) async fn fleet_clear(
        &self,
        region: &str,
        pattern: Option<&str>,
        wait: Duration,
    ) -> Result<(u64, Vec<FleetAnswer>), RedisError> {
        if !self.subscribed.load(Ordering::Relaxed) {
            return Err(RedisError::Setup(String::from(
                "the backplane is not subscribed (Redis unreachable, or the manager is starting): the other instances' answers could not be heard; try again",
            )));
        }
        let request = Request {
            id: instance_id(),
            from: self.instance.clone(),
            region: region.to_owned(),
            pattern: pattern.map(str::to_owned),
        };
        let mut waiting = self.clears.wait_for(&request.id);
        let payload = serde_json::to_vec(&request)
            .map_err(|error| RedisError::Setup(format!("fleet clear request: {error}")))?;
        let receivers = self
            .publish_to(&self.clears.request_channel, payload)
            .await?;
        // Every subscriber but this instance's own.
        let reached = receivers.saturating_sub(1);
        let mut answers = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while (answers.len() as u64) < reached {
            match tokio::time::timeout_at(deadline, waiting.answers.recv()).await {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) | Err(_) => break,
            }
        }
        Ok((reached, answers))
    }

    /// Runs a clear another instance asked for, then answers it.
    fn deliver_clear_request(self: &Arc<Self>, payload: &[u8]) {
        let Ok(request) = serde_json::from_slice::<Request>(payload) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if request.from == self.instance {
            return;
        }
        let backplane = Arc::downgrade(self);
        let handler = self.clears.handler();
        self.link.spawn(async move {
            let outcome = match handler {
                Some(handler) => handler(request.region, request.pattern).await,
                None => Err(String::from("this instance does not run fleet clears")),
            };
            let Some(backplane) = backplane.upgrade() else {
                return;
            };
            let (removed, error) = match outcome {
                Ok(removed) => (Some(removed), None),
                Err(error) => (None, Some(error)),
            };
            let reply = Reply {
                id: request.id,
                from: backplane.instance.clone(),
                removed,
                error,
            };
            if let Ok(payload) = serde_json::to_vec(&reply) {
                // An answer that cannot be sent is a missing answer.
                let channel = backplane.clears.reply_channel.clone();
                let _ = backplane.publish_to(&channel, payload).await;
            }
        });
    }

    /// Takes an answer to a fleet clear.
    fn deliver_clear_reply(&self, payload: &[u8]) {
        match serde_json::from_slice::<Reply>(payload) {
            Ok(reply) => self.clears.deliver_reply(reply),
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `PUBLISH`es `payload` on `channel`: how many subscribers got it.
    async fn publish_to(&self, channel: &str, payload: Vec<u8>) -> Result<u64, RedisError> {
        self.link
            .call(
                "PUBLISH",
                || format!("channel `{channel}`"),
                |mut connection| async move {
                    redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(payload)
                        .query_async::<u64>(&mut connection)
                        .await
                },
            )
            .await
    }

    /// Publishes `what` for `region`; when Redis cannot take it, keeps it
    /// for later. Whether it was published now. Awaited in the I/O context.
    pub(crate) async fn publish(&self, region: &str, what: Invalidation) -> bool {
        let message = Message {
            from: self.instance.clone(),
            region: Some(region.to_owned()),
            what,
        };
        // Older messages first, so that order is kept.
        if !self.flush_outbox().await {
            self.defer(message);
            return false;
        }
        match self.send(&message).await {
            Ok(()) => true,
            Err(_) => {
                self.defer(message);
                false
            }
        }
    }

    async fn send(&self, message: &Message) -> Result<(), RedisError> {
        let payload = serde_json::to_vec(message)
            .map_err(|error| RedisError::Setup(format!("backplane message: {error}")))?;
        let outcome = self
            .link
            .call(
                "PUBLISH",
                || format!("channel `{}`", self.channel),
                |mut connection| async move {
                    redis::cmd("PUBLISH")
                        .arg(&self.channel)
                        .arg(payload)
                        .query_async::<u64>(&mut connection)
                        .await
                        .map(drop)
                },
            )
            .await;
        if outcome.is_ok() {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    fn defer(&self, message: Message) {
        self.counters.deferred.fetch_add(1, Ordering::Relaxed);
        let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        if outbox.overflowed {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if outbox.waiting.len() >= OUTBOX {
            let lost = outbox.waiting.len() as u64 + 1;
            self.counters.dropped.fetch_add(lost, Ordering::Relaxed);
            outbox.waiting.clear();
            outbox.overflowed = true;
            return;
        }
        outbox.waiting.push_back(message);
    }

    /// Sends what the outbox holds; whether it is empty now.
    async fn flush_outbox(&self) -> bool {
        loop {
            let next = {
                let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
                if outbox.overflowed {
                    outbox.overflowed = false;
                    Some(Message {
                        from: self.instance.clone(),
                        region: None,
                        what: Invalidation::Region,
                    })
                } else {
                    outbox.waiting.pop_front()
                }
            };
            let Some(message) = next else {
                return true;
            };
            if self.send(&message).await.is_err() {
                let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
                if message.region.is_none() {
                    outbox.overflowed = true;
                } else {
                    outbox.waiting.push_front(message);
                }
                return false;
            }
        }
    }

    /// Applies a message received on the channel.
    fn deliver(&self, payload: &[u8]) {
        let Ok(message) = serde_json::from_slice::<Message>(payload) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if message.from == self.instance {
            self.counters.own_ignored.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        let regions = self.regions.read().unwrap_or_else(PoisonError::into_inner);
        match &message.region {
            Some(region) => {
                if let Some(level) = regions.get(region).and_then(Weak::upgrade) {
                    level.invalidate_local(&message.what, true);
                }
            }
            None => {
                for level in regions.values().filter_map(Weak::upgrade) {
                    level.invalidate_local(&Invalidation::Region, true);
                }
            }
        }
    }

    /// Takes a configuration announcement received on the config channel.
    /// Unreadable ones count as dropped; they are not counted as received
    /// or ignored (those count invalidations).
    fn deliver_config(&self, payload: &[u8]) {
        let Ok(message) = serde_json::from_slice::<ConfigMessage>(payload) else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if message.from == self.instance {
            return;
        }
        self.config_signal.send_if_modified(|signal| {
            let newer = message.version > signal.version;
            if newer {
                signal.version = message.version;
            }
            newer
        });
    }

    /// Clears every registered memory level: what may have been missed
    /// while unsubscribed cannot be served.
    fn resync(&self) {
        self.counters.resyncs.fetch_add(1, Ordering::Relaxed);
        let levels: Vec<Arc<dyn LocalLevel>> = self
            .regions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for level in levels {
            level.invalidate_local(&Invalidation::Region, false);
        }
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> BackplaneStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let c = &self.counters;
        BackplaneStats {
            subscribed: self.subscribed.load(Ordering::Relaxed),
            sent: read(&c.sent),
            received: read(&c.received),
            own_ignored: read(&c.own_ignored),
            deferred: read(&c.deferred),
            dropped: read(&c.dropped),
            subscriptions: read(&c.subscriptions),
            resyncs: read(&c.resyncs),
        }
    }
}

/// The subscriber: subscribe, apply messages, check the connection when
/// quiet, resubscribe (with backoff) when it breaks; ends when the
/// backplane is dropped.
async fn subscribe(backplane: Weak<Backplane>) {
    let mut backoff = Duration::from_millis(20);
    // Which seed of a cluster to subscribe on: the next one after a failure.
    let mut attempt: u64 = 0;
    loop {
        let Some(strong) = backplane.upgrade() else {
            return;
        };
        let config = strong.link.config().clone();
        let client = strong.link.subscriber_client(attempt);
        attempt = attempt.wrapping_add(1);
        let channel = strong.channel.clone();
        let config_channel = strong.config_channel.clone();
        let request_channel = strong.clears.request_channel.clone();
        let reply_channel = strong.clears.reply_channel.clone();
        drop(strong);

        let opened = tokio::time::timeout(config.connect_timeout, client.get_async_pubsub()).await;
        if let Ok(Ok(pubsub)) = opened {
            let (mut sink, mut stream) = pubsub.split();
            let subscribed = tokio::time::timeout(
                config.response_timeout,
                sink.subscribe(&[&channel, &config_channel, &request_channel, &reply_channel]),
            )
            .await;
            if let Ok(Ok(())) = subscribed {
                let Some(strong) = backplane.upgrade() else {
                    return;
                };
                strong.subscribed.store(true, Ordering::Relaxed);
                strong
                    .counters
                    .subscriptions
                    .fetch_add(1, Ordering::Relaxed);
                strong.resync();
                strong
                    .config_signal
                    .send_modify(|signal| signal.subscriptions += 1);
                strong.flush_outbox().await;
                drop(strong);
                backoff = Duration::from_millis(20);

                loop {
                    let next = std::future::poll_fn(|cx| {
                        futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
                    });
                    match tokio::time::timeout(config.ping_every, next).await {
                        Ok(Some(message)) => {
                            let Some(strong) = backplane.upgrade() else {
                                return;
                            };
                            let payload = message.get_payload_bytes();
                            let name = message.get_channel_name();
                            if name == config_channel {
                                strong.deliver_config(payload);
                            } else if name == request_channel {
                                strong.deliver_clear_request(payload);
                            } else if name == reply_channel {
                                strong.deliver_clear_reply(payload);
                            } else {
                                strong.deliver(payload);
                            }
                        }
                        // The connection closed.
                        Ok(None) => break,
                        Err(_quiet) => {
                            if backplane.strong_count() == 0 {
                                return;
                            }
                            let pong = tokio::time::timeout(
                                config.response_timeout,
                                sink.ping::<redis::Value>(),
                            )
                            .await;
                            if !matches!(pong, Ok(Ok(_))) {
                                break;
                            }
                            // Redis answers: send what waited in the outbox.
                            if let Some(strong) = backplane.upgrade() {
                                strong.flush_outbox().await;
                            }
                        }
                    }
                }
                if let Some(strong) = backplane.upgrade() {
                    strong.subscribed.store(false, Ordering::Relaxed);
                }
                continue;
            }
        }
        tokio::time::sleep(super::breaker::jittered(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A random id for this instance (16 hex digits).
pub(crate) fn instance_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_as_written() {
        for what in [
            Invalidation::Key("user:7".into()),
            Invalidation::Matching("user:*".into()),
            Invalidation::Region,
        ] {
            let message = Message {
                from: "a".into(),
                region: Some("users".into()),
                what: what.clone(),
            };
            let bytes = serde_json::to_vec(&message).expect("encodes");
            let back: Message = serde_json::from_slice(&bytes).expect("decodes");
            assert_eq!(back.what, what);
            assert_eq!(back.region.as_deref(), Some("users"));
        }
    }

    #[test]
    fn config_announcements_read_back_as_written() {
        let config = super::super::RedisConfig::new("redis://127.0.0.1/").prefix("shop");
        assert_eq!(Backplane::config_channel(&config), "shop:config:changed");
        let text = Backplane::config_announcement("a1", 42);
        let back: ConfigMessage = serde_json::from_str(&text).expect("decodes");
        assert_eq!((back.from.as_str(), back.version), ("a1", 42));
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(instance_id(), instance_id());
        assert_eq!(instance_id().len(), 16);
    }
}
