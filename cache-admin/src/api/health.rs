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
    /// `regions`, `redis`, `disk`, `backend:<name>`, `config`.
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

async fn components(state: &AdminState) -> Vec<Component> {
    let manager = state.manager();
    let mut components = vec![Component {
        name: String::from("regions"),
        status: "up",
        detail: format!("{} region(s) serving", manager.region_names().len()),
    }];
    #[cfg(feature = "redis")]
    if let Some(redis) = manager.redis_health() {
        let status = if redis.connected && !redis.breaker_open {
            "up"
        } else {
            // Memory and hybrid regions still serve.
            "degraded"
        };
        components.push(Component {
            name: String::from("redis"),
            status,
            detail: format!(
                "{}: {}, circuit breaker {} (opened {} time(s))",
                redis.server,
                if redis.connected {
                    "connected"
                } else {
                    "not connected"
                },
                if redis.breaker_open { "open" } else { "closed" },
                redis.breaker_opened
            ),
        });
    }
    // The second levels in use (the disk tier's folders, named backends;
    // Redis has its own component above): a failing one degrades the
    // regions on it, which still answer (from memory, or as misses).
    match tokio::time::timeout(LEVEL_CHECKS, manager.level_health()).await {
        Ok(levels) => {
            for level in levels.into_iter().filter(|level| level.level != "redis") {
                let (status, detail) = match &level.outcome {
                    Ok(health) => ("up", format!("{} in {:?}", health.detail, health.latency)),
                    Err(error) => ("degraded", error.clone()),
                };
                components.push(Component {
                    name: if level.level == "disk" {
                        String::from("disk")
                    } else {
                        format!("backend:{}", level.level)
                    },
                    status,
                    detail: format!(
                        "{detail} (asked through region {:?}; {} open region(s) use it)",
                        level.region, level.regions
                    ),
                });
            }
        }
        Err(_) => components.push(Component {
            name: String::from("levels"),
            status: "degraded",
            detail: format!("the second levels did not all answer within {LEVEL_CHECKS:?}"),
        }),
    }
    let warnings = manager.config_warnings();
    components.push(Component {
        name: String::from("config"),
        status: if warnings.is_empty() {
            "up"
        } else {
            "degraded"
        },
        detail: format!(
            "version {}, {} warning(s)",
            manager.config_version(),
            warnings.len()
        ),
    });
    components
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
