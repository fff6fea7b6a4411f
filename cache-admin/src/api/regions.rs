//! `/api/config/caching/regions` and `/statistics`: what regions there
//! are, and how they are doing.

use axum::extract::State;
use cache_runtime::CacheManager;
use cache_runtime::stats::StatsSnapshot;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiPath, ApiQuery};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// A region, as a list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionView {
    /// Its name.
    pub name: String,
    /// The key type, as the declaration spells it (absent for regions
    /// registered by hand without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// The value type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// `memory`, `disk`, `redis`, `hybrid` or `backend`.
    pub tier: String,
    /// The named storage backend, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Where it was declared (`file:line`).
    pub site: String,
    /// A sensitive region's keys and values are never shown.
    pub sensitive: bool,
    /// Whether it serves (a disabled region passes reads to its loader).
    pub enabled: bool,
    /// Entries held (`null` when the store cannot count them).
    pub entries: Option<u64>,
    /// Bytes held in memory (`null` without a memory level).
    pub bytes: Option<u64>,
    /// The entry limit, if any.
    pub max_entries: Option<u64>,
    /// The byte limit, if any.
    pub max_bytes: Option<u64>,
    /// Gets that found a value, since start.
    pub hits: u64,
    /// Gets that found none.
    pub misses: u64,
    /// `(hits + coalesced) / gets`.
    pub hit_rate: Option<f64>,
}

/// A region with its effective configuration.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegionDetail {
    /// The region.
    #[serde(flatten)]
    pub region: RegionView,
    /// Its description, from the declaration's doc comment.
    pub description: String,
    /// Every field with the layer that set it.
    pub fields: Vec<super::config::FieldView>,
}

pub(crate) fn region_view(manager: &CacheManager, name: &str) -> Result<RegionView, ApiError> {
    let descriptor = manager.descriptor(name)?;
    let settings = manager.settings(name)?;
    let stats = manager.stats(name)?;
    let (key_type, value_type) = match manager.type_names(name)? {
        Some((key, value)) => (Some(key), Some(value)),
        None => (None, None),
    };
    Ok(RegionView {
        name: name.to_owned(),
        key_type,
        value_type,
        tier: settings.tier.as_str().to_owned(),
        backend: settings.backend.map(str::to_owned),
        site: descriptor.site().to_string(),
        sensitive: settings.sensitive,
        enabled: settings.enabled,
        entries: stats.entries,
        bytes: stats.bytes,
        max_entries: settings.max_entries,
        max_bytes: settings.max_bytes,
        hits: stats.hits,
        misses: stats.misses,
        hit_rate: stats.hit_rate,
    })
}

/// Every region.
#[utoipa::path(get, path = "/api/config/caching/regions", tag = "regions",
    responses((status = 200, body = [RegionView]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AdminState>,
    _: Caller,
) -> Result<axum::Json<Vec<RegionView>>, ApiError> {
    let manager = state.manager();
    let mut regions = Vec::new();
    for name in manager.region_names() {
        regions.push(region_view(manager, &name)?);
    }
    Ok(axum::Json(regions))
}

/// One region, with its effective configuration.
#[utoipa::path(get, path = "/api/config/caching/regions/{id}", tag = "regions",
    params(("id" = String, Path, description = "The region's name")),
    responses((status = 200, body = RegionDetail),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such region (with the closest name)", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn detail(
    State(state): State<AdminState>,
    _: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<RegionDetail>, ApiError> {
    let manager = state.manager();
    let region = region_view(manager, &id)?;
    let descriptor = manager.descriptor(&id)?;
    let explanation = manager.explain(&id)?;
    Ok(axum::Json(RegionDetail {
        region,
        description: descriptor.description().to_owned(),
        fields: explanation
            .fields
            .into_iter()
            .map(|field| super::config::FieldView {
                field: field.field.to_owned(),
                value: field.value,
                source: field.source.to_string(),
            })
            .collect(),
    }))
}

/// Which window of the statistics to show besides the totals.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatsQuery {
    /// `1m`, `5m` or `1h`: that window's figures in `window`.
    #[param(pattern = "^(1m|5m|1h)$")]
    pub window: Option<String>,
}

/// A region's statistics.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatsView {
    /// The region.
    pub region: String,
    /// The window asked for (`1m`, `5m`, `1h`), if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// That window's figures (gets, hits, misses, coalesced, hit rate,
    /// inserts, evictions by cause, loads, errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub window_stats: Option<serde_json::Value>,
    /// Everything since start: counters, hit rate, coalesced, evictions
    /// by cause, latency percentiles, entries and bytes, per-tier figures.
    #[schema(value_type = Object)]
    pub totals: StatsSnapshot,
    /// The entry limit, if any.
    pub max_entries: Option<u64>,
    /// The byte limit, if any.
    pub max_bytes: Option<u64>,
}

/// `snapshot` as a [`StatsView`], with `window`'s figures if one.
fn stats_view(
    manager: &CacheManager,
    snapshot: StatsSnapshot,
    window: Option<&str>,
) -> Result<StatsView, ApiError> {
    let settings = manager.settings(&snapshot.region)?;
    let window_stats = match window {
        None => None,
        Some("1m") => Some(serde_json::to_value(snapshot.last_1m)),
        Some("5m") => Some(serde_json::to_value(snapshot.last_5m)),
        Some("1h") => Some(serde_json::to_value(snapshot.last_1h)),
        Some(other) => return Err(bad_window(other)),
    }
    .transpose()
    .unwrap_or_default();
    Ok(StatsView {
        region: snapshot.region.clone(),
        window: window.map(str::to_owned),
        window_stats,
        max_entries: settings.max_entries,
        max_bytes: settings.max_bytes,
        totals: snapshot,
    })
}

fn bad_window(window: &str) -> ApiError {
    ApiError::bad_request(
        "bad_window",
        format!("window {window:?} is not one of `1m`, `5m`, `1h`"),
    )
    .field("window")
}

/// Every region's statistics.
#[utoipa::path(get, path = "/api/config/caching/statistics", tag = "statistics",
    params(StatsQuery),
    responses((status = 200, body = [StatsView]),
        (status = 400, description = "Unknown window", body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn all_stats(
    State(state): State<AdminState>,
    _: Caller,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<axum::Json<Vec<StatsView>>, ApiError> {
    if let Some(window) = query
        .window
        .as_deref()
        .filter(|w| !["1m", "5m", "1h"].contains(w))
    {
        return Err(bad_window(window));
    }
    let manager = state.manager();
    // One pass over the regions (their gauges refreshed once each).
    let views = manager
        .all_stats()
        .into_iter()
        .map(|snapshot| stats_view(manager, snapshot, query.window.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(views))
}

/// One region's statistics.
#[utoipa::path(get, path = "/api/config/caching/statistics/{id}", tag = "statistics",
    params(("id" = String, Path, description = "The region's name"), StatsQuery),
    responses((status = 200, body = StatsView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn region_stats(
    State(state): State<AdminState>,
    _: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<axum::Json<StatsView>, ApiError> {
    let manager = state.manager();
    let snapshot = manager.stats(&id)?;
    Ok(axum::Json(stats_view(
        manager,
        snapshot,
        query.window.as_deref(),
    )?))
}

/// One region's counters summed over every instance that flushes them to
/// the shared Redis (`RedisConfig::fleet_stats`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FleetView {
    /// The region.
    pub region: String,
    /// Gets that found a value, on every instance.
    pub hits: u64,
    /// Gets that found none.
    pub misses: u64,
    /// `hits / (hits + misses)`.
    pub hit_rate: Option<f64>,
    /// Values stored.
    pub inserts: u64,
    /// Loads that succeeded.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Gets answered by the second level.
    pub l2_hits: u64,
    /// Second-level operations that failed.
    pub l2_errors: u64,
}

/// Every region's figures summed over the fleet (instances sharing the
/// manager's Redis and flushing their counters to it).
#[utoipa::path(get, path = "/api/config/caching/fleet", tag = "statistics",
    responses((status = 200, body = [FleetView]),
        (status = 409, description = "No Redis, or the redis feature is off", body = ErrorBody),
        (status = 503, description = "Redis failed", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn fleet(
    State(state): State<AdminState>,
    _: Caller,
) -> Result<axum::Json<Vec<FleetView>>, ApiError> {
    fleet_views(state.manager()).await.map(axum::Json)
}

#[cfg(feature = "redis")]
async fn fleet_views(manager: &CacheManager) -> Result<Vec<FleetView>, ApiError> {
    let mut views = Vec::new();
    for name in manager.region_names() {
        let stats = manager.fleet_stats(&name).await?;
        views.push(FleetView {
            region: stats.region,
            hits: stats.hits,
            misses: stats.misses,
            hit_rate: stats.hit_rate,
            inserts: stats.inserts,
            loads_succeeded: stats.loads_succeeded,
            loads_failed: stats.loads_failed,
            l2_hits: stats.l2_hits,
            l2_errors: stats.l2_errors,
        });
    }
    Ok(views)
}

#[cfg(not(feature = "redis"))]
async fn fleet_views(_: &CacheManager) -> Result<Vec<FleetView>, ApiError> {
    Err(ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "tier_unavailable",
        "fleet figures live in Redis: build cache-admin with its `redis` feature and the manager with RedisConfig::fleet_stats",
    ))
}
