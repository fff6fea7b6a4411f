//! `/api/config/caching`: the effective configuration (GET), a whole change
//! (PUT, `If-Match` on the version), history, rollback, audit.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cache_runtime::config::ConfigChange;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::{Operation, OperationRecord};
use crate::auth::{AdminCaller, Caller};
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// Every region's effective configuration.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfigView {
    /// The configuration version in force (0 before any run-time change);
    /// also the `ETag`, for `If-Match`.
    pub version: u64,
    /// Each region's fields.
    pub regions: Vec<RegionConfig>,
    /// Problems reported rather than refused (saved overrides that no
    /// longer fit, rejected file edits).
    pub warnings: Vec<String>,
}

/// One region's effective fields.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionConfig {
    /// The region.
    pub region: String,
    /// Every field, with the layer that set it.
    pub fields: Vec<FieldView>,
}

/// One field's effective value and where it came from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FieldView {
    /// The field (`ttl`, `max_entries`...).
    pub field: String,
    /// Its value, as a config file writes it.
    pub value: String,
    /// The layer that set it (`default`, `declaration`, `config file ...`,
    /// `run-time change by ...`).
    pub source: String,
}

/// A whole configuration change: applied entirely or not at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigUpdate {
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
    /// Fields to set, in the config file's text forms.
    #[serde(default)]
    pub set: Vec<SetField>,
    /// Run-time overrides to drop (the lower layers' values apply again).
    #[serde(default)]
    pub unset: Vec<UnsetField>,
}

/// A field to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetField {
    /// The region.
    pub region: String,
    /// The field.
    pub field: String,
    /// The value: a string (`"10m"`, `"lru"`, `"zstd:4KiB"`), a number or
    /// a boolean.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// An override to drop.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnsetField {
    /// The region.
    pub region: String,
    /// The field.
    pub field: String,
}

/// A configuration version as the history keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfigRecord {
    /// The version it made.
    pub version: u64,
    /// The record (actor, reason, time, instance, kind, changes,
    /// overrides in force after it).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

/// Why a rollback is made.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackRequest {
    /// Why (kept in the audit trail).
    #[serde(default)]
    pub reason: String,
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Only this region's operations.
    pub region: Option<String>,
}

/// The value's text form, as a config file writes it.
pub(crate) fn value_text(value: &serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::String(text) => Ok(text.clone()),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!(
            "a value must be a string, a number or a boolean, not {other}"
        )),
    }
}

pub(crate) fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header names.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<u64, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            "a configuration change needs `If-Match: \"<version>\"` with the version it was made against (the ETag of GET /api/config/caching)",
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            "bad_if_match",
            format!("If-Match {text:?} is not a configuration version like \"12\""),
        )
    })
}

fn config_view(state: &AdminState) -> ConfigView {
    let manager = state.manager();
    let mut regions = Vec::new();
    for name in manager.region_names() {
        if let Ok(explanation) = manager.explain(&name) {
            regions.push(RegionConfig {
                region: name,
                fields: explanation
                    .fields
                    .into_iter()
                    .map(|field| FieldView {
                        field: field.field.to_owned(),
                        value: field.value,
                        source: field.source.to_string(),
                    })
                    .collect(),
            });
        }
    }
    ConfigView {
        version: manager.config_version(),
        regions,
        warnings: manager
            .config_warnings()
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

/// Every region's effective configuration, with the layer that set each
/// field.
#[utoipa::path(get, path = "/api/config/caching", tag = "config",
    responses(
        (status = 200, description = "The configuration in force; ETag is its version", body = ConfigView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_config(State(state): State<AdminState>, _: Caller) -> Response {
    let view = config_view(&state);
    let tag = etag(view.version);
    let mut response = axum::Json(view).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// Applies a whole change, validated as one, if the version it was made
/// against is still in force.
#[utoipa::path(put, path = "/api/config/caching", tag = "config",
    request_body = ConfigUpdate,
    params(("If-Match" = String, Header, description = "The version the change was made against, as the ETag gives it")),
    responses(
        (status = 200, description = "Applied; ETag is the new version", body = ConfigRecord),
        (status = 400, description = "Invalid: every problem listed", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 412, description = "Another change came first", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_config(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    headers: HeaderMap,
    ApiJson(update): ApiJson<ConfigUpdate>,
) -> Result<Response, ApiError> {
    state.allow_mutation(&caller)?;
    let expected = if_match(&headers)?;
    let mut change =
        ConfigChange::new(caller.name.clone(), update.reason.clone()).if_version(expected);
    let mut described = Vec::new();
    for set in &update.set {
        let text = value_text(&set.value).map_err(|message| {
            ApiError::bad_request("bad_value", message)
                .region(set.region.clone())
                .field(set.field.clone())
        })?;
        described.push(format!("{}.{} = {text}", set.region, set.field));
        change = change.set(set.region.clone(), set.field.clone(), text);
    }
    for unset in &update.unset {
        described.push(format!("{}.{} unset", unset.region, unset.field));
        change = change.unset(unset.region.clone(), unset.field.clone());
    }
    let record = configure(
        &state,
        Operation {
            actor: &caller.name,
            action: "configure",
            region: None,
            reason: &update.reason,
            detail: described.join(", "),
        },
        change,
    )
    .await?;
    let version = record.version;
    let mut response = axum::Json(ConfigRecord {
        version,
        record: serde_json::to_value(&record).unwrap_or_default(),
    })
    .into_response();
    response.headers_mut().insert(header::ETAG, etag(version));
    Ok(response)
}

/// The kept history of configuration versions, oldest first.
#[utoipa::path(get, path = "/api/config/caching/history", tag = "config",
    responses((status = 200, body = [ConfigRecord]),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn history(
    State(state): State<AdminState>,
    _: Caller,
) -> Result<axum::Json<Vec<ConfigRecord>>, ApiError> {
    let records = state.manager().history().await?;
    Ok(axum::Json(
        records
            .into_iter()
            .map(|record| ConfigRecord {
                version: record.version,
                record: serde_json::to_value(&record).unwrap_or_default(),
            })
            .collect(),
    ))
}

/// Restores the configuration in force right after `version`, as a new
/// version.
#[utoipa::path(post, path = "/api/config/caching/rollback/{version}", tag = "config",
    params(("version" = u64, Path, description = "The version to restore (0: no run-time overrides)")),
    request_body(content = RollbackRequest, description = "Why (optional)"),
    responses((status = 200, body = ConfigRecord),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such version kept", body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn rollback(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(version): ApiPath<u64>,
    body: Option<ApiJson<RollbackRequest>>,
) -> Result<Response, ApiError> {
    state.allow_mutation(&caller)?;
    let reason = body.map(|ApiJson(body)| body.reason).unwrap_or_default();
    let manager = state.manager().clone();
    let actor = caller.name.clone();
    let reason_for = reason.clone();
    let record = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "rollback",
                region: None,
                reason: &reason,
                detail: format!("to version {version}"),
            },
            async move {
                let record = manager.rollback(version, &actor, &reason_for).await?;
                let made = record.version;
                Ok((record, Some(made)))
            },
        )
        .await?;
    let made = record.version;
    let mut response = axum::Json(ConfigRecord {
        version: made,
        record: serde_json::to_value(&record).unwrap_or_default(),
    })
    .into_response();
    response.headers_mut().insert(header::ETAG, etag(made));
    Ok(response)
}

/// Every mutation made through this admin API (configuration and
/// operations alike), oldest first.
#[utoipa::path(get, path = "/api/config/caching/audit", tag = "config",
    params(AuditQuery),
    responses((status = 200, body = [OperationRecord]),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn audit(
    State(state): State<AdminState>,
    _: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> axum::Json<Vec<OperationRecord>> {
    axum::Json(state.log().list(query.region.as_deref()))
}

/// Applies `change` to the manager, recorded in the audit trail as
/// `operation` with the version it made.
pub(super) async fn configure(
    state: &AdminState,
    operation: Operation<'_>,
    change: ConfigChange,
) -> Result<cache_runtime::config::AuditRecord, ApiError> {
    let manager = state.manager().clone();
    state
        .mutate(operation, async move {
            let record = manager.configure(change).await?;
            let version = record.version;
            Ok((record, Some(version)))
        })
        .await
}
