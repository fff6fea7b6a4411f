//! The alert state machine: observations in, alert states and the
//! notifications to send out. No I/O and no clock of its own: the caller
//! passes the time, so a scripted signal walks it deterministically.
//!
//! An alert is one rule on one subject (a region, or a second level), named
//! by its labels and their fingerprint. Its life follows Prometheus:
//! *normal* (no alert) → *pending* while the condition holds for less than
//! the rule's `for` → *firing* → *resolved* once the value is back past
//! the recovery value (hysteresis) for the rule's `keep_firing_for`. A
//! pending alert whose condition stops holding goes back to normal without
//! a word. "No data" (an idle region, below the minimum volume) neither
//! fires nor holds an alert pending; it counts as recovered.
//!
//! A firing alert is notified once. It is muted while a silence matches it
//! or an inhibition rule's source fires; it is notified when it stops being
//! muted if it still fires. A resolved alert is notified only if its firing
//! was.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{AlertRules, Matcher, Rule};

/// How many state changes the engine remembers.
const HISTORY: usize = 500;

/// How long expired silences stay listed, ms.
const EXPIRED_SILENCES_KEPT_MS: u64 = 24 * 3_600_000;

/// What a rule saw on one subject at one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Observation {
    /// The rule's id.
    pub rule: String,
    /// `region`, `tier`, `backend` (whichever apply).
    pub labels: BTreeMap<String, String>,
    /// The value, or `None` for no data.
    pub value: Option<f64>,
    /// The threshold and the recovery value that apply to this subject.
    pub threshold: f64,
    pub recover: f64,
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, for less than the rule's `for`.
    Pending,
    /// The condition held long enough.
    Firing,
    /// It fired and is over (only in the history and notifications).
    Resolved,
}

/// One alert: a rule on one subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// A stable name for its labels (16 hex digits).
    pub fingerprint: String,
    /// `alertname` (the rule), `severity`, and `region`, `tier`,
    /// `backend` where they apply.
    pub labels: BTreeMap<String, String>,
    /// Where it is in its life.
    pub state: AlertState,
    /// The value at the last evaluation (`null`: no data).
    pub value: Option<f64>,
    /// The threshold that fires it.
    pub threshold: f64,
    /// The value that resolves it.
    pub recover: f64,
    /// When the condition started holding, Unix ms.
    pub active_since_ms: u64,
    /// When it started firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firing_since_ms: Option<u64>,
    /// When it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at_ms: Option<u64>,
    /// Since when the value has been back past the recovery value (while
    /// it keeps firing for `keep_firing_for`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_since_ms: Option<u64>,
    /// Whether its firing was notified.
    pub notified: bool,
    /// The silences muting it now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silenced_by: Vec<String>,
    /// The firing alert inhibiting it now (its fingerprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibited_by: Option<String>,
}

impl Alert {
    /// Whether notifications are held back now.
    pub fn muted(&self) -> bool {
        !self.silenced_by.is_empty() || self.inhibited_by.is_some()
    }

    /// One line: what, where, the value and the threshold.
    pub fn summary(&self) -> String {
        let rule = self.labels.get("alertname").map_or("alert", String::as_str);
        let subject = match (
            self.labels.get("region"),
            self.labels.get("backend"),
            self.labels.get("instance"),
        ) {
            (Some(region), ..) => format!("region {region}"),
            (None, Some(backend), _) => backend.clone(),
            (None, None, Some(instance)) => format!("instance {instance}"),
            (None, None, None) => String::from("this instance"),
        };
        let value = self
            .value
            .map_or_else(|| String::from("no data"), |v| format!("{v:.4}"));
        format!(
            "{rule} on {subject}: value {value}, threshold {}",
            self.threshold
        )
    }
}

/// A silence: mutes the alerts whose labels match every matcher, from
/// `starts_at_ms` until `ends_at_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Silence {
    /// Its id.
    pub id: String,
    /// What it mutes.
    pub matchers: Vec<Matcher>,
    /// From when, Unix ms.
    pub starts_at_ms: u64,
    /// Until when (it expires then).
    pub ends_at_ms: u64,
    /// Who made it (the token's name).
    pub created_by: String,
    /// Why.
    pub comment: String,
}

impl Silence {
    /// Whether it mutes alerts at `now_ms`.
    pub fn active(&self, now_ms: u64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// A change of an alert's state, for the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertChange {
    /// When, Unix ms.
    pub at_ms: u64,
    /// The alert as it was after the change.
    pub alert: Alert,
}

/// Alerts to notify, grouped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Notification {
    /// The values of the grouping labels.
    pub group: BTreeMap<String, String>,
    /// The channels to send it to (empty: every channel).
    pub channels: Vec<String>,
    /// Firing and resolved alerts of the group.
    pub alerts: Vec<Alert>,
}

/// Everything the engine keeps, and persists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Engine {
    pub alerts: BTreeMap<String, Alert>,
    pub silences: Vec<Silence>,
    pub history: VecDeque<AlertChange>,
    /// Changes recorded so far (the history keeps the last ones).
    #[serde(default)]
    pub changes: u64,
}

/// The labels' fingerprint: 16 hex digits of their blake3.
pub(crate) fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (name, value) in labels {
        hasher.update(name.as_bytes());
        hasher.update(&[0xff]);
        hasher.update(value.as_bytes());
        hasher.update(&[0xfe]);
    }
    hasher.finalize().to_hex()[..16].to_owned()
}

impl Engine {
    /// One evaluation at `now_ms`: updates every alert from `observations`
    /// (an alert with no observation, or whose rule is gone or off, is
    /// resolved) and returns the notifications due.
    pub(crate) fn evaluate(
        &mut self,
        rules: &AlertRules,
        observations: Vec<Observation>,
        now_ms: u64,
    ) -> Vec<Notification> {
        let by_id: BTreeMap<&str, &Rule> = rules
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| (r.id.as_str(), r))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut resolved = Vec::new();
        for observation in observations {
            let Some(rule) = by_id.get(observation.rule.as_str()) else {
                continue;
            };
            let mut labels = observation.labels;
            labels.insert(String::from("alertname"), rule.id.clone());
            labels.insert(String::from("severity"), rule.severity.as_str().to_owned());
            let fp = fingerprint(&labels);
            seen.insert(fp.clone());
            let (breaching, recovered) = match observation.value {
                None => (false, true),
                Some(v) if rule.kind.fires_below() => {
                    (v < observation.threshold, v >= observation.recover)
                }
                Some(v) => (v > observation.threshold, v <= observation.recover),
            };
            let for_ms = rule.for_secs * 1000;
            let keep_ms = rule.keep_firing_for_secs * 1000;
            match self.alerts.get_mut(&fp) {
                None if breaching => {
                    let mut alert = Alert {
                        fingerprint: fp.clone(),
                        labels,
                        state: AlertState::Pending,
                        value: observation.value,
                        threshold: observation.threshold,
                        recover: observation.recover,
                        active_since_ms: now_ms,
                        firing_since_ms: None,
                        resolved_at_ms: None,
                        recovered_since_ms: None,
                        notified: false,
                        silenced_by: Vec::new(),
                        inhibited_by: None,
                    };
                    if for_ms == 0 {
                        alert.state = AlertState::Firing;
                        alert.firing_since_ms = Some(now_ms);
                    }
                    self.record(now_ms, &alert);
                    self.alerts.insert(fp, alert);
                }
                None => {}
                Some(alert) => {
                    alert.value = observation.value;
                    alert.threshold = observation.threshold;
                    alert.recover = observation.recover;
                    match alert.state {
                        AlertState::Pending if breaching => {
                            if now_ms.saturating_sub(alert.active_since_ms) >= for_ms {
                                alert.state = AlertState::Firing;
                                alert.firing_since_ms = Some(now_ms);
                                let alert = alert.clone();
                                self.record(now_ms, &alert);
                            }
                        }
                        AlertState::Pending => {
                            self.alerts.remove(&fp);
                        }
                        AlertState::Firing if !recovered => alert.recovered_since_ms = None,
                        AlertState::Firing => {
                            let since = *alert.recovered_since_ms.get_or_insert(now_ms);
                            if now_ms.saturating_sub(since) >= keep_ms
                                && let Some(done) = self.alerts.remove(&fp)
                            {
                                resolved.push(done);
                            }
                        }
                        AlertState::Resolved => {}
                    }
                }
            }
        }
        // Alerts nobody observed any more: their rule or subject is gone.
        let gone: Vec<String> = self
            .alerts
            .keys()
            .filter(|fp| !seen.contains(*fp))
            .cloned()
            .collect();
        for fp in gone {
            if let Some(alert) = self.alerts.remove(&fp)
                && alert.state == AlertState::Firing
            {
                resolved.push(alert);
            }
        }
        let mut due: Vec<(Alert, Vec<String>)> = Vec::new();
        for mut alert in resolved {
            alert.state = AlertState::Resolved;
            alert.resolved_at_ms = Some(now_ms);
            self.record(now_ms, &alert);
            if alert.notified {
                let channels = channels_of(&by_id, &alert);
                due.push((alert, channels));
            }
        }
        self.silences
            .retain(|s| now_ms < s.ends_at_ms.saturating_add(EXPIRED_SILENCES_KEPT_MS));
        self.mute(rules, now_ms);
        for alert in self.alerts.values_mut() {
            if alert.state == AlertState::Firing && !alert.notified && !alert.muted() {
                alert.notified = true;
                due.push((alert.clone(), channels_of(&by_id, alert)));
            }
        }
        group(&rules.group_by, due)
    }

    /// Sets every alert's silences and inhibition for `now_ms`.
    pub(crate) fn mute(&mut self, rules: &AlertRules, now_ms: u64) {
        let firing: Vec<Alert> = self
            .alerts
            .values()
            .filter(|a| a.state == AlertState::Firing)
            .cloned()
            .collect();
        for alert in self.alerts.values_mut() {
            alert.silenced_by = self
                .silences
                .iter()
                .filter(|s| s.active(now_ms) && s.matches(&alert.labels))
                .map(|s| s.id.clone())
                .collect();
            alert.inhibited_by = rules.inhibit.iter().find_map(|inhibit| {
                if !inhibit.target.iter().all(|m| m.matches(&alert.labels)) {
                    return None;
                }
                firing
                    .iter()
                    .filter(|source| source.fingerprint != alert.fingerprint)
                    .find(|source| {
                        inhibit.source.iter().all(|m| m.matches(&source.labels))
                            && inhibit
                                .equal
                                .iter()
                                .all(|label| source.labels.get(label) == alert.labels.get(label))
                    })
                    .map(|source| source.fingerprint.clone())
            });
        }
    }

    fn record(&mut self, now_ms: u64, alert: &Alert) {
        self.changes += 1;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(AlertChange {
            at_ms: now_ms,
            alert: alert.clone(),
        });
    }
}

fn channels_of(rules: &BTreeMap<&str, &Rule>, alert: &Alert) -> Vec<String> {
    alert
        .labels
        .get("alertname")
        .and_then(|name| rules.get(name.as_str()))
        .map(|rule| rule.channels.clone())
        .unwrap_or_default()
}

fn group(group_by: &[String], due: Vec<(Alert, Vec<String>)>) -> Vec<Notification> {
    let mut groups: Vec<Notification> = Vec::new();
    for (alert, channels) in due {
        let key: BTreeMap<String, String> = group_by
            .iter()
            .filter_map(|label| {
                alert
                    .labels
                    .get(label)
                    .map(|value| (label.clone(), value.clone()))
            })
            .collect();
        match groups
            .iter_mut()
            .find(|n| n.group == key && n.channels == channels)
        {
            Some(notification) => notification.alerts.push(alert),
            None => groups.push(Notification {
                group: key,
                channels,
                alerts: vec![alert],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::super::rules::RuleKind;
    use super::*;

    fn rules() -> AlertRules {
        let mut rules = AlertRules::default();
        for rule in &mut rules.rules {
            rule.for_secs = 30;
            rule.keep_firing_for_secs = 20;
        }
        rules
    }

    fn hit_rate(region: &str, value: Option<f64>) -> Observation {
        Observation {
            rule: String::from("hit_rate_low"),
            labels: BTreeMap::from([(String::from("region"), region.to_owned())]),
            value,
            threshold: 0.5,
            recover: 0.6,
        }
    }

    fn states(engine: &Engine) -> Vec<AlertState> {
        engine.alerts.values().map(|a| a.state).collect()
    }

    #[test]
    fn pending_then_firing_then_resolved_once() {
        let rules = rules();
        let mut engine = Engine::default();
        let t = |s: u64| 1_000_000 + s * 1000;
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.2))], t(0))
                .is_empty()
        );
        assert_eq!(states(&engine), [AlertState::Pending]);
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.2))], t(20))
                .is_empty()
        );
        let fired = engine.evaluate(&rules, vec![hit_rate("users", Some(0.3))], t(30));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].alerts[0].state, AlertState::Firing);
        // In the hysteresis band (0.5..0.6) it keeps firing, and is not
        // notified again.
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.55))], t(40))
                .is_empty()
        );
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.2))], t(50))
                .is_empty()
        );
        // Recovered, but kept firing for 20 s.
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.9))], t(60))
                .is_empty()
        );
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.9))], t(70))
                .is_empty()
        );
        let resolved = engine.evaluate(&rules, vec![hit_rate("users", Some(0.9))], t(80));
        assert_eq!(resolved[0].alerts[0].state, AlertState::Resolved);
        assert!(engine.alerts.is_empty());
        let kinds: Vec<AlertState> = engine.history.iter().map(|c| c.alert.state).collect();
        assert_eq!(
            kinds,
            [
                AlertState::Pending,
                AlertState::Firing,
                AlertState::Resolved
            ]
        );
    }

    #[test]
    fn a_flapping_signal_pages_once() {
        let rules = rules();
        let mut engine = Engine::default();
        let mut pages = 0;
        // Fires at 30 s, then flaps every 10 s between 0.3 and 0.7: each
        // recovery lasts less than keep_firing_for.
        for step in 0..30u64 {
            let value = if step < 4 || step % 2 == 0 { 0.3 } else { 0.7 };
            let sent = engine.evaluate(&rules, vec![hit_rate("users", Some(value))], step * 10_000);
            pages += sent.len();
        }
        assert_eq!(pages, 1);
        assert_eq!(states(&engine), [AlertState::Firing]);
    }

    #[test]
    fn no_data_is_not_firing() {
        let rules = rules();
        let mut engine = Engine::default();
        engine.evaluate(&rules, vec![hit_rate("idle", None)], 0);
        assert!(engine.alerts.is_empty());
        engine.evaluate(&rules, vec![hit_rate("users", Some(0.1))], 0);
        engine.evaluate(&rules, vec![hit_rate("users", None)], 10_000);
        assert!(
            engine.alerts.is_empty(),
            "a pending alert with no data clears"
        );
    }

    #[test]
    fn silences_mute_until_they_expire() {
        let mut rules = rules();
        for rule in &mut rules.rules {
            rule.for_secs = 0;
        }
        let mut engine = Engine::default();
        engine.silences.push(Silence {
            id: String::from("s1"),
            matchers: vec![Matcher::equal("region", "users")],
            starts_at_ms: 0,
            ends_at_ms: 50_000,
            created_by: String::from("ops"),
            comment: String::from("deploy"),
        });
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.1))], 0)
                .is_empty()
        );
        let alert = engine.alerts.values().next().expect("firing");
        assert_eq!(alert.silenced_by, ["s1"]);
        assert!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.1))], 40_000)
                .is_empty()
        );
        // Expired: the alert that still fires is notified now.
        let sent = engine.evaluate(&rules, vec![hit_rate("users", Some(0.1))], 50_000);
        assert_eq!(sent.len(), 1);
    }

    #[test]
    fn a_backend_down_inhibits_the_latency_alerts_it_causes() {
        let mut rules = rules();
        for rule in &mut rules.rules {
            rule.for_secs = 0;
        }
        let mut engine = Engine::default();
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let observations = vec![
            Observation {
                rule: String::from("backend_down"),
                labels: labels(&[("backend", "redis")]),
                value: Some(1.0),
                threshold: 0.5,
                recover: 0.5,
            },
            Observation {
                rule: String::from("latency_high"),
                labels: labels(&[("region", "sessions"), ("backend", "redis")]),
                value: Some(900.0),
                threshold: 10.0,
                recover: 8.0,
            },
            Observation {
                rule: String::from("latency_high"),
                labels: labels(&[("region", "files"), ("backend", "disk")]),
                value: Some(900.0),
                threshold: 20.0,
                recover: 16.0,
            },
        ];
        let sent = engine.evaluate(&rules, observations, 0);
        let mut notified: Vec<String> = sent
            .iter()
            .flat_map(|n| n.alerts.iter())
            .map(|a| {
                a.labels
                    .get("region")
                    .cloned()
                    .unwrap_or_else(|| a.labels["backend"].clone())
            })
            .collect();
        notified.sort();
        assert_eq!(notified, ["files", "redis"]);
        let inhibited: Vec<&Alert> = engine
            .alerts
            .values()
            .filter(|a| a.inhibited_by.is_some())
            .collect();
        assert_eq!(inhibited.len(), 1);
        assert_eq!(inhibited[0].labels["region"], "sessions");
        assert!(rules.rules.iter().any(|r| r.kind == RuleKind::BackendDown));
    }

    #[test]
    fn a_rule_turned_off_resolves_its_alerts() {
        let mut rules = rules();
        for rule in &mut rules.rules {
            rule.for_secs = 0;
        }
        let mut engine = Engine::default();
        assert_eq!(
            engine
                .evaluate(&rules, vec![hit_rate("users", Some(0.1))], 0)
                .len(),
            1
        );
        rules.rules[0].enabled = false;
        let sent = engine.evaluate(&rules, vec![hit_rate("users", Some(0.1))], 10_000);
        assert_eq!(sent[0].alerts[0].state, AlertState::Resolved);
    }
}
