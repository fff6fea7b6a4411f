//! Alerting: an in-process engine that evaluates rules over the regions'
//! metric history and the second levels' health, with Prometheus'
//! semantics (pending `for`, firing, resolved, hysteresis,
//! `keep_firing_for`, minimum volume, grouping, inhibition, silences), and
//! notifies webhooks (Alertmanager's JSON), email, the event stream, the
//! dashboard and `tracing`.
//!
//! - `rules.rs`: the rules document, its defaults and checks;
//! - `engine.rs`: the state machine (no I/O, no clock);
//! - `signal.rs`: each rule's value, read from the manager;
//! - `webhook.rs`, `email.rs`, `tls.rs`: the channels;
//! - `store.rs`: the state file;
//! - `time.rs`: RFC 3339 times.

mod email;
mod engine;
pub(crate) mod rules;
mod shared;
mod signal;
mod store;
mod time;
mod tls;
mod webhook;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use cache_runtime::CacheManager;
use cache_runtime::stats::{Clock, SystemClock};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use utoipa::ToSchema;

pub use self::engine::{Alert, AlertChange, AlertState, Silence};
pub use self::rules::{
    AlertRules, ChannelConfig, ChannelTarget, InhibitRule, Matcher, Override, Rule, RuleKind,
    RuleProblem, Secret, Severity, SmtpTls,
};
pub use self::webhook::SIGNATURE_HEADER;

use self::engine::{Engine, Notification};

/// How the alert engine runs: where it keeps its state, how often it
/// evaluates, its clock, the rules it starts with.
///
/// ```
/// use std::time::Duration;
/// use cache_admin::{AdminConfig, AlertSettings};
///
/// let config = AdminConfig::new().alerts(
///     AlertSettings::new()
///         .state_file("/var/lib/myapp/alerts.json")
///         .evaluate_every(Duration::from_secs(15))
///         .dashboard_url("https://cache-admin.internal.example"),
/// );
/// ```
#[derive(Clone)]
#[must_use]
pub struct AlertSettings {
    pub(crate) state_file: Option<PathBuf>,
    pub(crate) evaluate_every: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rules: AlertRules,
    pub(crate) dashboard_url: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) shared: bool,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            state_file: None,
            evaluate_every: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            rules: AlertRules::default(),
            dashboard_url: None,
            enabled: true,
            shared: true,
        }
    }
}

impl std::fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSettings")
            .field("state_file", &self.state_file)
            .field("evaluate_every", &self.evaluate_every)
            .field("dashboard_url", &self.dashboard_url)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl AlertSettings {
    /// The built-in rules ([`AlertRules::default`]), evaluated every 10 s
    /// on the system clock, kept in memory only, no channel.
    pub fn new() -> AlertSettings {
        AlertSettings::default()
    }

    /// Keeps rules, silences and alert states in this file (written
    /// atomically, owner-only), so that a restart neither forgets a
    /// silence nor pages again for an alert already sent.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> AlertSettings {
        self.state_file = Some(path.into());
        self
    }

    /// How often the rules are evaluated (at least 10 ms; default 10 s, the
    /// history's step).
    pub fn evaluate_every(mut self, every: Duration) -> AlertSettings {
        self.evaluate_every = every.max(Duration::from_millis(10));
        self
    }

    /// The clock that dates alerts and windows: share the manager's
    /// [`stats_clock`](cache_runtime::CacheManagerBuilder::stats_clock)
    /// (a `ManualClock` in tests) so both see the same time.
    pub fn clock(mut self, clock: impl Clock) -> AlertSettings {
        self.clock = Arc::new(clock);
        self
    }

    /// The rules to start with when the state file has none. Rules that
    /// do not pass [`AlertRules::check`] are not used: the built-in ones
    /// apply, and `GET /alerts` says why in its warnings.
    pub fn rules(mut self, rules: AlertRules) -> AlertSettings {
        self.rules = rules;
        self
    }

    /// The dashboard's public address, for links in notifications.
    pub fn dashboard_url(mut self, url: impl Into<String>) -> AlertSettings {
        self.dashboard_url = Some(url.into());
        self
    }

    /// Keeps this instance's alerting to itself even when the manager has
    /// Redis. By default, instances on one Redis share their rules,
    /// silences and alert states there, and only one of them (the holder
    /// of a lease in Redis) evaluates and notifies for the fleet.
    pub fn local_only(mut self) -> AlertSettings {
        self.shared = false;
        self
    }

    /// No evaluation at all (the alert endpoints still answer).
    pub fn disabled(mut self) -> AlertSettings {
        self.enabled = false;
        self
    }
}

/// An alert's change, as the event stream sends it (`event: alert`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AlertEvent {
    /// When, Unix ms.
    pub at_ms: u64,
    /// `pending`, `firing` or `resolved`.
    pub state: AlertState,
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// Whether a silence or an inhibition holds its notifications back.
    pub muted: bool,
    /// One line: what, where, value and threshold.
    pub summary: String,
}

/// How a channel's deliveries went since this instance started.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ChannelStatus {
    /// The channel.
    pub id: String,
    /// `webhook` or `email`.
    pub kind: String,
    /// Notifications delivered.
    pub sent: u64,
    /// Notifications that failed after their retries.
    pub failed: u64,
    /// The last failure, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last delivery ended, Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_at_ms: Option<u64>,
}

/// Why an alerting change was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AlertError {
    #[error("the change was made against version {expected}, the rules are at version {current}")]
    Stale { expected: u64, current: u64 },
    #[error("the rules do not pass their checks")]
    Invalid(Vec<RuleProblem>),
    #[error("no silence has id {0:?}")]
    NoSilence(String),
    #[error("no channel is named {0:?}")]
    NoChannel(String),
    #[error("{0}")]
    BadSilence(String),
    /// The fleet's shared alerting state cannot be read or written.
    #[error("the fleet's alerting state in Redis cannot be changed now: {0}")]
    Shared(String),
}

/// The rules, the engine's state, their version.
#[derive(Clone)]
struct Doc {
    version: u64,
    rules: AlertRules,
    engine: Engine,
}

/// A notification on its way to the channels.
struct Outgoing {
    notification: Notification,
    rules: AlertRules,
}

/// The alerting of one admin API.
pub(crate) struct Alerting {
    settings: AlertSettings,
    doc: Mutex<Doc>,
    channels: Mutex<BTreeMap<String, ChannelStatus>>,
    events: broadcast::Sender<AlertEvent>,
    outbox: Mutex<Option<mpsc::UnboundedSender<Outgoing>>>,
    /// What went wrong reading the state file, if anything.
    warning: Option<String>,
    /// Saving the state file failed last time (reported, retried).
    save_error: Mutex<Option<String>>,
    /// The engine's time at the last evaluation (here or, with Redis, by
    /// the fleet's notifier), Unix ms.
    evaluated_at: std::sync::atomic::AtomicU64,
    /// The fleet's shared state, with Redis.
    shared: Option<shared::Shared>,
    /// Whether this instance evaluated and notified in its last round.
    notifying: std::sync::atomic::AtomicBool,
}

pub(crate) fn now_ms() -> u64 {
    crate::audit::now_ms()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The changes `after` recorded since `before`, oldest first.
fn changes_since(before: &Engine, after: &Engine) -> Vec<AlertChange> {
    let made = usize::try_from(after.changes.saturating_sub(before.changes)).unwrap_or(usize::MAX);
    let history = &after.history;
    history
        .iter()
        .skip(history.len().saturating_sub(made))
        .cloned()
        .collect()
}

impl Alerting {
    pub(crate) fn new(settings: AlertSettings, manager: &CacheManager) -> Alerting {
        let (mut version, mut rules, mut engine, mut warning) =
            (0, settings.rules.clone(), Engine::default(), None);
        let mut problems = rules.check();
        problems.extend(availability_problems(&rules));
        if !problems.is_empty() {
            let message = format!(
                "the configured alert rules do not pass their checks ({}); the built-in rules apply",
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            tracing::error!(target: "cache_admin::alerts", "{message}");
            warning = Some(message);
            rules = AlertRules::default();
        }
        if let Some(path) = &settings.state_file {
            match store::load(path) {
                store::Loaded::Missing => {}
                store::Loaded::Found(saved) => {
                    version = saved.version;
                    rules = saved.rules;
                    engine = saved.state;
                }
                store::Loaded::Unusable { reason, moved_to } => {
                    let message = match moved_to {
                        Some(aside) => format!(
                            "alerting state not restored ({reason}); the file was moved to {} and the built-in rules apply",
                            aside.display()
                        ),
                        None => format!(
                            "alerting state not restored ({reason}); the built-in rules apply"
                        ),
                    };
                    tracing::warn!(target: "cache_admin::alerts", "{message}");
                    warning = Some(message);
                }
            }
        }
        let shared = if settings.shared {
            shared::Shared::of(manager)
        } else {
            None
        };
        Alerting {
            doc: Mutex::new(Doc {
                version,
                rules,
                engine,
            }),
            channels: Mutex::new(BTreeMap::new()),
            events: broadcast::channel(256).0,
            outbox: Mutex::new(None),
            warning,
            save_error: Mutex::new(None),
            evaluated_at: std::sync::atomic::AtomicU64::new(0),
            shared,
            notifying: std::sync::atomic::AtomicBool::new(false),
            settings,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<AlertEvent> {
        self.events.subscribe()
    }

    fn now(&self) -> u64 {
        self.settings.clock.now_ms()
    }

    /// Starts the evaluation loop and the notification sender on the
    /// current tokio runtime (none: nothing is evaluated). Both stop once
    /// `alerting` is dropped.
    pub(crate) fn start(alerting: &Arc<Alerting>, manager: CacheManager) {
        if !alerting.settings.enabled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(target: "cache_admin::alerts", "no tokio runtime where the admin router was built: alerts are not evaluated");
            return;
        };
        let (outbox, mut queue) = mpsc::unbounded_channel::<Outgoing>();
        *lock(&alerting.outbox) = Some(outbox);
        let weak: Weak<Alerting> = Arc::downgrade(alerting);
        runtime.spawn(async move {
            while let Some(outgoing) = queue.recv().await {
                let Some(alerting) = weak.upgrade() else {
                    break;
                };
                alerting.send(&outgoing).await;
            }
        });
        let weak: Weak<Alerting> = Arc::downgrade(alerting);
        let every = alerting.settings.evaluate_every;
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(alerting) = weak.upgrade() else {
                    break;
                };
                alerting.evaluate(&manager).await;
            }
        });
    }

    /// One evaluation round. With Redis, only the holder of the fleet's
    /// notifier lease evaluates and notifies, on the shared state; the
    /// others follow it. Without Redis, or while it fails, each instance
    /// evaluates on its own state.
    pub(crate) async fn evaluate(&self, manager: &CacheManager) {
        let notifying = |on: bool| {
            self.notifying
                .store(on, std::sync::atomic::Ordering::Release);
        };
        if let Some(shared) = &self.shared {
            shared.beat().await;
            match shared.lease(self.settings.evaluate_every).await {
                Ok(true) => {
                    if self.evaluate_shared(manager, shared).await {
                        notifying(true);
                        return;
                    }
                }
                Ok(false) => {
                    if let Ok((revision, doc, at)) = shared.load(|| lock(&self.doc).clone()).await {
                        self.follow(revision, doc, at);
                        notifying(false);
                        return;
                    }
                }
                Err(_) => {}
            }
            shared.went_local();
        }
        notifying(true);
        self.evaluate_local(manager).await;
    }

    /// Evaluates on this instance's own state.
    async fn evaluate_local(&self, manager: &CacheManager) {
        let rules = lock(&self.doc).rules.clone();
        let now = self.now();
        let observations = signal::observe(manager, &rules, now, &[]).await;
        let (notifications, changes, saved) = {
            let mut doc = lock(&self.doc);
            let before = doc.engine.clone();
            let rules = doc.rules.clone();
            let notifications = doc.engine.evaluate(&rules, observations, now);
            let changes = changes_since(&before, &doc.engine);
            let dirty = !changes.is_empty() || !notifications.is_empty();
            (notifications, changes, dirty.then(|| doc.clone()))
        };
        if let Some(doc) = saved {
            self.persist(&doc);
        }
        self.evaluated_at
            .store(now, std::sync::atomic::Ordering::Release);
        self.announce(changes);
        self.queue(notifications, &rules).await;
    }

    /// Evaluates on the fleet's shared state as its notifier; `false` when
    /// Redis failed (the caller evaluates locally instead).
    async fn evaluate_shared(&self, manager: &CacheManager, shared: &shared::Shared) -> bool {
        let Ok((revision, mut doc, _)) = shared.load(|| lock(&self.doc).clone()).await else {
            return false;
        };
        // Alerts this instance evaluated on its own while Redis failed
        // carry what it notified meanwhile.
        if shared.take_local() {
            let local = lock(&self.doc).clone();
            doc.engine.alerts = local.engine.alerts;
            doc.engine.history = local.engine.history;
            doc.engine.changes = doc.engine.changes.max(local.engine.changes);
        }
        let now = self.now();
        let members = shared.members().await;
        let observations = signal::observe(manager, &doc.rules, now, &members).await;
        let rules = doc.rules.clone();
        let notifications = doc.engine.evaluate(&rules, observations, now);
        match shared.store(revision, &doc, now).await {
            // Written: this instance's notifications are the fleet's.
            Ok(Some(new_revision)) => {
                let changes = self.adopt(doc, new_revision, now);
                self.announce(changes);
                self.queue(notifications, &rules).await;
                true
            }
            // Another instance changed the rules or silences meanwhile:
            // the next round evaluates on theirs (nothing was sent).
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// Takes the fleet's shared state as this instance's view.
    fn follow(&self, revision: u64, doc: Doc, evaluated_at: u64) {
        if let Some(shared) = &self.shared
            && !shared.newer(revision)
        {
            return;
        }
        let changes = self.adopt(doc, revision, evaluated_at);
        self.announce(changes);
    }

    /// Replaces the local state with `doc` (revision `revision` of the
    /// shared one, evaluated at `evaluated_at`); the changes it brings.
    fn adopt(&self, doc: Doc, revision: u64, evaluated_at: u64) -> Vec<AlertChange> {
        let changes = {
            let mut local = lock(&self.doc);
            let changes = changes_since(&local.engine, &doc.engine);
            *local = doc.clone();
            changes
        };
        if let Some(shared) = &self.shared {
            shared.seen(revision);
        }
        self.persist(&doc);
        self.evaluated_at
            .store(evaluated_at, std::sync::atomic::Ordering::Release);
        changes
    }

    /// Publishes changes on the event stream and in the log.
    fn announce(&self, changes: Vec<AlertChange>) {
        for change in changes {
            let alert = &change.alert;
            tracing::info!(
                target: "cache_admin::alerts",
                state = ?alert.state,
                fingerprint = %alert.fingerprint,
                muted = alert.muted(),
                "{}",
                alert.summary()
            );
            let _ = self.events.send(AlertEvent {
                at_ms: change.at_ms,
                state: alert.state,
                fingerprint: alert.fingerprint.clone(),
                labels: alert.labels.clone(),
                value: alert.value,
                threshold: alert.threshold,
                muted: alert.muted(),
                summary: alert.summary(),
            });
        }
    }

    /// Hands notifications to the sender (or sends them here when no
    /// sender runs).
    async fn queue(&self, notifications: Vec<Notification>, rules: &AlertRules) {
        if notifications.is_empty() {
            return;
        }
        let outbox = lock(&self.outbox).clone();
        for notification in notifications {
            let outgoing = Outgoing {
                notification,
                rules: rules.clone(),
            };
            match &outbox {
                Some(outbox) => {
                    let _ = outbox.send(outgoing);
                }
                None => self.send(&outgoing).await,
            }
        }
    }

    fn persist(&self, doc: &Doc) {
        let Some(path) = &self.settings.state_file else {
            return;
        };
        let outcome = store::save(path, doc.version, &doc.rules, &doc.engine);
        let mut error = lock(&self.save_error);
        match outcome {
            Ok(()) => *error = None,
            Err(failure) => {
                let message = format!("{}: {failure}", path.display());
                tracing::error!(target: "cache_admin::alerts", "cannot save the alerting state: {message}");
                *error = Some(message);
            }
        }
    }

    /// Applies a change to the rules or silences: on the fleet's shared
    /// state with Redis (read, change, compare-and-set, a few times if
    /// other instances write meanwhile; refused while Redis fails, so no
    /// instance's change is lost), else on this instance's.
    async fn change<T>(
        &self,
        apply: impl Fn(&mut Doc, u64) -> Result<T, AlertError>,
    ) -> Result<T, AlertError> {
        let now = self.now();
        if let Some(shared) = &self.shared {
            for _ in 0..5 {
                let (revision, mut doc, evaluated_at) = shared
                    .load(|| lock(&self.doc).clone())
                    .await
                    .map_err(AlertError::Shared)?;
                let value = apply(&mut doc, now)?;
                let rules = doc.rules.clone();
                doc.engine.mute(&rules, now);
                match shared
                    .store(revision, &doc, evaluated_at)
                    .await
                    .map_err(AlertError::Shared)?
                {
                    Some(new_revision) => {
                        let changes = self.adopt(doc, new_revision, evaluated_at);
                        self.announce(changes);
                        return Ok(value);
                    }
                    None => continue,
                }
            }
            return Err(AlertError::Shared(String::from(
                "other instances changed it five times in a row while this change was made: try again",
            )));
        }
        let doc = {
            let mut doc = lock(&self.doc);
            let value = apply(&mut doc, now)?;
            let rules = doc.rules.clone();
            doc.engine.mute(&rules, now);
            (value, doc.clone())
        };
        self.persist(&doc.1);
        Ok(doc.0)
    }

    /// Sends one notification to each of its channels (every channel when
    /// it names none), one after the other.
    async fn send(&self, outgoing: &Outgoing) {
        let notification = &outgoing.notification;
        let targets: Vec<&ChannelConfig> = outgoing
            .rules
            .channels
            .iter()
            .filter(|c| notification.channels.is_empty() || notification.channels.contains(&c.id))
            .collect();
        for channel in targets {
            let outcome = self
                .deliver(channel, &notification.group, &notification.alerts)
                .await;
            self.note(channel, &outcome);
        }
    }

    fn note(&self, channel: &ChannelConfig, outcome: &Result<String, String>) {
        let mut channels = lock(&self.channels);
        let status = channels
            .entry(channel.id.clone())
            .or_insert_with(|| ChannelStatus {
                id: channel.id.clone(),
                ..ChannelStatus::default()
            });
        status.kind = kind_of(&channel.target).to_owned();
        status.last_at_ms = Some(now_ms());
        match outcome {
            Ok(detail) => {
                status.sent += 1;
                tracing::info!(target: "cache_admin::alerts", channel = %channel.id, "notification delivered: {detail}");
            }
            Err(error) => {
                status.failed += 1;
                status.last_error = Some(error.clone());
                tracing::error!(target: "cache_admin::alerts", channel = %channel.id, "notification not delivered: {error}");
            }
        }
    }

    async fn deliver(
        &self,
        channel: &ChannelConfig,
        group: &BTreeMap<String, String>,
        alerts: &[Alert],
    ) -> Result<String, String> {
        let dashboard = self.settings.dashboard_url.as_deref();
        match &channel.target {
            ChannelTarget::Webhook {
                url,
                hmac_key,
                timeout_secs,
                retries,
                ca_pem,
            } => {
                let payload =
                    webhook::Payload::new(&channel.id, group, alerts, dashboard.unwrap_or(""));
                let body = serde_json::to_vec(&payload).map_err(|error| error.to_string())?;
                webhook::deliver(
                    url,
                    &body,
                    hmac_key.as_ref().and_then(Secret::value),
                    Duration::from_secs(*timeout_secs),
                    *retries,
                    ca_pem.as_deref(),
                )
                .await
                .map(|status| format!("{url} answered {status}"))
                .map_err(|error| error.to_string())
            }
            #[cfg(feature = "notify-tls")]
            ChannelTarget::Email {
                host,
                port,
                tls,
                username,
                password,
                from,
                to,
                dashboard_url,
                timeout_secs,
                ca_pem,
            } => {
                let (subject, body) =
                    email::compose(alerts, dashboard_url.as_deref().or(dashboard));
                email::deliver(
                    &email::Smtp {
                        host,
                        port: *port,
                        tls: *tls,
                        username: username.as_deref(),
                        password: password.as_ref().and_then(Secret::value),
                        from,
                        to,
                        timeout: Duration::from_secs(*timeout_secs),
                        ca_pem: ca_pem.as_deref(),
                    },
                    &subject,
                    body,
                )
                .await
            }
            #[cfg(not(feature = "notify-tls"))]
            ChannelTarget::Email { .. } => {
                let _ = email::compose(alerts, dashboard);
                Err(String::from(
                    "email channels need cache-admin's `notify-tls` feature",
                ))
            }
        }
    }

    /// The rules (secrets hidden) and their version.
    pub(crate) fn rules(&self) -> (u64, AlertRules) {
        let doc = lock(&self.doc);
        (doc.version, doc.rules.redacted())
    }

    /// The rules as they are now, with Redis read from the fleet's state.
    pub(crate) async fn current_rules(&self) -> (u64, AlertRules) {
        if let Some(shared) = &self.shared
            && let Ok((revision, doc, at)) = shared.load(|| lock(&self.doc).clone()).await
        {
            self.follow(revision, doc, at);
        }
        self.rules()
    }

    /// Replaces the rules, if `expected` is the version in force.
    pub(crate) async fn put_rules(
        &self,
        rules: AlertRules,
        expected: u64,
    ) -> Result<u64, AlertError> {
        self.change(|doc, _| {
            if doc.version != expected {
                return Err(AlertError::Stale {
                    expected,
                    current: doc.version,
                });
            }
            let mut rules = rules.clone();
            let mut problems = rules.keep_secrets(&doc.rules);
            problems.extend(rules.check());
            problems.extend(availability_problems(&rules));
            if !problems.is_empty() {
                return Err(AlertError::Invalid(problems));
            }
            doc.version += 1;
            doc.rules = rules;
            Ok(doc.version)
        })
        .await
    }

    /// Adds a silence.
    pub(crate) async fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        starts_at_ms: Option<u64>,
        duration_ms: u64,
        created_by: &str,
        comment: String,
    ) -> Result<Silence, AlertError> {
        let now = self.now();
        let starts_at_ms = starts_at_ms.unwrap_or(now);
        let ends_at_ms = starts_at_ms.saturating_add(duration_ms);
        if matchers.is_empty() {
            return Err(AlertError::BadSilence(String::from(
                "a silence needs at least one matcher (a silence of everything is a mistake waiting to happen)",
            )));
        }
        if matchers.iter().any(|m| m.name.trim().is_empty()) {
            return Err(AlertError::BadSilence(String::from(
                "every matcher needs a label name",
            )));
        }
        if ends_at_ms <= now {
            return Err(AlertError::BadSilence(String::from(
                "the silence would end before now",
            )));
        }
        if comment.trim().is_empty() {
            return Err(AlertError::BadSilence(String::from(
                "say why in `comment` (it is audited)",
            )));
        }
        let silence = Silence {
            id: new_id(),
            matchers,
            starts_at_ms,
            ends_at_ms,
            created_by: created_by.to_owned(),
            comment,
        };
        self.change(|doc, _| {
            doc.engine.silences.push(silence.clone());
            Ok(silence.clone())
        })
        .await
    }

    /// Expires a silence now.
    pub(crate) async fn expire_silence(&self, id: &str) -> Result<Silence, AlertError> {
        self.change(|doc, now| {
            let Some(silence) = doc.engine.silences.iter_mut().find(|s| s.id == id) else {
                return Err(AlertError::NoSilence(id.to_owned()));
            };
            silence.ends_at_ms = silence.ends_at_ms.min(now);
            Ok(silence.clone())
        })
        .await
    }

    /// Sends a test notification to channel `id` now.
    pub(crate) async fn test_channel(
        &self,
        id: &str,
    ) -> Result<Result<String, String>, AlertError> {
        let channel = lock(&self.doc)
            .rules
            .channels
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| AlertError::NoChannel(id.to_owned()))?;
        let now = self.now();
        let labels = BTreeMap::from([
            (String::from("alertname"), String::from("test")),
            (String::from("severity"), String::from("info")),
        ]);
        let alert = Alert {
            fingerprint: engine::fingerprint(&labels),
            labels,
            state: AlertState::Firing,
            value: None,
            threshold: 0.0,
            recover: 0.0,
            active_since_ms: now,
            firing_since_ms: Some(now),
            resolved_at_ms: None,
            recovered_since_ms: None,
            notified: true,
            silenced_by: Vec::new(),
            inhibited_by: None,
        };
        let outcome = self.deliver(&channel, &BTreeMap::new(), &[alert]).await;
        self.note(&channel, &outcome);
        Ok(outcome)
    }

    /// Everything `GET /alerts` shows.
    pub(crate) fn overview(&self) -> Overview {
        let now = self.now();
        let doc = lock(&self.doc);
        let mut firing = Vec::new();
        let mut pending = Vec::new();
        for alert in doc.engine.alerts.values() {
            match alert.state {
                AlertState::Firing => firing.push(alert.clone()),
                _ => pending.push(alert.clone()),
            }
        }
        let channels = lock(&self.channels);
        Overview {
            fleet_member: self
                .shared
                .as_ref()
                .map(|shared| shared.holder().to_owned()),
            notifying: self.notifying.load(std::sync::atomic::Ordering::Acquire),
            evaluated: self.settings.enabled,
            now_ms: now,
            last_evaluation_ms: Some(self.evaluated_at.load(std::sync::atomic::Ordering::Acquire))
                .filter(|at| *at != 0),
            version: doc.version,
            firing,
            pending,
            silences: doc
                .engine
                .silences
                .iter()
                .map(|s| SilenceView {
                    active: s.active(now),
                    expired: now >= s.ends_at_ms,
                    silence: s.clone(),
                })
                .collect(),
            history: doc.engine.history.iter().rev().take(200).cloned().collect(),
            channels: doc
                .rules
                .channels
                .iter()
                .map(|c| {
                    channels
                        .get(&c.id)
                        .cloned()
                        .unwrap_or_else(|| ChannelStatus {
                            id: c.id.clone(),
                            kind: kind_of(&c.target).to_owned(),
                            ..ChannelStatus::default()
                        })
                })
                .collect(),
            warnings: self
                .warning
                .iter()
                .chain(lock(&self.save_error).iter())
                .cloned()
                .collect(),
        }
    }
}

impl Drop for Alerting {
    /// Leaves the fleet's group (a clean stop is not a missing instance)
    /// and gives the notifier lease up, so another instance takes over at
    /// once rather than when the lease lapses.
    fn drop(&mut self) {
        if let Some(shared) = &self.shared
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let notifying = self.notifying.load(std::sync::atomic::Ordering::Acquire);
            runtime.spawn(shared.leave(notifying));
        }
    }
}

/// Problems of channels this build cannot use.
fn availability_problems(rules: &AlertRules) -> Vec<RuleProblem> {
    if tls::AVAILABLE {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (i, channel) in rules.channels.iter().enumerate() {
        match &channel.target {
            ChannelTarget::Email { .. } => problems.push(RuleProblem {
                field: format!("channels[{i}].kind"),
                message: String::from(
                    "email channels need cache-admin built with its `notify-tls` feature",
                ),
            }),
            ChannelTarget::Webhook { url, .. } if url.starts_with("https://") => {
                problems.push(RuleProblem {
                    field: format!("channels[{i}].url"),
                    message: String::from(
                        "https:// webhooks need cache-admin built with its `notify-tls` feature",
                    ),
                });
            }
            ChannelTarget::Webhook { .. } => {}
        }
    }
    problems
}

fn kind_of(target: &ChannelTarget) -> &'static str {
    match target {
        ChannelTarget::Webhook { .. } => "webhook",
        ChannelTarget::Email { .. } => "email",
    }
}

/// A random id: 16 hex digits from the time and a per-process counter,
/// mixed by blake3.
fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&now_ms().to_le_bytes());
    hasher.update(&NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.finalize().to_hex()[..16].to_owned()
}

/// A silence and whether it mutes now.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SilenceView {
    /// The silence.
    #[serde(flatten)]
    pub silence: Silence,
    /// Whether it mutes alerts now.
    pub active: bool,
    /// Whether it is over.
    pub expired: bool,
}

/// The alerts, silences, recent changes and channels.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Overview {
    /// With Redis: this instance's id among the instances that share the
    /// alerting state (one of them, the lease holder, notifies).
    pub fleet_member: Option<String>,
    /// Whether this instance evaluated and notified in its last round
    /// (always, without Redis; the lease holder, with it).
    pub notifying: bool,
    /// Whether the engine runs.
    pub evaluated: bool,
    /// The engine's time, Unix ms.
    pub now_ms: u64,
    /// The time of the last evaluation (`null` before the first).
    pub last_evaluation_ms: Option<u64>,
    /// The rules' version.
    pub version: u64,
    /// Alerts firing.
    pub firing: Vec<Alert>,
    /// Alerts pending (their condition holds, for less than `for`).
    pub pending: Vec<Alert>,
    /// Silences, active, future and expired in the last day.
    pub silences: Vec<SilenceView>,
    /// The last changes of state, newest first.
    pub history: Vec<AlertChange>,
    /// Each channel's deliveries.
    pub channels: Vec<ChannelStatus>,
    /// Problems of the engine itself (an unusable state file, failed
    /// saves).
    pub warnings: Vec<String>,
}
