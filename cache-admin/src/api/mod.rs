//! The routes, their guards and the OpenAPI document they make.

mod access;
pub(crate) mod alerts;
pub(crate) mod config;
pub(crate) mod entries;
mod extract;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod ops;
pub(crate) mod regions;
pub(crate) mod stream;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::state::AdminState;

/// The document's fixed parts: title, version, the bearer scheme.
fn base_document() -> OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("cache-admin")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Admin API of a service's cache regions: configuration, statistics, entries, operations, events.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    doc
}

/// Bounds a request's handling time (not the event stream's): a JSON 503
/// past it.
async fn time_limit(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let limit = state.config().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {limit:?}"),
        )
        .into_response(),
    }
}

/// Adds to every operation the error answers that come from the layers
/// around the handlers rather than from the handler itself: a body that
/// does not parse (400), is too large (413) or is not JSON (415); a path
/// or query parameter that does not parse (400); and, behind a token,
/// 401 and 503 (the time limit, or the API shutting down).
fn document_common_errors(doc: &mut OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut add = Vec::new();
            if operation.request_body.is_some() {
                add.push(("400", "The body does not parse or is not valid"));
                add.push(("413", "The body is larger than the limit"));
                add.push((
                    "415",
                    "The body is not JSON (Content-Type: application/json)",
                ));
            }
            let parsed_parameters = operation.parameters.iter().flatten().any(|parameter| {
                matches!(
                    parameter,
                    RefOr::T(parameter)
                        if matches!(parameter.parameter_in, ParameterIn::Path | ParameterIn::Query)
                )
            });
            if parsed_parameters {
                add.push(("400", "A path or query parameter does not parse"));
            }
            if operation.security.is_some() {
                add.push(("401", "No valid token"));
                add.push((
                    "503",
                    "The request took too long, or the API is shutting down",
                ));
            }
            for (status, description) in add {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description));
            }
        }
    }
}

/// The router and its OpenAPI document.
pub(crate) fn build(state: AdminState) -> (axum::Router, Arc<OpenApi>) {
    let (bounded, mut doc) = OpenApiRouter::with_openapi(base_document())
        .routes(routes!(config::get_config, config::put_config))
        .routes(routes!(config::history))
        .routes(routes!(config::rollback))
        .routes(routes!(config::audit))
        .routes(routes!(regions::list))
        .routes(routes!(regions::detail))
        .routes(routes!(regions::all_stats))
        .routes(routes!(regions::region_stats))
        .routes(routes!(history::history))
        .routes(routes!(regions::fleet))
        .routes(routes!(ops::clear))
        .routes(routes!(ops::refresh))
        .routes(routes!(ops::policy))
        .routes(routes!(entries::list))
        .routes(routes!(entries::get, entries::delete))
        .routes(routes!(health::metrics))
        .routes(routes!(alerts::get_rules, alerts::put_rules))
        .routes(routes!(alerts::overview))
        .routes(routes!(alerts::add_silence))
        .routes(routes!(alerts::expire_silence))
        .routes(routes!(alerts::test_channel))
        .split_for_parts();
    let (streaming, stream_doc) = OpenApiRouter::new()
        .routes(routes!(stream::events))
        .split_for_parts();
    let (public, public_doc) = OpenApiRouter::new()
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .split_for_parts();
    doc.merge(stream_doc);
    doc.merge(public_doc);
    doc.paths.paths.insert(
        String::from("/openapi.json"),
        utoipa::openapi::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("openapi")
                .summary(Some("This document."))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("The OpenAPI 3 document of this API")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::schema::Object::new()))
                                .build(),
                        )
                        .build(),
                )
                .response(
                    "401",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("No valid token")
                        .build(),
                )
                .security(utoipa::openapi::security::SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                ))
                .build(),
        ),
    );
    document_common_errors(&mut doc);
    let doc = Arc::new(doc);
    let served = Arc::clone(&doc);
    let bounded = bounded
        .route(
            "/openapi.json",
            get(move |_: Caller| {
                let served = Arc::clone(&served);
                async move { axum::Json(served.as_ref().clone()) }
            }),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route_layer(middleware::from_fn(access::access_log));
    let streaming = streaming
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .route_layer(middleware::from_fn(access::access_log));
    let public = public
        .merge(crate::ui::routes())
        .route_layer(middleware::from_fn(access::access_log));
    let limit = state.config().body_limit;
    let router = public
        .merge(bounded)
        .merge(streaming)
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                "no such endpoint: see /openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        // gzip when the client asks for it (never the event stream, which
        // must not wait for a buffer to fill).
        .layer(CompressionLayer::new().gzip(true))
        .with_state(state);
    (router, doc)
}
