//! `cache-admin`: the admin HTTP API of a service's cache regions, and the
//! `cache-admin` command-line tool that talks to it.
//!
//! Mount the API into your own axum service with [`router`], or serve it
//! on its own loopback listener with [`serve`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cache_admin::{AdminConfig, Role, Token};
//! use cache_runtime::CacheManager;
//!
//! let manager = CacheManager::builder().build()?;
//! let config = AdminConfig::new()
//!     .tokens(Token::read_file("/etc/myapp/admin-tokens")?);
//! let server = cache_admin::serve(manager, config).await?;
//! println!("admin API on {}", server.url());
//! # Ok(()) }
//! ```
//!
//! Every endpoint but `/health/live` and `/health/ready` needs a bearer
//! token; tokens have a name (the actor in the audit trail) and a role,
//! `read` (lists, statistics, metrics, configuration) or `admin`
//! (mutations and entry values). Mutations are rate limited per token and
//! recorded with the token's name. Errors are JSON:
//! `{"error": {"code", "message", "region", "field", "problems"}}`.
//! `/openapi.json` describes every endpoint.

pub mod alerts;
mod api;
mod audit;
mod auth;
pub mod cli;
pub mod client;
mod config;
mod error;
mod serve;
mod state;
mod ui;

pub use crate::alerts::AlertSettings;
pub use crate::audit::OperationRecord;
pub use crate::auth::Caller;
pub use crate::config::{
    AdminConfig, DEFAULT_DISK_MIN_FREE, DEFAULT_PORT, MIN_SECRET_LEN, Role, Token, TokenError,
};
pub use crate::error::{ApiError, ErrorBody, ErrorDetail};
pub use crate::serve::{AdminServer, ServeError, serve};

use cache_runtime::CacheManager;

/// The admin API as an axum router, to mount into your own service (its
/// paths start with `/api/config/caching`, `/health`, `/metrics` and
/// `/openapi.json`).
pub fn router(manager: CacheManager, config: AdminConfig) -> axum::Router {
    api::build(state::AdminState::new(manager, config)).0
}
