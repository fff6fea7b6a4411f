//! Operations on a region: clear (all or by pattern), refresh, policy.

use axum::extract::State;
use cache_runtime::config::ConfigChange;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::config::{ConfigRecord, value_text};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::Operation;
use crate::auth::AdminCaller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// What to clear.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClearRequest {
    /// Only keys whose text matches this glob (`*`, `?`, `[...]`, `\`);
    /// every entry without one.
    pub pattern: Option<String>,
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
    /// With `scope=fleet`: how long to wait for the other instances'
    /// answers, in milliseconds (1 to 30000; 2000 by default).
    #[schema(minimum = 1, maximum = 30000)]
    pub wait_ms: Option<u64>,
}

/// The longest a fleet clear waits for answers.
const MAX_WAIT_MS: u64 = 30_000;

/// Where to clear.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClearScope {
    /// `instance` (this process, the default) or `fleet`.
    pub scope: Option<String>,
}

/// What a clear did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClearReport {
    /// The region.
    pub region: String,
    /// Entries removed on this instance.
    pub removed: u64,
    /// `instance` or `fleet`.
    pub scope: String,
    /// With `scope=fleet`: the other instances, and what they answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetReport>,
}

/// What the other instances did for a fleet clear.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FleetReport {
    /// This instance's backplane id.
    pub instance: String,
    /// Other instances the request reached (subscribed to the backplane).
    pub reached: u64,
    /// How many answered within the wait.
    pub answered: u64,
    /// Entries the answering instances removed, summed.
    pub removed: u64,
    /// Each answer.
    pub answers: Vec<FleetAnswerView>,
}

/// One other instance's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FleetAnswerView {
    /// Its backplane id.
    pub instance: String,
    /// Entries it removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<u64>,
    /// Why it could not clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Removes a region's entries, or those whose key matches a pattern.
#[utoipa::path(post, path = "/api/config/caching/{id}/clear", tag = "operations",
    params(("id" = String, Path, description = "The region's name"), ClearScope),
    request_body(content = ClearRequest, description = "Pattern and reason (optional)"),
    responses((status = 200, body = ClearReport),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Fleet scope without a Redis backplane", body = ErrorBody),
        (status = 429, body = ErrorBody),
        (status = 503, description = "The region's store failed", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn clear(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(scope): ApiQuery<ClearScope>,
    body: Option<ApiJson<ClearRequest>>,
) -> Result<axum::Json<ClearReport>, ApiError> {
    state.allow_mutation(&caller)?;
    let request = body.map(|ApiJson(body)| body).unwrap_or_default();
    let fleet = match scope.scope.as_deref() {
        None | Some("instance") => false,
        Some("fleet") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_scope",
                format!("scope {other:?} is not `instance` or `fleet`"),
            )
            .field("scope"));
        }
    };
    let wait_ms = request.wait_ms.unwrap_or(2_000);
    if !(1..=MAX_WAIT_MS).contains(&wait_ms) {
        return Err(ApiError::bad_request(
            "bad_wait",
            format!("wait_ms {wait_ms} is out of range: 1 to {MAX_WAIT_MS}"),
        )
        .field("wait_ms"));
    }
    let manager = state.manager().clone();
    // Only non-sensitive regions' patterns go into the trail.
    let sensitive = manager.settings(&id)?.sensitive;
    let mut detail = match (&request.pattern, sensitive) {
        (Some(_), true) => String::from("by a pattern"),
        (Some(pattern), false) => format!("keys matching {pattern:?}"),
        (None, _) => String::from("every entry"),
    };
    if fleet {
        detail.push_str(", every instance");
    }
    let region = id.clone();
    let pattern = request.pattern.clone();
    let (removed, fleet) = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "clear",
                region: Some(&id),
                reason: &request.reason,
                detail,
            },
            async move {
                if fleet {
                    let wait = std::time::Duration::from_millis(wait_ms);
                    let report = clear_fleet(&manager, &region, pattern.as_deref(), wait).await?;
                    return Ok(((report.0, Some(report.1)), None));
                }
                let removed = match &pattern {
                    Some(pattern) => manager.clear_matching(&region, pattern).await?,
                    None => manager.clear_region(&region).await?,
                };
                Ok(((removed, None), None))
            },
        )
        .await?;
    Ok(axum::Json(ClearReport {
        region: id,
        removed,
        scope: String::from(if fleet.is_some() { "fleet" } else { "instance" }),
        fleet,
    }))
}

/// Clears on every instance through the manager's Redis backplane.
#[cfg(feature = "redis")]
async fn clear_fleet(
    manager: &cache_runtime::CacheManager,
    region: &str,
    pattern: Option<&str>,
    wait: std::time::Duration,
) -> Result<(u64, FleetReport), ApiError> {
    let done = manager.clear_fleet(region, pattern, wait).await?;
    let answers: Vec<FleetAnswerView> = done
        .answers
        .into_iter()
        .map(|answer| FleetAnswerView {
            instance: answer.instance,
            removed: answer.removed,
            error: answer.error,
        })
        .collect();
    Ok((
        done.removed,
        FleetReport {
            instance: done.instance,
            reached: done.reached,
            answered: answers.len() as u64,
            removed: answers.iter().filter_map(|answer| answer.removed).sum(),
            answers,
        },
    ))
}

/// Without the `redis` feature there is no backplane to clear through.
#[cfg(not(feature = "redis"))]
async fn clear_fleet(
    _: &cache_runtime::CacheManager,
    region: &str,
    _: Option<&str>,
    _: std::time::Duration,
) -> Result<(u64, FleetReport), ApiError> {
    Err(ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "tier_unavailable",
        "scope=fleet travels on the Redis backplane: build cache-admin with its `redis` feature and the manager with a Redis connection",
    )
    .region(region))
}

/// Which keys to reload.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The keys (as JSON, or their text forms as strings); every key held
    /// without them.
    #[schema(value_type = Option<Vec<Object>>)]
    pub keys: Option<Vec<serde_json::Value>>,
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
}

/// What a refresh did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshView {
    /// Keys reloaded and stored.
    pub reloaded: u64,
    /// Keys whose loader failed (their old value stays).
    pub failed: u64,
    /// Keys removed (no loader, or the new value was refused).
    pub invalidated: u64,
}

/// Reloads keys with the region's loader (or removes them without one).
#[utoipa::path(post, path = "/api/config/caching/{id}/refresh", tag = "operations",
    params(("id" = String, Path, description = "The region's name")),
    request_body(content = RefreshRequest, description = "Keys and reason (optional)"),
    responses((status = 200, body = RefreshView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn refresh(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
    body: Option<ApiJson<RefreshRequest>>,
) -> Result<axum::Json<RefreshView>, ApiError> {
    state.allow_mutation(&caller)?;
    let request = body.map(|ApiJson(body)| body).unwrap_or_default();
    let manager = state.manager().clone();
    let detail = match &request.keys {
        Some(keys) => format!("{} key(s)", keys.len()),
        None => String::from("every key held"),
    };
    let region = id.clone();
    let keys = request.keys.clone();
    let report = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "refresh",
                region: Some(&id),
                reason: &request.reason,
                detail,
            },
            async move { Ok((manager.refresh(&region, keys).await?, None)) },
        )
        .await?;
    Ok(axum::Json(RefreshView {
        reloaded: report.reloaded,
        failed: report.failed,
        invalidated: report.invalidated,
    }))
}

/// A region's policy: the live fields to change. A string, number or
/// boolean sets a field (as a config file writes it); `null` drops the
/// run-time override; an absent field stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// The fields are read from the raw body (to tell `null` from absent); this
// type checks names and types and describes the body in the document.
#[allow(dead_code)]
pub(crate) struct PolicyUpdate {
    /// Time to live (`"10m"`, `"none"`).
    #[schema(value_type = Option<Object>)]
    pub ttl: Option<serde_json::Value>,
    /// Time to idle.
    #[schema(value_type = Option<Object>)]
    pub tti: Option<serde_json::Value>,
    /// The memory level's TTL in a hybrid region.
    #[schema(value_type = Option<Object>)]
    pub memory_ttl: Option<serde_json::Value>,
    /// Entry limit.
    #[schema(value_type = Option<Object>)]
    pub max_entries: Option<serde_json::Value>,
    /// Byte limit (`"64MiB"`).
    #[schema(value_type = Option<Object>)]
    pub max_bytes: Option<serde_json::Value>,
    /// `lru`, `tiny_lfu`.
    #[schema(value_type = Option<Object>)]
    pub eviction: Option<serde_json::Value>,
    /// `none`, `lz4`, `zstd:4KiB`...
    #[schema(value_type = Option<Object>)]
    pub compression: Option<serde_json::Value>,
    /// Whether the region serves.
    #[schema(value_type = Option<Object>)]
    pub enabled: Option<serde_json::Value>,
    /// Fail-safe grace (`"1m"`, `"none"`).
    #[schema(value_type = Option<Object>)]
    pub fail_safe: Option<serde_json::Value>,
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
}

/// A field of a policy update that was present: `Some(value)` to set,
/// `None` (JSON `null`) to unset. serde maps a present `null` and an absent
/// field both to `None`, so presence is read from the raw body.
fn policy_fields(body: &serde_json::Value) -> Vec<(&str, Option<&serde_json::Value>)> {
    const FIELDS: [&str; 9] = [
        "ttl",
        "tti",
        "memory_ttl",
        "max_entries",
        "max_bytes",
        "eviction",
        "compression",
        "enabled",
        "fail_safe",
    ];
    let Some(object) = body.as_object() else {
        return Vec::new();
    };
    FIELDS
        .iter()
        .filter_map(|field| {
            object
                .get(*field)
                .map(|value| (*field, (!value.is_null()).then_some(value)))
        })
        .collect()
}

/// Changes a region's live policy (a validated, versioned configuration
/// change).
#[utoipa::path(put, path = "/api/config/caching/{id}/policy", tag = "operations",
    params(("id" = String, Path, description = "The region's name")),
    request_body = PolicyUpdate,
    responses((status = 200, body = ConfigRecord),
        (status = 400, description = "Invalid: every problem listed", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn policy(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<axum::Json<ConfigRecord>, ApiError> {
    state.allow_mutation(&caller)?;
    // Typed once, for the unknown-field and type errors.
    let update: PolicyUpdate = serde_json::from_value(body.clone())
        .map_err(|error| ApiError::bad_request("bad_body", error.to_string()))?;
    state.manager().descriptor(&id)?;
    let fields = policy_fields(&body);
    if fields.is_empty() {
        return Err(ApiError::bad_request(
            "empty_policy",
            "the body names no field to change (ttl, tti, memory_ttl, max_entries, max_bytes, eviction, compression, enabled, fail_safe)",
        )
        .region(id));
    }
    let mut change = ConfigChange::new(caller.name.clone(), update.reason.clone());
    let mut described = Vec::new();
    for (field, value) in fields {
        match value {
            Some(value) => {
                let text = value_text(value).map_err(|message| {
                    ApiError::bad_request("bad_value", message)
                        .region(id.clone())
                        .field(field)
                })?;
                described.push(format!("{field} = {text}"));
                change = change.set(id.clone(), field, text);
            }
            None => {
                described.push(format!("{field} unset"));
                change = change.unset(id.clone(), field);
            }
        }
    }
    let record = super::config::configure(
        &state,
        Operation {
            actor: &caller.name,
            action: "policy",
            region: Some(&id),
            reason: &update.reason,
            detail: described.join(", "),
        },
        change,
    )
    .await?;
    Ok(axum::Json(ConfigRecord {
        version: record.version,
        record: serde_json::to_value(&record).unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_unsets_and_absent_fields_stay() {
        let body = serde_json::json!({"ttl": "10m", "tti": null, "reason": "x"});
        let fields = policy_fields(&body);
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].0, "ttl");
        assert!(fields[0].1.is_some());
        assert_eq!(fields[1], ("tti", None));
    }
}
