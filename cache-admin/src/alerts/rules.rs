//! The alert rules document: rules, inhibitions, grouping and notification
//! channels, with the built-in defaults and the checks a change must pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a rule watches. Region rules are evaluated per region over the
/// region's metric history; the others once per instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// `(hits + coalesced) / gets` over the window, a ratio 0..1; fires
    /// when *below* the threshold.
    HitRateLow,
    /// Entries or bytes as a percentage of the region's limit, now.
    MemoryHigh,
    /// Size evictions per insert over the window (a ratio).
    EvictionStorm,
    /// The highest 10 s p99 get latency in the window, milliseconds.
    LatencyHigh,
    /// Recovered errors per operation (gets and inserts) over the window.
    ErrorRate,
    /// Failed loads per load over the window.
    LoadFailureRate,
    /// A second level (Redis, the disk folder, a named backend) does not
    /// answer its health check.
    BackendDown,
    /// The Redis backplane's subscription is not live.
    BackplaneDown,
    /// An instance sharing the alerting state through Redis has not been
    /// heard from for longer than the threshold, seconds (it stopped
    /// without leaving: a crash, a hung process, a network split). One
    /// alert per instance; an instance that stops cleanly leaves.
    FleetInstanceMissing,
}

impl RuleKind {
    /// The kind's name, as in the document.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleKind::HitRateLow => "hit_rate_low",
            RuleKind::MemoryHigh => "memory_high",
            RuleKind::EvictionStorm => "eviction_storm",
            RuleKind::LatencyHigh => "latency_high",
            RuleKind::ErrorRate => "error_rate",
            RuleKind::LoadFailureRate => "load_failure_rate",
            RuleKind::BackendDown => "backend_down",
            RuleKind::BackplaneDown => "backplane_down",
            RuleKind::FleetInstanceMissing => "fleet_instance_missing",
        }
    }

    /// Whether the rule is evaluated for each region.
    pub const fn per_region(self) -> bool {
        !matches!(
            self,
            RuleKind::BackendDown | RuleKind::BackplaneDown | RuleKind::FleetInstanceMissing
        )
    }

    /// Whether a *low* value is the bad one.
    pub const fn fires_below(self) -> bool {
        matches!(self, RuleKind::HitRateLow)
    }

    /// The unit of the threshold, for messages.
    pub const fn unit(self) -> &'static str {
        match self {
            RuleKind::HitRateLow
            | RuleKind::EvictionStorm
            | RuleKind::ErrorRate
            | RuleKind::LoadFailureRate => "ratio",
            RuleKind::MemoryHigh => "percent",
            RuleKind::LatencyHigh => "ms",
            RuleKind::BackendDown | RuleKind::BackplaneDown => "down",
            RuleKind::FleetInstanceMissing => "seconds since last heard",
        }
    }

    /// The range a threshold must be in.
    const fn bounds(self) -> (f64, f64) {
        match self {
            RuleKind::HitRateLow | RuleKind::ErrorRate | RuleKind::LoadFailureRate => (0.0, 1.0),
            RuleKind::EvictionStorm => (0.0, 1_000.0),
            RuleKind::MemoryHigh => (0.0, 100.0),
            RuleKind::LatencyHigh => (0.0, 3_600_000.0),
            RuleKind::BackendDown | RuleKind::BackplaneDown => (0.0, 1.0),
            RuleKind::FleetInstanceMissing => (1.0, 86_400.0),
        }
    }
}

/// How bad an alert is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Someone should look.
    #[default]
    Warning,
    /// Someone should look now.
    Critical,
}

impl Severity {
    /// The severity's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name: the `alertname` label, unique in the document.
    pub id: String,
    /// What it watches.
    pub kind: RuleKind,
    /// Whether it is evaluated.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The value that fires it (see the kind for the unit and direction).
    pub threshold: f64,
    /// The value that resolves it once firing (hysteresis): at or above it
    /// for `hit_rate_low`, at or below it for the others. Defaults to the
    /// threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<f64>,
    /// The window the rate is taken over, seconds: a multiple of 10, 10 to
    /// 3600.
    #[serde(default = "five_minutes")]
    pub window_secs: u64,
    /// How long the condition must hold before the alert fires (pending
    /// meanwhile), seconds.
    #[serde(default)]
    pub for_secs: u64,
    /// How long a firing alert stays firing after its value recovered,
    /// seconds (a flapping signal does not resolve and fire again).
    #[serde(default)]
    pub keep_firing_for_secs: u64,
    /// The fewest gets (inserts for `eviction_storm`, loads for
    /// `load_failure_rate`) in the window for the rate to count; below it
    /// the region has no data and the rule neither fires nor resolves.
    #[serde(default)]
    pub min_requests: u64,
    /// The `severity` label.
    #[serde(default)]
    pub severity: Severity,
    /// The regions it applies to (empty: every region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Thresholds for some regions (`"users"`) or tiers (`"tier:redis"`);
    /// a region's own wins over its tier's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// The channels it notifies (empty: every channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// A rule's threshold for one region or tier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The threshold there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The recovery value there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<f64>,
    /// `false` turns the rule off there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Silences alerts matching `target` while an alert matching `source`
/// fires with the same values of the `equal` labels (Alertmanager's
/// inhibition).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InhibitRule {
    /// What the inhibiting alert's labels must match.
    pub source: Vec<Matcher>,
    /// What the inhibited alerts' labels must match.
    pub target: Vec<Matcher>,
    /// Labels that must have the same value on both.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A label matcher: `name = value` or `name != value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The value compared with.
    pub value: String,
    /// `true` for `!=`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub negate: bool,
}

impl Matcher {
    /// `name = value`.
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_owned(),
            value: value.to_owned(),
            negate: false,
        }
    }

    /// Whether `labels` match (a missing label is the empty string).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        (value == self.value) != self.negate
    }
}

/// A notification channel as the document holds it. Secrets are
/// write-only: reading the document shows whether one is set, never it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelConfig {
    /// Its name, unique in the document.
    pub id: String,
    /// Where and how it sends.
    #[serde(flatten)]
    pub target: ChannelTarget,
}

/// Where a channel sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelTarget {
    /// An HTTP POST of Alertmanager's webhook JSON.
    Webhook {
        /// `http://` or `https://` address.
        url: String,
        /// Sign the body with HMAC-SHA256 under this key (header
        /// `X-Cache-Signature: sha256=<hex>`). Write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hmac_key: Option<Secret>,
        /// Seconds one attempt may take (default 5).
        #[serde(default = "five")]
        timeout_secs: u64,
        /// Attempts after the first, with doubling backoff from 1 s
        /// (default 3).
        #[serde(default = "three")]
        retries: u32,
        /// A PEM certificate to trust for `https://` besides Mozilla's
        /// roots (a private CA).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_pem: Option<String>,
    },
    /// A mail over SMTP.
    Email {
        /// The SMTP server's host name.
        host: String,
        /// Its port (default: 25 plain, 587 STARTTLS, 465 TLS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// `none`, `starttls` or `tls`.
        #[serde(default)]
        tls: SmtpTls,
        /// The login, if the server wants one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// Its password. Write-only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
        /// The sender, `Name <address>` or an address.
        from: String,
        /// The recipients.
        to: Vec<String>,
        /// The dashboard's address, for the link in the mail (default: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dashboard_url: Option<String>,
        /// Seconds a delivery may take (default 10).
        #[serde(default = "ten")]
        timeout_secs: u64,
        /// A PEM certificate to trust for STARTTLS/TLS besides Mozilla's
        /// roots (a private CA).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_pem: Option<String>,
    },
}

/// How a mail channel talks to its server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP (a local relay).
    None,
    /// Plain, then upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// A write-only value: what a change writes is kept, what a read returns
/// is `{"set": true}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Secret {
    /// The value, as written.
    Value(String),
    /// A secret already stored (`{"set": true}` keeps it on a change).
    Kept {
        /// Always `true`.
        set: bool,
    },
}

impl Secret {
    /// The secret's text, when this holds one.
    pub fn value(&self) -> Option<&str> {
        match self {
            Secret::Value(value) => Some(value),
            Secret::Kept { .. } => None,
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The whole alerting document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRules {
    /// The rules.
    pub rules: Vec<Rule>,
    /// Inhibitions.
    #[serde(default)]
    pub inhibit: Vec<InhibitRule>,
    /// Labels that group alerts into one notification (default: the rule).
    #[serde(default = "group_by_rule")]
    pub group_by: Vec<String>,
    /// Notification channels.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
}

fn yes() -> bool {
    true
}
fn five_minutes() -> u64 {
    300
}
fn three() -> u32 {
    3
}
fn five() -> u64 {
    5
}
fn ten() -> u64 {
    10
}
fn group_by_rule() -> Vec<String> {
    vec![String::from("alertname")]
}

impl Rule {
    fn builtin(kind: RuleKind, threshold: f64, recover: f64, severity: Severity) -> Rule {
        Rule {
            id: kind.as_str().to_owned(),
            kind,
            enabled: true,
            threshold,
            recover: Some(recover),
            window_secs: 300,
            for_secs: 60,
            keep_firing_for_secs: 60,
            min_requests: 100,
            severity,
            regions: Vec::new(),
            overrides: BTreeMap::new(),
            channels: Vec::new(),
        }
    }

    /// The threshold and recovery value for a region of `tier`, and
    /// whether the rule applies there at all.
    pub fn level_for(&self, region: &str, tier: &str) -> Option<(f64, f64)> {
        if !self.regions.is_empty() && !self.regions.iter().any(|r| r == region) {
            return None;
        }
        let tier_key = format!("tier:{tier}");
        let own = self.overrides.get(region);
        let by_tier = self.overrides.get(&tier_key);
        let pick =
            |f: fn(&Override) -> Option<f64>| own.and_then(f).or_else(|| by_tier.and_then(f));
        let enabled = own
            .and_then(|o| o.enabled)
            .or_else(|| by_tier.and_then(|o| o.enabled))
            .unwrap_or(true);
        if !enabled {
            return None;
        }
        let threshold = pick(|o| o.threshold).unwrap_or(self.threshold);
        let recover = pick(|o| o.recover)
            .or(if pick(|o| o.threshold).is_some() {
                None
            } else {
                self.recover
            })
            .unwrap_or(threshold);
        Some((threshold, recover))
    }
}

impl Default for AlertRules {
    /// The built-in rules: hit rate below 50 % (resolves at 60 %), memory
    /// above 90 % of the limit (85 %), size evictions above 0.5 per insert
    /// (0.3), p99 above a per-tier budget (memory 1 ms, hybrid 5 ms,
    /// Redis 10 ms, disk and backends 20 ms), errors above 5 % (2 %),
    /// failed loads above 10 % (5 %), each over 5 minutes with 100
    /// requests at least, pending 1 minute, kept firing 1 minute; a second
    /// level or the backplane down for 30 s; with Redis, an instance not
    /// heard from for 60 s. A backend down inhibits the latency, error and
    /// load alerts of the regions on it.
    fn default() -> AlertRules {
        let mut latency = Rule::builtin(RuleKind::LatencyHigh, 20.0, 16.0, Severity::Warning);
        for (tier, budget) in [("memory", 1.0), ("hybrid", 5.0), ("redis", 10.0)] {
            latency.overrides.insert(
                format!("tier:{tier}"),
                Override {
                    threshold: Some(budget),
                    recover: Some(budget * 0.8),
                    enabled: None,
                },
            );
        }
        let mut loads = Rule::builtin(RuleKind::LoadFailureRate, 0.1, 0.05, Severity::Warning);
        loads.min_requests = 20;
        let mut memory = Rule::builtin(RuleKind::MemoryHigh, 90.0, 85.0, Severity::Warning);
        memory.min_requests = 0;
        let mut down = Rule::builtin(RuleKind::BackendDown, 1.0, 1.0, Severity::Critical);
        down.for_secs = 30;
        down.min_requests = 0;
        let mut backplane = Rule::builtin(RuleKind::BackplaneDown, 1.0, 1.0, Severity::Warning);
        backplane.for_secs = 30;
        backplane.min_requests = 0;
        let mut missing = Rule::builtin(
            RuleKind::FleetInstanceMissing,
            60.0,
            30.0,
            Severity::Warning,
        );
        missing.for_secs = 0;
        missing.keep_firing_for_secs = 0;
        missing.min_requests = 0;
        AlertRules {
            rules: vec![
                Rule::builtin(RuleKind::HitRateLow, 0.5, 0.6, Severity::Warning),
                memory,
                Rule::builtin(RuleKind::EvictionStorm, 0.5, 0.3, Severity::Warning),
                latency,
                Rule::builtin(RuleKind::ErrorRate, 0.05, 0.02, Severity::Critical),
                loads,
                down,
                backplane,
                missing,
            ],
            inhibit: ["latency_high", "error_rate", "load_failure_rate"]
                .iter()
                .map(|name| InhibitRule {
                    source: vec![Matcher::equal("alertname", "backend_down")],
                    target: vec![Matcher::equal("alertname", name)],
                    equal: vec![String::from("backend")],
                })
                .collect(),
            group_by: group_by_rule(),
            channels: Vec::new(),
        }
    }
}

/// One thing wrong with a rules document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct RuleProblem {
    /// Where: `rules[2].threshold`, `channels[0].url`...
    pub field: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl AlertRules {
    /// Every problem of the document (empty: it can be applied).
    pub fn check(&self) -> Vec<RuleProblem> {
        let mut problems = Vec::new();
        let mut problem = |field: String, message: String| {
            problems.push(RuleProblem { field, message });
        };
        let mut ids = std::collections::HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}].{field}");
            if rule.id.trim().is_empty() || rule.id.len() > 100 {
                problem(
                    at("id"),
                    String::from("give the rule a name of 1 to 100 characters"),
                );
            } else if !ids.insert(rule.id.as_str()) {
                problem(at("id"), format!("rule {:?} is named twice", rule.id));
            }
            let (low, high) = rule.kind.bounds();
            let mut level = |field: String, value: f64| {
                if !value.is_finite() || value < low || value > high {
                    problem(
                        field,
                        format!(
                            "{value} is outside {low}..={high} ({} for {})",
                            rule.kind.unit(),
                            rule.kind.as_str()
                        ),
                    );
                }
            };
            level(at("threshold"), rule.threshold);
            if let Some(recover) = rule.recover {
                level(at("recover"), recover);
            }
            for (key, o) in &rule.overrides {
                if let Some(value) = o.threshold {
                    level(at(&format!("overrides.{key}.threshold")), value);
                }
                if let Some(value) = o.recover {
                    level(at(&format!("overrides.{key}.recover")), value);
                }
            }
            let wrong_side = |threshold: f64, recover: f64| {
                if rule.kind.fires_below() {
                    recover < threshold
                } else {
                    recover > threshold
                }
            };
            if let Some(recover) = rule.recover
                && wrong_side(rule.threshold, recover)
            {
                problem(
                    at("recover"),
                    format!(
                        "{recover} would resolve the alert while it still fires: for {} it must be {} the threshold {}",
                        rule.kind.as_str(),
                        if rule.kind.fires_below() {
                            "at or above"
                        } else {
                            "at or below"
                        },
                        rule.threshold
                    ),
                );
            }
            if rule.window_secs < 10 || rule.window_secs > 3600 || rule.window_secs % 10 != 0 {
                problem(
                    at("window_secs"),
                    format!(
                        "{} s is not a multiple of 10 from 10 to 3600 (the history keeps 10 s points for an hour)",
                        rule.window_secs
                    ),
                );
            }
            if rule.for_secs > 86_400 {
                problem(at("for_secs"), String::from("at most 86400 (a day)"));
            }
            if rule.keep_firing_for_secs > 86_400 {
                problem(
                    at("keep_firing_for_secs"),
                    String::from("at most 86400 (a day)"),
                );
            }
            for (j, channel) in rule.channels.iter().enumerate() {
                if !self.channels.iter().any(|c| &c.id == channel) {
                    problem(
                        at(&format!("channels[{j}]")),
                        format!("no channel is named {channel:?}"),
                    );
                }
            }
            for key in rule.overrides.keys() {
                if let Some(tier) = key.strip_prefix("tier:")
                    && !["memory", "disk", "redis", "hybrid", "backend"].contains(&tier)
                {
                    problem(
                        at(&format!("overrides.{key}")),
                        format!("{tier:?} is not a tier: memory, disk, redis, hybrid or backend"),
                    );
                }
            }
        }
        for (i, inhibit) in self.inhibit.iter().enumerate() {
            if inhibit.source.is_empty() || inhibit.target.is_empty() {
                problem(
                    format!("inhibit[{i}]"),
                    String::from("an inhibition needs a source and a target matcher"),
                );
            }
        }
        let mut channel_ids = std::collections::HashSet::new();
        for (i, channel) in self.channels.iter().enumerate() {
            let at = |field: &str| format!("channels[{i}].{field}");
            if channel.id.trim().is_empty() || channel.id.len() > 100 {
                problem(
                    at("id"),
                    String::from("give the channel a name of 1 to 100 characters"),
                );
            } else if !channel_ids.insert(channel.id.as_str()) {
                problem(at("id"), format!("channel {:?} is named twice", channel.id));
            }
            match &channel.target {
                ChannelTarget::Webhook {
                    url,
                    timeout_secs,
                    retries,
                    ca_pem,
                    ..
                } => {
                    check_pem(&mut problem, at("ca_pem"), ca_pem.as_deref());
                    if !(url.starts_with("http://") || url.starts_with("https://"))
                        || url.parse::<axum::http::Uri>().is_err()
                    {
                        problem(
                            at("url"),
                            format!("{url:?} is not an http:// or https:// address"),
                        );
                    }
                    if *timeout_secs == 0 || *timeout_secs > 300 {
                        problem(at("timeout_secs"), String::from("1 to 300 seconds"));
                    }
                    if *retries > 10 {
                        problem(at("retries"), String::from("at most 10"));
                    }
                }
                ChannelTarget::Email {
                    host,
                    from,
                    to,
                    timeout_secs,
                    ca_pem,
                    ..
                } => {
                    check_pem(&mut problem, at("ca_pem"), ca_pem.as_deref());
                    if host.trim().is_empty() {
                        problem(at("host"), String::from("name the SMTP server"));
                    }
                    if !from.contains('@') {
                        problem(at("from"), format!("{from:?} is not a mail address"));
                    }
                    if to.is_empty() {
                        problem(at("to"), String::from("give at least one recipient"));
                    }
                    for (j, address) in to.iter().enumerate() {
                        if !address.contains('@') {
                            problem(
                                at(&format!("to[{j}]")),
                                format!("{address:?} is not a mail address"),
                            );
                        }
                    }
                    if *timeout_secs == 0 || *timeout_secs > 300 {
                        problem(at("timeout_secs"), String::from("1 to 300 seconds"));
                    }
                }
            }
        }
        problems
    }

    /// The document as a read shows it: every secret as `{"set": true}`.
    pub fn redacted(&self) -> AlertRules {
        let mut shown = self.clone();
        for channel in &mut shown.channels {
            match &mut channel.target {
                ChannelTarget::Webhook { hmac_key, .. } => hide(hmac_key),
                ChannelTarget::Email { password, .. } => hide(password),
            }
        }
        shown
    }

    /// Fills the secrets a change left as `{"set": true}` from `stored`
    /// (the channel of the same name); one with no stored secret is a
    /// problem.
    pub fn keep_secrets(&mut self, stored: &AlertRules) -> Vec<RuleProblem> {
        let mut problems = Vec::new();
        for (i, channel) in self.channels.iter_mut().enumerate() {
            let old = stored.channels.iter().find(|c| c.id == channel.id);
            let (secret, old_secret, field) = match (&mut channel.target, old.map(|c| &c.target)) {
                (ChannelTarget::Webhook { hmac_key, .. }, old) => (
                    hmac_key,
                    match old {
                        Some(ChannelTarget::Webhook { hmac_key, .. }) => hmac_key.clone(),
                        _ => None,
                    },
                    "hmac_key",
                ),
                (ChannelTarget::Email { password, .. }, old) => (
                    password,
                    match old {
                        Some(ChannelTarget::Email { password, .. }) => password.clone(),
                        _ => None,
                    },
                    "password",
                ),
            };
            if let Some(Secret::Kept { .. }) = secret {
                match old_secret {
                    Some(Secret::Value(value)) => *secret = Some(Secret::Value(value)),
                    _ => problems.push(RuleProblem {
                        field: format!("channels[{i}].{field}"),
                        message: format!(
                            "channel {:?} has no stored {field} to keep: write the value",
                            channel.id
                        ),
                    }),
                }
            }
        }
        problems
    }
}

fn check_pem(problem: &mut impl FnMut(String, String), field: String, pem: Option<&str>) {
    if let Some(pem) = pem
        && !(pem.contains("-----BEGIN CERTIFICATE-----")
            && pem.contains("-----END CERTIFICATE-----"))
    {
        problem(
            field,
            String::from(
                "not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
            ),
        );
    }
}

fn hide(secret: &mut Option<Secret>) {
    if secret.is_some() {
        *secret = Some(Secret::Kept { set: true });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_their_own_checks() {
        assert_eq!(AlertRules::default().check(), []);
    }

    #[test]
    fn problems_name_the_field() {
        let mut rules = AlertRules::default();
        rules.rules[0].threshold = 1.5;
        rules.rules[0].recover = Some(0.4);
        rules.rules[1].window_secs = 15;
        rules.rules[2].id = rules.rules[0].id.clone();
        rules.channels.push(ChannelConfig {
            id: String::from("hook"),
            target: ChannelTarget::Webhook {
                url: String::from("https://hooks.example.test/alerts"),
                hmac_key: None,
                timeout_secs: 5,
                retries: 1,
                ca_pem: Some(String::from("MIIB...not pem")),
            },
        });
        let fields: Vec<String> = rules.check().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "rules[0].threshold",
                "rules[0].recover",
                "rules[1].window_secs",
                "rules[2].id",
                "channels[0].ca_pem"
            ]
        );
    }

    #[test]
    fn overrides_pick_region_then_tier() {
        let rules = AlertRules::default();
        let latency = &rules.rules[3];
        assert_eq!(latency.level_for("users", "memory"), Some((1.0, 0.8)));
        assert_eq!(latency.level_for("users", "disk"), Some((20.0, 16.0)));
        let mut own = latency.clone();
        own.overrides.insert(
            String::from("users"),
            Override {
                threshold: Some(3.0),
                recover: None,
                enabled: None,
            },
        );
        assert_eq!(own.level_for("users", "memory"), Some((3.0, 0.8)));
        own.regions = vec![String::from("other")];
        assert_eq!(own.level_for("users", "memory"), None);
    }

    #[test]
    fn secrets_are_write_only() {
        let mut rules = AlertRules::default();
        rules.channels.push(ChannelConfig {
            id: String::from("ops"),
            target: ChannelTarget::Webhook {
                url: String::from("http://127.0.0.1:1/hook"),
                hmac_key: Some(Secret::Value(String::from("k3y"))),
                timeout_secs: 5,
                retries: 0,
                ca_pem: None,
            },
        });
        let shown = serde_json::to_string(&rules.redacted()).expect("json");
        assert!(!shown.contains("k3y"), "{shown}");
        assert!(shown.contains(r#""hmac_key":{"set":true}"#), "{shown}");
        let mut change: AlertRules = serde_json::from_str(&shown).expect("parses back");
        assert_eq!(change.keep_secrets(&rules), []);
        assert_eq!(change, rules);
        // A misspelt field is refused, not ignored.
        let typo = r#"{"id": "x", "kind": "webhook", "url": "http://a/", "retires": 2}"#;
        let error = serde_json::from_str::<ChannelConfig>(typo).expect_err("typo");
        assert!(error.to_string().contains("retires"), "{error}");
        // With nothing stored, "keep" is a problem.
        let mut fresh = rules.redacted();
        let problems = fresh.keep_secrets(&AlertRules::default());
        assert_eq!(problems[0].field, "channels[0].hmac_key");
    }
}
