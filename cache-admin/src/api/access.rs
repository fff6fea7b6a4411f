//! The access log: one `tracing` event per request (target
//! `cache_admin::access`), with the route as declared
//! (`/api/config/caching/{id}/entries/{key}`), never the path as sent, so
//! that no key, pattern or other value a caller put in the URL reaches a
//! log line; the method, the status, the caller's token name (never the
//! secret) and how long it took.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::Caller;

/// Logs the request once its answer is ready (for the event stream: once
/// the stream starts).
pub(crate) async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || String::from("(no route)"),
        |path| path.as_str().to_owned(),
    );
    let response = next.run(request).await;
    let actor = response
        .extensions()
        .get::<Caller>()
        .map_or("-", |caller| caller.name.as_str());
    let status = response.status().as_u16();
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if status >= 500 {
        tracing::warn!(target: "cache_admin::access", %method, route, status, actor, elapsed_us, "request");
    } else {
        tracing::info!(target: "cache_admin::access", %method, route, status, actor, elapsed_us, "request");
    }
    response
}
