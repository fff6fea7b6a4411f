//! Health (anonymous: the status; with a token, the components too),
//! Prometheus metrics and the OpenAPI document.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, identify};
use crate::error::ErrorBody;
use crate::state::AdminState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthView {
    /// `up`, `degraded` (serving, something is wrong) or `down`.
    pub status: &'static str,
    /// Each component's state (only to callers with a valid token).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

/// One component's health.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Component {
    /// `regions`, `region:<name>`, `memory`, `redis`, `backplane`, `disk`,
    /// `backend:<name>`, `config`.
    pub name: String,
    /// `up`, `degraded` or `down`.
    pub status: &'static str,
    /// What was found.
    pub detail: String,
}

/// Whether the process is alive.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, body = HealthView)))]
pub(crate) async fn live() -> axum::Json<HealthView> {
    axum::Json(HealthView {
        status: "up",
        components: Vec::new(),
    })
}

/// How long the second levels' health checks may take together.
const LEVEL_CHECKS: Duration = Duration::from_secs(2);

/// How long the configuration store's check may take.
const CONFIG_CHECK: Duration = Duration::from_secs(2);

fn component(name: impl Into<String>, status: &'static str, detail: String) -> Component {
    Component {
        name: name.into(),
        status,
        detail,
    }
}

/// The second levels in use, by name (`disk`, `redis`, a backend's), with
/// what their check found: `Ok((detail, latency))` or why it failed.
async fn level_checks(
    state: &AdminState,
) -> Result<Vec<(String, String, Result<(String, Duration), String>, usize)>, ()> {
    match tokio::time::timeout(LEVEL_CHECKS, state.manager().level_health()).await {
        Ok(levels) => Ok(levels
            .into_iter()
            .map(|level| {
                let outcome = level.outcome.map(|health| (health.detail, health.latency));
                (level.level.to_owned(), level.region, outcome, level.regions)
            })
            .collect()),
        Err(_) => Err(()),
    }
}

/// The process's resident memory, bytes (Linux: `/proc/self/status`).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Free and total bytes of the file system holding `path`.
#[cfg(unix)]
fn space(path: &str) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let unit = stat.f_frsize.max(1);
    Some((
        stat.f_bavail.saturating_mul(unit),
        stat.f_blocks.saturating_mul(unit),
    ))
}

#[cfg(not(unix))]
fn space(_: &str) -> Option<(u64, u64)> {
    None
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

async fn components(state: &AdminState) -> Vec<Component> {
    let manager = state.manager();
    let min_free = state.config().disk_min_free;
    let mut components = Vec::new();
    let levels = level_checks(state).await;
    let failing: Vec<String> = match &levels {
        Ok(levels) => levels
            .iter()
            .filter(|(_, _, outcome, _)| outcome.is_err())
            .map(|(name, ..)| name.clone())
            .collect(),
        Err(()) => Vec::new(),
    };
    #[cfg(feature = "redis")]
    let redis_down = manager
        .redis_health()
        .is_some_and(|redis| !redis.connected || redis.breaker_open);
    #[cfg(not(feature = "redis"))]
    let redis_down = false;

    // Each region: serving (always: from memory, or as misses that go to
    // the loader), enabled, and degraded while its second level fails.
    let names = manager.region_names();
    let mut fullest: Option<(String, f64)> = None;
    let mut over_limit = Vec::new();
    let mut regions = Vec::with_capacity(names.len());
    for name in &names {
        let (Ok(settings), Ok(stats)) = (manager.settings(name), manager.stats(name)) else {
            continue;
        };
        let tier = settings.tier.as_str();
        let level = match (settings.backend, tier) {
            (Some(backend), _) => Some(backend.to_owned()),
            (None, "redis") => Some(String::from("redis")),
            (None, "hybrid") if manager_has_redis(state) => Some(String::from("redis")),
            (None, "hybrid" | "disk") => Some(String::from("disk")),
            _ => None,
        };
        let level_down = level
            .as_ref()
            .is_some_and(|level| failing.contains(level) || (level == "redis" && redis_down));
        for (held, limit) in [
            (stats.entries, settings.max_entries),
            (stats.bytes, settings.max_bytes),
        ] {
            if let (Some(held), Some(limit)) = (held, limit)
                && limit > 0
            {
                let share = held as f64 / limit as f64;
                if fullest.as_ref().is_none_or(|(_, best)| share > *best) {
                    fullest = Some((name.clone(), share));
                }
                if held > limit {
                    over_limit.push(format!("{name} holds {held} of {limit}"));
                }
            }
        }
        let entries = stats
            .entries
            .map_or_else(|| String::from("? entries"), |n| format!("{n} entries"));
        let (status, detail) = match (&level, level_down) {
            (Some(level), true) if tier == "hybrid" => (
                "degraded",
                format!("{tier}: {level} fails; serving from memory, {entries}"),
            ),
            (Some(level), true) => (
                "degraded",
                format!("{tier}: {level} fails; every get misses and goes to the loader"),
            ),
            _ if !settings.enabled => (
                "up",
                format!("{tier}: disabled by configuration (reads go to the loader)"),
            ),
            _ => ("up", format!("{tier}: serving, {entries}")),
        };
        regions.push(component(format!("region:{name}"), status, detail));
    }
    components.push(component(
        "regions",
        if regions.iter().all(|r| r.status == "up") {
            "up"
        } else {
            "degraded"
        },
        format!(
            "{} region(s) serving, {} of them degraded",
            regions.len(),
            regions.iter().filter(|r| r.status != "up").count()
        ),
    ));
    components.extend(regions);

    // Memory: the process's resident size and the fullest region.
    let mut detail = match resident_bytes() {
        Some(rss) => format!("process resident {}", mib(rss)),
        None => String::from("process resident size unknown on this platform"),
    };
    if let Some((region, share)) = &fullest {
        detail.push_str(&format!(
            "; fullest region {region} at {:.0} % of its limit",
            share * 100.0
        ));
    }
    if !over_limit.is_empty() {
        detail.push_str(&format!("; over their limit: {}", over_limit.join(", ")));
    }
    components.push(component(
        "memory",
        if over_limit.is_empty() {
            "up"
        } else {
            "degraded"
        },
        detail,
    ));

    #[cfg(feature = "redis")]
    if let Some(redis) = manager.redis_health() {
        let ping = match &levels {
            Ok(levels) => {
                levels
                    .iter()
                    .find(|(name, ..)| name == "redis")
                    .map(|(_, _, outcome, _)| match outcome {
                        Ok((_, latency)) => format!("; PING {latency:?}"),
                        Err(error) => format!("; PING failed: {error}"),
                    })
            }
            Err(()) => Some(String::from("; PING did not answer in time")),
        }
        .unwrap_or_default();
        let status =
            if redis.connected && !redis.breaker_open && !failing.iter().any(|f| f == "redis") {
                "up"
            } else {
                // Memory and hybrid regions still serve.
                "degraded"
            };
        components.push(component(
            "redis",
            status,
            format!(
                "{}: {}, circuit breaker {} (opened {} time(s)){ping}",
                redis.server,
                if redis.connected {
                    "connected"
                } else {
                    "not connected"
                },
                if redis.breaker_open { "open" } else { "closed" },
                redis.breaker_opened
            ),
        ));
        if let Some(backplane) = manager.backplane_stats() {
            components.push(component(
                "backplane",
                if backplane.subscribed {
                    "up"
                } else {
                    "degraded"
                },
                format!(
                    "{}; {} sent, {} received, {} resubscription(s), {} resync(s)",
                    if backplane.subscribed {
                        "subscribed"
                    } else {
                        "not subscribed: other instances' invalidations are missed until it is back"
                    },
                    backplane.sent,
                    backplane.received,
                    backplane.subscriptions.saturating_sub(1),
                    backplane.resyncs
                ),
            ));
        }
    }

    // The disk tier's folder and the named backends (Redis above): each
    // answers its own check; a failing one degrades the regions on it.
    match levels {
        Ok(levels) => {
            for (level, region, outcome, count) in levels.into_iter().filter(|(l, ..)| l != "redis")
            {
                let asked =
                    format!("asked through region {region:?}; {count} open region(s) use it");
                if level == "disk" {
                    let (status, detail) = match &outcome {
                        Ok((folder, latency)) => match space(folder) {
                            Some((free, total)) if total > 0 => {
                                let share = free as f64 / total as f64;
                                (
                                    if share < min_free { "degraded" } else { "up" },
                                    format!(
                                        "{folder}: writable in {latency:?}, {} free of {} ({:.0} %{})",
                                        mib(free),
                                        mib(total),
                                        share * 100.0,
                                        if share < min_free {
                                            format!(", below the {:.0} % asked", min_free * 100.0)
                                        } else {
                                            String::new()
                                        }
                                    ),
                                )
                            }
                            _ => ("up", format!("{folder}: writable in {latency:?}")),
                        },
                        Err(error) => ("degraded", error.clone()),
                    };
                    components.push(component("disk", status, format!("{detail} ({asked})")));
                } else {
                    let (status, detail) = match &outcome {
                        Ok((detail, latency)) => ("up", format!("{detail} in {latency:?}")),
                        Err(error) => ("degraded", error.clone()),
                    };
                    components.push(component(
                        format!("backend:{level}"),
                        status,
                        format!("{detail} ({asked})"),
                    ));
                }
            }
        }
        Err(()) => components.push(component(
            "levels",
            "degraded",
            format!("the second levels did not all answer within {LEVEL_CHECKS:?}"),
        )),
    }

    // The configuration: its store answers, no warnings.
    let warnings = manager.config_warnings();
    let store = tokio::time::timeout(CONFIG_CHECK, manager.config_store_health()).await;
    let (store_ok, store_detail) = match store {
        Ok((location, Ok(latency))) => (true, format!("store {location} read in {latency:?}")),
        Ok((location, Err(error))) => (false, format!("store {location} failed: {error}")),
        Err(_) => (
            false,
            format!("the store did not answer within {CONFIG_CHECK:?}"),
        ),
    };
    components.push(component(
        "config",
        if warnings.is_empty() && store_ok {
            "up"
        } else {
            "degraded"
        },
        format!(
            "version {}, {} warning(s); {store_detail}",
            manager.config_version(),
            warnings.len()
        ),
    ));
    components
}

#[cfg(feature = "redis")]
fn manager_has_redis(state: &AdminState) -> bool {
    state.manager().redis_health().is_some()
}

#[cfg(not(feature = "redis"))]
fn manager_has_redis(_: &AdminState) -> bool {
    false
}

/// Whether the process can serve: `down` (503) only while the admin API
/// shuts down; a cache store outage that regions survive is `degraded`.
/// Components are shown to callers with a valid token.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = HealthView), (status = 503, body = HealthView)))]
pub(crate) async fn ready(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    if state.closing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(HealthView {
                status: "down",
                components: Vec::new(),
            }),
        )
            .into_response();
    }
    let components = components(&state).await;
    let status = if components.iter().all(|component| component.status == "up") {
        "up"
    } else {
        "degraded"
    };
    let shown = if identify(&state, &headers).is_some() {
        components
    } else {
        Vec::new()
    };
    axum::Json(HealthView {
        status,
        components: shown,
    })
    .into_response()
}

/// Every region's statistics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn metrics(State(state): State<AdminState>, _: Caller) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.manager().prometheus(),
    )
        .into_response()
}
