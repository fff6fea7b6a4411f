//! Bearer-token authentication: who is calling ([`Caller`]) and whether
//! their role allows the route; constant-time secret comparison.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{Role, Token};
use crate::error::ApiError;
use crate::state::AdminState;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// Whether two byte strings are equal, in time that depends only on their
/// lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    // Keep the comparison from being cut short.
    std::hint::black_box(difference) == 0
}

/// The token whose secret is `presented`, checking every token (so the
/// time does not say which one nearly matched).
fn find<'a>(tokens: &'a [Token], presented: &[u8]) -> Option<&'a Token> {
    let mut found = None;
    for token in tokens {
        if constant_time_eq(token.secret(), presented) {
            found = Some(token);
        }
    }
    found
}

/// The caller a request's `Authorization` header names, if it names a
/// valid token (for anonymous endpoints that show more to callers).
pub(crate) fn identify(state: &AdminState, headers: &header::HeaderMap) -> Option<Caller> {
    let presented = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    find(&state.config().tokens, presented.as_bytes()).map(|token| Caller {
        name: token.name().to_owned(),
        role: token.role(),
    })
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"cache-admin\""),
    );
    response
}

/// Middleware: refuses a request without a valid bearer token (401) and
/// stores the [`Caller`] for the handlers; refuses everything while the
/// server shuts down (503).
pub(crate) async fn authenticate(
    State(state): State<AdminState>,
    mut request: Request,
    next: Next,
) -> Response {
    if state.closing() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the admin API is shutting down",
        )
        .into_response();
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized("this endpoint needs `Authorization: Bearer <token>`");
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return unauthorized("the Authorization header must be `Bearer <token>`");
    };
    let Some(token) = find(&state.config().tokens, presented.as_bytes()) else {
        return unauthorized("the token is not valid");
    };
    let caller = Caller {
        name: token.name().to_owned(),
        role: token.role(),
    };
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    // For the access log: who asked.
    response.extensions_mut().insert(caller);
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this endpoint needs `Authorization: Bearer <token>`",
            )
        })
    }
}

/// A caller whose token has the `admin` role (403 otherwise), for
/// mutations and entry values.
#[derive(Clone, Debug)]
pub(crate) struct AdminCaller(pub(crate) Caller);

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AdminCaller, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.role < Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "token {:?} has the `read` role; this needs `admin`",
                    caller.name
                ),
            ));
        }
        Ok(AdminCaller(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_is() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abcdef", b"abcde"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
