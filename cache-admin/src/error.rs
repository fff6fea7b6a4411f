//! [`ApiError`]: every failure of the admin API as a status and a JSON
//! body, `{"error": {"code", "message", "region", "field", "problems"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cache_runtime::CacheError;
use cache_runtime::config::ConfigError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`unknown_region`, `invalid_config`,
    /// `stale_version`, `unauthorized`...).
    pub code: &'static str,
    /// What went wrong, and what to do about it, in words.
    pub message: String,
    /// The region concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The field concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem, for a rejected configuration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ProblemView>,
}

/// One problem of a rejected configuration change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemView {
    /// The region, as written.
    pub region: String,
    /// The field, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

/// A failed request: its status and body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: Box<ErrorDetail>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: Box::new(ErrorDetail {
                code,
                message: message.into(),
                region: None,
                field: None,
                problems: Vec::new(),
            }),
            retry_after: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// With the region concerned.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> ApiError {
        self.detail.region = Some(region.into());
        self
    }

    /// With the field concerned.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.detail.field = Some(field.into());
        self
    }

    /// With every problem of a rejected change.
    #[must_use]
    pub(crate) fn problems(mut self, problems: Vec<ProblemView>) -> ApiError {
        self.detail.problems = problems;
        self
    }

    /// 429 with the seconds to wait.
    pub(crate) fn too_many(seconds: u64) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many changes from this token: try again in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.detail.code
    }

    /// A region-level failure of the manager, for `region`.
    pub(crate) fn from_cache(error: CacheError) -> ApiError {
        let error = match error {
            CacheError::Config(config) => return ApiError::from_config(config),
            other => other,
        };
        let message = error.to_string();
        let (status, code, region) = match &error {
            CacheError::UnknownRegion { name, .. } => {
                (StatusCode::NOT_FOUND, "unknown_region", Some(name.clone()))
            }
            CacheError::Sensitive { region, .. } => (
                StatusCode::FORBIDDEN,
                "sensitive_region",
                Some(region.clone()),
            ),
            CacheError::NotSerializable { region, .. } => {
                (StatusCode::CONFLICT, "not_browsable", Some(region.clone()))
            }
            CacheError::BadKey { region, .. } => {
                (StatusCode::BAD_REQUEST, "bad_key", Some(region.clone()))
            }
            CacheError::BadCursor { region, .. } => {
                (StatusCode::BAD_REQUEST, "bad_cursor", Some(region.clone()))
            }
            CacheError::NoLoader { region } => {
                (StatusCode::CONFLICT, "no_loader", Some(region.clone()))
            }
            CacheError::TierUnavailable { region, .. } => (
                StatusCode::CONFLICT,
                "tier_unavailable",
                Some(region.clone()),
            ),
            CacheError::Redis { region, .. }
            | CacheError::Backend { region, .. }
            | CacheError::Disk { region, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                Some(region.clone()),
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "cache_error", None),
        };
        let mut api = ApiError::new(status, code, message);
        api.detail.region = region;
        api
    }

    /// A configuration failure.
    pub(crate) fn from_config(error: ConfigError) -> ApiError {
        let message = error.to_string();
        match error {
            ConfigError::Invalid { problems } => {
                let mut api = ApiError::bad_request("invalid_config", message);
                if let [only] = &problems[..] {
                    api.detail.region = Some(only.region.clone());
                    api.detail.field = only.field.clone();
                }
                api.detail.problems = problems
                    .into_iter()
                    .map(|problem| ProblemView {
                        region: problem.region,
                        field: problem.field,
                        value: problem.value,
                        message: problem.message,
                    })
                    .collect();
                api
            }
            ConfigError::UnknownVersion { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_version", message)
            }
            ConfigError::StaleVersion { .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "stale_version", message)
            }
            ConfigError::Contended { .. } => {
                ApiError::new(StatusCode::CONFLICT, "contended", message)
            }
            ConfigError::State { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "config_store", message)
            }
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "config_error", message),
        }
    }
}

impl From<CacheError> for ApiError {
    fn from(error: CacheError) -> ApiError {
        ApiError::from_cache(error)
    }
}

impl From<ConfigError> for ApiError {
    fn from(error: ConfigError) -> ApiError {
        ApiError::from_config(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(ErrorBody {
                error: *self.detail,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
