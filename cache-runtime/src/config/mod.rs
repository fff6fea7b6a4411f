//! Dynamic configuration: layers of region settings, their validation,
//! versions with an audit trail, persistence and watching.
//!
//! - `layer.rs`: [`ConfigLayer`], what a config provider returns;
//! - `value.rs`: [`FieldValue`], one field's value and its text form;
//! - `patch.rs`: [`ConfigPatch`], field values by region;
//! - `audit.rs`: [`AuditRecord`], one per applied version;
//! - `state.rs`: where overrides and the audit trail are kept;
//! - `error.rs`: [`ConfigError`] and its [`Problem`]s.

mod audit;
mod change;
pub(crate) mod env;
mod error;
pub(crate) mod file;
mod layer;
pub(crate) mod layers;
mod patch;
mod source;
pub(crate) mod state;
pub(crate) mod state_file;
#[cfg(feature = "redis")]
pub(crate) mod state_redis;
mod value;

pub(crate) use self::audit::now_unix_ms;
pub use self::audit::{AuditRecord, ChangeKind, FieldChange};
pub use self::change::ConfigChange;
pub use self::error::{ConfigError, Problem};
pub use self::layer::ConfigLayer;
pub use self::patch::ConfigPatch;
pub use self::source::{ExplainedField, Explanation, SettingSource};
pub(crate) use self::value::intern;
pub use self::value::{FieldValue, ValueError};
pub use crate::provider::{BoxError, IntoConfigLayer, ProviderError};
pub use cache_spec::{
    Codec, Compression, Conflict, DurationError, Eviction, Field, NameError, Preset, RegionOptions,
    RegionSettings, SizeError, Tier, format_duration, format_size, parse_duration, parse_size,
    validate_name,
};
