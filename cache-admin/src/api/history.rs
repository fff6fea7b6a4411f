//! `/api/config/caching/statistics/{id}/history`: a region's metric
//! history, for charts that go back further than the live stream.

use axum::extract::State;
use cache_runtime::stats::{HistoryPoint, HistoryRange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// Which history to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// `1h` (a point every 10 s, the default) or `24h` (a point a minute).
    #[param(pattern = "^(1h|24h)$")]
    pub range: Option<String>,
}

/// A region's history over one range.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryView {
    /// The region.
    pub region: String,
    /// `1h` or `24h`.
    pub range: &'static str,
    /// Seconds each point covers (10 or 60).
    pub step_seconds: u64,
    /// One point per step during which the region was ticked, oldest
    /// first; steps while the process was down are missing (a gap).
    pub points: Vec<PointView>,
}

/// What a region did during one step.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PointView {
    /// When the step began, Unix ms.
    pub at_ms: u64,
    /// Gets that found a value.
    pub hits: u64,
    /// Gets that found nothing (not coalesced).
    pub misses: u64,
    /// Gets that waited for another caller's load of the same key.
    pub coalesced: u64,
    /// Loads that produced a value.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Values stored.
    pub inserts: u64,
    /// Errors recovered from.
    pub errors: u64,
    /// Entries dropped because their time to live passed.
    pub evictions_expired: u64,
    /// Entries dropped because they were not read for their time to idle.
    pub evictions_idle: u64,
    /// Entries dropped to stay within the size limit.
    pub evictions_size: u64,
    /// Entries at the step's end (`null` where unknown).
    pub entries: Option<u64>,
    /// Bytes at the step's end (`null` where unknown).
    pub bytes: Option<u64>,
    /// Median get latency, ns (`null` when no get was timed).
    pub p50_ns: Option<u64>,
    /// 99th percentile get latency, ns.
    pub p99_ns: Option<u64>,
}

impl From<HistoryPoint> for PointView {
    fn from(point: HistoryPoint) -> PointView {
        PointView {
            at_ms: point.at_ms,
            hits: point.hits,
            misses: point.misses,
            coalesced: point.coalesced,
            loads_succeeded: point.loads_succeeded,
            loads_failed: point.loads_failed,
            inserts: point.inserts,
            errors: point.errors,
            evictions_expired: point.evictions.expired,
            evictions_idle: point.evictions.idle,
            evictions_size: point.evictions.size,
            entries: point.entries,
            bytes: point.bytes,
            p50_ns: point.p50_ns,
            p99_ns: point.p99_ns,
        }
    }
}

/// A region's metric history: 10 s points over the last hour or 1 min
/// points over the last day, kept across restarts with the statistics.
#[utoipa::path(get, path = "/api/config/caching/statistics/{id}/history", tag = "statistics",
    params(("id" = String, Path, description = "The region's name"), HistoryQuery),
    responses((status = 200, body = HistoryView),
        (status = 400, description = "Unknown range", body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn history(
    State(state): State<AdminState>,
    _: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<axum::Json<HistoryView>, ApiError> {
    let range = match query.range.as_deref() {
        None => HistoryRange::Hour,
        Some(text) => HistoryRange::parse(text).ok_or_else(|| {
            ApiError::bad_request(
                "bad_range",
                format!("range {text:?} is not one of `1h`, `24h`"),
            )
            .field("range")
        })?,
    };
    let points = state.manager().stats_history(&id, range)?;
    Ok(axum::Json(HistoryView {
        region: id,
        range: range.as_str(),
        step_seconds: range.step().as_secs(),
        points: points.into_iter().map(PointView::from).collect(),
    }))
}
