//! What the rules look at: each rule's value on each subject, read from
//! the manager (region history and gauges, second-level health, the
//! backplane).

use std::collections::BTreeMap;
use std::time::Duration;

use cache_runtime::CacheManager;
use cache_runtime::stats::{HistoryPoint, HistoryRange};

use super::engine::Observation;
use super::rules::{AlertRules, Rule, RuleKind};

/// How long the second levels' health checks may take together.
const LEVEL_CHECKS: Duration = Duration::from_secs(2);

/// A region as the rules see it.
struct Subject {
    name: String,
    tier: &'static str,
    /// The second level it uses (`redis`, `disk`, a backend's name).
    backend: Option<String>,
    max_entries: Option<u64>,
    max_bytes: Option<u64>,
    entries: Option<u64>,
    bytes: Option<u64>,
    /// The last hour's 10 s points.
    points: Vec<HistoryPoint>,
}

/// The sums of the points in a window.
#[derive(Default)]
struct Sums {
    gets: u64,
    served: u64,
    inserts: u64,
    size_evictions: u64,
    errors: u64,
    loads: u64,
    loads_failed: u64,
    /// The highest 10 s p99 among points with timed gets, ns.
    p99_ns: Option<u64>,
}

fn sums(points: &[HistoryPoint], now_ms: u64, window_secs: u64) -> Sums {
    let from = now_ms.saturating_sub(window_secs * 1000);
    let mut sums = Sums::default();
    for point in points
        .iter()
        .filter(|p| p.at_ms >= from && p.at_ms < now_ms)
    {
        sums.gets += point.gets();
        sums.served += point.hits + point.coalesced;
        sums.inserts += point.inserts;
        sums.size_evictions += point.evictions.size;
        sums.errors += point.errors;
        sums.loads += point.loads_succeeded + point.loads_failed;
        sums.loads_failed += point.loads_failed;
        if let Some(p99) = point.p99_ns {
            sums.p99_ns = Some(sums.p99_ns.map_or(p99, |m| m.max(p99)));
        }
    }
    sums
}

fn ratio(part: u64, whole: u64, min: u64) -> Option<f64> {
    (whole > 0 && whole >= min).then(|| part as f64 / whole as f64)
}

/// The value of a region rule on `subject`.
fn region_value(rule: &Rule, subject: &Subject, now_ms: u64) -> Option<f64> {
    let s = sums(&subject.points, now_ms, rule.window_secs);
    match rule.kind {
        RuleKind::HitRateLow => ratio(s.served, s.gets, rule.min_requests),
        RuleKind::EvictionStorm => ratio(s.size_evictions, s.inserts, rule.min_requests),
        RuleKind::ErrorRate => ratio(s.errors, s.gets + s.inserts, rule.min_requests),
        RuleKind::LoadFailureRate => ratio(s.loads_failed, s.loads, rule.min_requests),
        RuleKind::LatencyHigh => {
            if s.gets < rule.min_requests.max(1) {
                return None;
            }
            s.p99_ns.map(|ns| ns as f64 / 1e6)
        }
        RuleKind::MemoryHigh => {
            let share = |held: Option<u64>, limit: Option<u64>| match (held, limit) {
                (Some(held), Some(limit)) if limit > 0 => Some(held as f64 * 100.0 / limit as f64),
                _ => None,
            };
            match (
                share(subject.entries, subject.max_entries),
                share(subject.bytes, subject.max_bytes),
            ) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        RuleKind::BackendDown | RuleKind::BackplaneDown | RuleKind::FleetInstanceMissing => None,
    }
}

fn subjects(manager: &CacheManager) -> Vec<Subject> {
    let has_redis = redis_configured(manager);
    let mut subjects = Vec::new();
    for name in manager.region_names() {
        let (Ok(settings), Ok(stats), Ok(points)) = (
            manager.settings(&name),
            manager.stats(&name),
            manager.stats_history(&name, HistoryRange::Hour),
        ) else {
            continue;
        };
        let tier = settings.tier.as_str();
        let backend = match (settings.backend, tier) {
            (Some(backend), _) => Some(backend.to_owned()),
            (None, "redis") => Some(String::from("redis")),
            (None, "hybrid") if has_redis => Some(String::from("redis")),
            (None, "hybrid" | "disk") => Some(String::from("disk")),
            _ => None,
        };
        subjects.push(Subject {
            name,
            tier,
            backend,
            max_entries: settings.max_entries,
            max_bytes: settings.max_bytes,
            entries: stats.entries,
            bytes: stats.bytes,
            points,
        });
    }
    subjects
}

#[cfg(feature = "redis")]
fn redis_configured(manager: &CacheManager) -> bool {
    manager.redis_health().is_some()
}

#[cfg(not(feature = "redis"))]
fn redis_configured(_: &CacheManager) -> bool {
    false
}

/// Every enabled rule's value on every subject it applies to, at `now_ms`.
///
/// `members` are the instances sharing the alerting state and how many
/// seconds ago each was last heard from (empty without Redis).
pub(crate) async fn observe(
    manager: &CacheManager,
    rules: &AlertRules,
    now_ms: u64,
    members: &[(String, f64)],
) -> Vec<Observation> {
    let enabled: Vec<&Rule> = rules.rules.iter().filter(|r| r.enabled).collect();
    let mut observations = Vec::new();
    if enabled.iter().any(|r| r.kind.per_region()) {
        for subject in subjects(manager) {
            for rule in enabled.iter().filter(|r| r.kind.per_region()) {
                let Some((threshold, recover)) = rule.level_for(&subject.name, subject.tier) else {
                    continue;
                };
                let mut labels = BTreeMap::from([
                    (String::from("region"), subject.name.clone()),
                    (String::from("tier"), subject.tier.to_owned()),
                ]);
                if let Some(backend) = &subject.backend {
                    labels.insert(String::from("backend"), backend.clone());
                }
                observations.push(Observation {
                    rule: rule.id.clone(),
                    labels,
                    value: region_value(rule, &subject, now_ms),
                    threshold,
                    recover,
                });
            }
        }
    }
    for rule in enabled.iter().filter(|r| r.kind == RuleKind::BackendDown) {
        for (backend, down) in levels(manager).await {
            observations.push(Observation {
                rule: rule.id.clone(),
                labels: BTreeMap::from([(String::from("backend"), backend)]),
                value: Some(if down { 1.0 } else { 0.0 }),
                threshold: 0.5,
                recover: 0.5,
            });
        }
    }
    for rule in enabled.iter().filter(|r| r.kind == RuleKind::BackplaneDown) {
        if let Some(subscribed) = backplane(manager) {
            observations.push(Observation {
                rule: rule.id.clone(),
                labels: BTreeMap::from([(String::from("backend"), String::from("redis"))]),
                value: Some(if subscribed { 0.0 } else { 1.0 }),
                threshold: 0.5,
                recover: 0.5,
            });
        }
    }
    for rule in enabled
        .iter()
        .filter(|r| r.kind == RuleKind::FleetInstanceMissing)
    {
        for (instance, age) in members {
            observations.push(Observation {
                rule: rule.id.clone(),
                labels: BTreeMap::from([(String::from("instance"), instance.clone())]),
                value: Some(*age),
                threshold: rule.threshold,
                recover: rule.recover.unwrap_or(rule.threshold),
            });
        }
    }
    observations
}

/// Each second level in use, and whether it is down.
async fn levels(manager: &CacheManager) -> Vec<(String, bool)> {
    let mut levels: Vec<(String, bool)> = Vec::new();
    #[cfg(feature = "redis")]
    if let Some(redis) = manager.redis_health() {
        levels.push((
            String::from("redis"),
            !redis.connected || redis.breaker_open,
        ));
    }
    match tokio::time::timeout(LEVEL_CHECKS, manager.level_health()).await {
        Ok(found) => {
            for level in found {
                let down = level.outcome.is_err();
                match levels.iter_mut().find(|(name, _)| name == level.level) {
                    Some((_, known)) => *known = *known || down,
                    None => levels.push((level.level.to_owned(), down)),
                }
            }
        }
        // Levels that do not answer in time are down.
        Err(_) => {
            for (_, down) in &mut levels {
                *down = true;
            }
        }
    }
    levels
}

#[cfg(feature = "redis")]
fn backplane(manager: &CacheManager) -> Option<bool> {
    manager.backplane_stats().map(|stats| stats.subscribed)
}

#[cfg(not(feature = "redis"))]
fn backplane(_: &CacheManager) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_s: u64, hits: u64, misses: u64) -> HistoryPoint {
        let mut point = HistoryPoint::default();
        point.at_ms = at_s * 1000;
        point.seconds = 10;
        point.hits = hits;
        point.misses = misses;
        point
    }

    #[test]
    fn rates_need_their_volume_and_stay_in_the_window() {
        let points = vec![point(0, 0, 100), point(290, 10, 10), point(300, 50, 50)];
        let rules = AlertRules::default();
        let hit_rate = &rules.rules[0];
        let subject = Subject {
            name: String::from("users"),
            tier: "memory",
            backend: None,
            max_entries: Some(100),
            max_bytes: None,
            entries: Some(95),
            bytes: None,
            points,
        };
        // At 310 s the window is 10..310: the first point is out.
        assert_eq!(
            region_value(hit_rate, &subject, 310_000),
            Some(60.0 / 120.0)
        );
        let mut strict = hit_rate.clone();
        strict.min_requests = 1_000;
        assert_eq!(region_value(&strict, &subject, 310_000), None);
        assert_eq!(region_value(&rules.rules[1], &subject, 310_000), Some(95.0));
    }
}
