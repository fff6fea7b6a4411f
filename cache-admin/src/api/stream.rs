//! `/api/config/caching/events`: server-sent events — every region event
//! the manager announces (`event: cache`), and a statistics tick
//! (`event: stats`) every interval, one connection for every region.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};

use super::extract::ApiQuery;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AdminState;

/// How often statistics ticks come.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Seconds between `stats` events, 1 to 3600 (default 5); 0 for none.
    #[param(maximum = 3600)]
    pub stats_every: Option<u64>,
}

/// One region's figures in a `stats` event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatsTick {
    /// The region.
    pub region: String,
    /// Gets that found a value, since start.
    pub hits: u64,
    /// Gets that found none.
    pub misses: u64,
    /// Gets that waited for another caller's load.
    pub coalesced: u64,
    /// `(hits + coalesced) / gets`.
    pub hit_rate: Option<f64>,
    /// Entries held.
    pub entries: Option<u64>,
    /// Bytes held in memory.
    pub bytes: Option<u64>,
    /// Evictions, all causes.
    pub evictions: u64,
    /// Evictions by cause.
    pub evicted: EvictedTick,
    /// Sampled get latency since start: median and 99th percentile, ns.
    pub p50_ns: u64,
    /// The 95th percentile, ns.
    pub p95_ns: u64,
    /// The 99th percentile, ns.
    pub p99_ns: u64,
    /// Gets answered by the memory level, for a region with a second level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l1_hits: Option<u64>,
    /// Gets answered by the second level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l2_hits: Option<u64>,
}

/// Evictions by cause, since start.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvictedTick {
    /// The TTL ran out.
    pub expired: u64,
    /// The idle time (TTI) ran out.
    pub idle: u64,
    /// The size limit.
    pub size: u64,
}

/// One server-sent event as a client parses it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SseEvent {
    /// `cache`, `stats`, `alert` or `lagged`.
    pub event: String,
    /// JSON: for `cache`, the event (region, kind, the key unless the
    /// region is sensitive, detail); for `stats`, a list of [`StatsTick`];
    /// for `alert`, an alert's change of state (pending, firing, resolved;
    /// labels, value, threshold, whether muted); for `lagged`, how many
    /// events were dropped.
    pub data: String,
}

/// The event stream (`text/event-stream`): `cache` events (a region's
/// insert, removal, eviction, clear, refresh, configuration change...;
/// never a key of a sensitive region), `stats` events (every region's
/// figures) and `alert` events (an alert pending, firing or resolved);
/// `lagged` when the reader fell behind and events were dropped.
#[utoipa::path(get, path = "/api/config/caching/events", tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream", body = SseEvent),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn events(
    State(state): State<AdminState>,
    _: Caller,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    let every = match query.stats_every.unwrap_or(5) {
        0 => None,
        seconds @ 1..=3600 => Some(Duration::from_secs(seconds)),
        other => {
            return Err(ApiError::bad_request(
                "bad_stats_every",
                format!("stats_every {other} is not between 0 and 3600 seconds"),
            )
            .field("stats_every"));
        }
    };
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(256);
    let mut events = state.manager().subscribe();
    let mut alerts = state.alerting().subscribe();
    let manager = state.manager().clone();
    tokio::spawn(async move {
        let mut ticks = every.map(tokio::time::interval);
        loop {
            let tick = async {
                match ticks.as_mut() {
                    Some(ticks) => {
                        ticks.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let event = tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => Event::default()
                        .event("cache")
                        .json_data(&event)
                        .unwrap_or_else(|_| Event::default().event("cache")),
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("lagged")
                        .data(missed.to_string()),
                    Err(RecvError::Closed) => break,
                },
                received = alerts.recv() => match received {
                    Ok(alert) => Event::default()
                        .event("alert")
                        .json_data(&alert)
                        .unwrap_or_else(|_| Event::default().event("alert")),
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("lagged")
                        .data(missed.to_string()),
                    Err(RecvError::Closed) => break,
                },
                () = tick => {
                    let figures: Vec<StatsTick> = manager
                        .all_stats()
                        .into_iter()
                        .map(|snapshot| StatsTick {
                            hits: snapshot.hits,
                            misses: snapshot.misses,
                            coalesced: snapshot.coalesced,
                            hit_rate: snapshot.hit_rate,
                            entries: snapshot.entries,
                            bytes: snapshot.bytes,
                            evictions: snapshot.evictions.total(),
                            evicted: EvictedTick {
                                expired: snapshot.evictions.expired,
                                idle: snapshot.evictions.idle,
                                size: snapshot.evictions.size,
                            },
                            p50_ns: snapshot.get_latency.p50_ns,
                            p95_ns: snapshot.get_latency.p95_ns,
                            p99_ns: snapshot.get_latency.p99_ns,
                            l1_hits: snapshot.tiers.map(|tiers| tiers.l1_hits),
                            l2_hits: snapshot.tiers.map(|tiers| tiers.l2_hits),
                            region: snapshot.region,
                        })
                        .collect();
                    Event::default()
                        .event("stats")
                        .json_data(&figures)
                        .unwrap_or_else(|_| Event::default().event("stats"))
                }
            };
            if sender.send(Ok(event)).await.is_err() {
                // The client went away.
                break;
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver))
        .keep_alive(KeepAlive::default())
        .into_response())
}
