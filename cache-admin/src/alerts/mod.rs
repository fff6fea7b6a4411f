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

    /// The rules to start with when the state file has none.
    pub fn rules(mut self, rules: AlertRules) -> AlertSettings {
        self.rules = rules;
        self
    }

    /// The dashboard's public address, for links in notifications.
    pub fn dashboard_url(mut self, url: impl Into<String>) -> AlertSettings {
        self.dashboard_url = Some(url.into());
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
}

/// The rules, the engine's state, their version.
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
    /// The engine's time at the last evaluation's end, Unix ms.
    evaluated_at: std::sync::atomic::AtomicU64,
}

pub(crate) fn now_ms() -> u64 {
    crate::audit::now_ms()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Alerting {
    pub(crate) fn new(settings: AlertSettings) -> Alerting {
        let (mut version, mut rules, mut engine, mut warning) =
            (0, settings.rules.clone(), Engine::default(), None);
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

    /// One evaluation: observe, step the engine, persist, announce, queue
    /// the notifications.
    pub(crate) async fn evaluate(&self, manager: &CacheManager) {
        let rules = lock(&self.doc).rules.clone();
        let now = self.now();
        let observations = signal::observe(manager, &rules, now).await;
        let (notifications, changes, saved) = {
            let mut doc = lock(&self.doc);
            let before = doc.engine.changes;
            let rules = doc.rules.clone();
            let notifications = doc.engine.evaluate(&rules, observations, now);
            let made = usize::try_from(doc.engine.changes - before).unwrap_or(usize::MAX);
            let history = &doc.engine.history;
            let changes: Vec<AlertChange> = history
                .iter()
                .skip(history.len().saturating_sub(made))
                .cloned()
                .collect();
            let dirty = !changes.is_empty() || !notifications.is_empty();
            let saved = dirty.then(|| (doc.version, rules, doc.engine.clone()));
            (notifications, changes, saved)
        };
        if let Some((version, rules, engine)) = saved {
            self.persist(version, &rules, &engine);
        }
        self.evaluated_at
            .store(now, std::sync::atomic::Ordering::Release);
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
        if !notifications.is_empty() {
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
    }

    fn persist(&self, version: u64, rules: &AlertRules, engine: &Engine) {
        let Some(path) = &self.settings.state_file else {
            return;
        };
        let outcome = store::save(path, version, rules, engine);
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

    /// Replaces the rules, if `expected` is the version in force.
    pub(crate) fn put_rules(
        &self,
        mut rules: AlertRules,
        expected: u64,
    ) -> Result<u64, AlertError> {
        let (version, saved_rules, engine) = {
            let mut doc = lock(&self.doc);
            if doc.version != expected {
                return Err(AlertError::Stale {
                    expected,
                    current: doc.version,
                });
            }
            let mut problems = rules.keep_secrets(&doc.rules);
            problems.extend(rules.check());
            problems.extend(availability_problems(&rules));
            if !problems.is_empty() {
                return Err(AlertError::Invalid(problems));
            }
            doc.version += 1;
            doc.rules = rules;
            let now = self.now();
            let rules = doc.rules.clone();
            doc.engine.mute(&rules, now);
            (doc.version, rules, doc.engine.clone())
        };
        self.persist(version, &saved_rules, &engine);
        Ok(version)
    }

    /// Adds a silence.
    pub(crate) fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        starts_at_ms: Option<u64>,
        ends_at_ms: u64,
        created_by: &str,
        comment: String,
    ) -> Result<Silence, AlertError> {
        let now = self.now();
        let starts_at_ms = starts_at_ms.unwrap_or(now);
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
        if ends_at_ms <= starts_at_ms.max(now) {
            return Err(AlertError::BadSilence(String::from(
                "the silence ends before it starts (or in the past)",
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
        let (version, rules, engine) = {
            let mut doc = lock(&self.doc);
            doc.engine.silences.push(silence.clone());
            let rules = doc.rules.clone();
            doc.engine.mute(&rules, now);
            (doc.version, rules, doc.engine.clone())
        };
        self.persist(version, &rules, &engine);
        Ok(silence)
    }

    /// Expires a silence now.
    pub(crate) fn expire_silence(&self, id: &str) -> Result<Silence, AlertError> {
        let now = self.now();
        let (silence, version, rules, engine) = {
            let mut doc = lock(&self.doc);
            let Some(silence) = doc.engine.silences.iter_mut().find(|s| s.id == id) else {
                return Err(AlertError::NoSilence(id.to_owned()));
            };
            silence.ends_at_ms = silence.ends_at_ms.min(now);
            let silence = silence.clone();
            let rules = doc.rules.clone();
            doc.engine.mute(&rules, now);
            (silence, doc.version, rules, doc.engine.clone())
        };
        self.persist(version, &rules, &engine);
        Ok(silence)
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
