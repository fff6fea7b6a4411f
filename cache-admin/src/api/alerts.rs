//! `/api/config/caching/alerts`: the alert rules (GET/PUT, `If-Match` on
//! their version), the alerts and their history, silences, and a test
//! send per channel.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::config::{etag, if_match};
use super::extract::{ApiJson, ApiPath};
use crate::alerts::AlertError;
use crate::alerts::{AlertRules, Matcher, Overview, Silence};
use crate::audit::Operation;
use crate::auth::{AdminCaller, Caller};
use crate::error::{ApiError, ErrorBody, ProblemView};
use crate::state::AdminState;

/// The rules document and its version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RulesView {
    /// The version (also the `ETag`, for `If-Match`).
    pub version: u64,
    /// Rules, inhibitions, grouping and channels; secrets show as
    /// `{"set": true}`.
    pub rules: AlertRules,
}

/// A new silence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSilence {
    /// What it mutes: every matcher must match an alert's labels
    /// (`alertname`, `region`, `tier`, `backend`, `severity`).
    pub matchers: Vec<Matcher>,
    /// How long it lasts from its start, seconds (1 to 30 days' worth).
    pub duration_secs: u64,
    /// When it starts, Unix ms (default: now).
    #[serde(default)]
    pub starts_at_ms: Option<u64>,
    /// Why (required; audited).
    pub comment: String,
}

/// How a test send went.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TestOutcome {
    /// The channel.
    pub channel: String,
    /// Whether it was delivered.
    pub delivered: bool,
    /// The receiver's answer, or why it failed.
    pub detail: String,
}

const MAX_SILENCE_SECS: u64 = 30 * 86_400;

fn alert_error(error: AlertError) -> ApiError {
    match error {
        AlertError::Stale { .. } => ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "stale_version",
            error.to_string(),
        ),
        AlertError::Invalid(problems) => {
            let message = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; ");
            let first = problems.first().map(|p| p.field.clone());
            let mut error = ApiError::bad_request(
                "invalid_alert_rules",
                format!("the alert rules were not changed: {message}"),
            )
            .problems(
                problems
                    .into_iter()
                    .map(|p| ProblemView {
                        region: String::new(),
                        field: Some(p.field),
                        value: None,
                        message: p.message,
                    })
                    .collect(),
            );
            if let Some(field) = first {
                error = error.field(field);
            }
            error
        }
        AlertError::NoSilence(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_silence", error.to_string())
        }
        AlertError::NoChannel(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_channel", error.to_string())
        }
        AlertError::BadSilence(_) => ApiError::bad_request("invalid_silence", error.to_string()),
        AlertError::Shared(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "alert_state_unavailable",
            format!("{error}; nothing was changed: try again once Redis answers"),
        ),
    }
}

/// The alert rules, inhibitions, grouping and channels (secrets hidden).
#[utoipa::path(get, path = "/api/config/caching/alerts/rules", tag = "alerts",
    responses((status = 200, body = RulesView, headers(("ETag" = String, description = "The rules' version")))),
    security(("bearer" = [])))]
pub(crate) async fn get_rules(State(state): State<AdminState>, _: Caller) -> Response {
    let (version, rules) = state.alerting().current_rules().await;
    (
        [(header::ETAG, etag(version))],
        axum::Json(RulesView { version, rules }),
    )
        .into_response()
}

/// Replaces the whole rules document, checked first: `If-Match` names the
/// version it was made against (428 without, 412 when another change came
/// first). A secret written as `{"set": true}` keeps the stored one.
#[utoipa::path(put, path = "/api/config/caching/alerts/rules", tag = "alerts",
    request_body = AlertRules,
    params(("If-Match" = String, Header, description = "The version the change was made against, as the ETag gave it")),
    responses((status = 200, body = RulesView),
        (status = 400, description = "The rules do not pass their checks (every problem, by field)", body = ErrorBody),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 412, description = "Another change came first", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_rules(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    headers: HeaderMap,
    ApiJson(rules): ApiJson<AlertRules>,
) -> Result<Response, ApiError> {
    state.allow_mutation(&caller)?;
    let expected = if_match(&headers)?;
    let detail = format!(
        "{} rule(s), {} channel(s)",
        rules.rules.len(),
        rules.channels.len()
    );
    let alerting = state.alerting().clone();
    let version = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "alert_rules",
                region: None,
                reason: "",
                detail,
            },
            async move {
                alerting
                    .put_rules(rules, expected)
                    .await
                    .map(|version| (version, None))
                    .map_err(alert_error)
            },
        )
        .await?;
    let (version_now, rules) = state.alerting().rules();
    debug_assert!(version_now >= version);
    Ok((
        [(header::ETAG, etag(version))],
        axum::Json(RulesView { version, rules }),
    )
        .into_response())
}

/// Alerts firing and pending, silences, the last changes of state, and
/// each channel's deliveries.
#[utoipa::path(get, path = "/api/config/caching/alerts", tag = "alerts",
    responses((status = 200, body = Overview)),
    security(("bearer" = [])))]
pub(crate) async fn overview(State(state): State<AdminState>, _: Caller) -> axum::Json<Overview> {
    axum::Json(state.alerting().overview())
}

/// Mutes the alerts matching every matcher for a time (audited).
#[utoipa::path(post, path = "/api/config/caching/alerts/silences", tag = "alerts",
    request_body = NewSilence,
    responses((status = 201, body = Silence),
        (status = 400, description = "No matcher, no comment, a duration out of range", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn add_silence(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(silence): ApiJson<NewSilence>,
) -> Result<Response, ApiError> {
    state.allow_mutation(&caller)?;
    if silence.duration_secs == 0 || silence.duration_secs > MAX_SILENCE_SECS {
        return Err(ApiError::bad_request(
            "invalid_silence",
            format!(
                "duration_secs {} is not between 1 and {MAX_SILENCE_SECS} (30 days)",
                silence.duration_secs
            ),
        )
        .field("duration_secs"));
    }
    let detail = silence
        .matchers
        .iter()
        .map(|m| {
            format!(
                "{}{}{:?}",
                m.name,
                if m.negate { "!=" } else { "=" },
                m.value
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let detail = format!("silence {detail} for {} s", silence.duration_secs);
    let alerting = state.alerting().clone();
    let name = caller.name.clone();
    let comment = silence.comment.clone();
    let made = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "silence",
                region: None,
                reason: &comment,
                detail,
            },
            async move {
                alerting
                    .add_silence(
                        silence.matchers,
                        silence.starts_at_ms,
                        silence.duration_secs.saturating_mul(1000),
                        &name,
                        silence.comment,
                    )
                    .await
                    .map(|made| (made, None))
                    .map_err(alert_error)
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(made)).into_response())
}

/// Ends a silence now (audited); it stays listed as expired for a day.
#[utoipa::path(delete, path = "/api/config/caching/alerts/silences/{id}", tag = "alerts",
    params(("id" = String, Path, description = "The silence's id")),
    responses((status = 200, body = Silence),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn expire_silence(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Silence>, ApiError> {
    state.allow_mutation(&caller)?;
    let alerting = state.alerting().clone();
    let detail = format!("expire silence {id}");
    let expired = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "unsilence",
                region: None,
                reason: "",
                detail,
            },
            async move {
                alerting
                    .expire_silence(&id)
                    .await
                    .map(|silence| (silence, None))
                    .map_err(alert_error)
            },
        )
        .await?;
    Ok(axum::Json(expired))
}

/// Sends a test notification (alert `test`, severity `info`) to one
/// channel now and says how it went (audited).
#[utoipa::path(post, path = "/api/config/caching/alerts/channels/{id}/test", tag = "alerts",
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 200, description = "Sent, or why not", body = TestOutcome),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn test_channel(
    State(state): State<AdminState>,
    AdminCaller(caller): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<TestOutcome>, ApiError> {
    state.allow_mutation(&caller)?;
    let alerting = state.alerting().clone();
    let channel = id.clone();
    let outcome = state
        .mutate(
            Operation {
                actor: &caller.name,
                action: "channel_test",
                region: None,
                reason: "",
                detail: format!("test send to channel {id}"),
            },
            async move {
                alerting
                    .test_channel(&channel)
                    .await
                    .map(|outcome| (outcome, None))
                    .map_err(alert_error)
            },
        )
        .await?;
    Ok(axum::Json(match outcome {
        Ok(detail) => TestOutcome {
            channel: id,
            delivered: true,
            detail,
        },
        Err(detail) => TestOutcome {
            channel: id,
            delivered: false,
            detail,
        },
    }))
}
