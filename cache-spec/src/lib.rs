//! The region declaration language, shared by `cache-macros` (compile-time
//! checks), `cache-build` (scanning sources) and `cache-runtime` (builders and
//! configuration): durations, sizes, names, option values, presets and the
//! rules that tie them together.
//!
//! This crate is an implementation detail of `cache-runtime`, which
//! re-exports what users need; depend on `cache-runtime` instead.

mod duration;
pub mod glob;
mod keyword;
mod name;
mod options;
mod size;
pub mod suggest;

#[cfg(feature = "syn")]
pub mod attr;
#[cfg(feature = "manifest")]
pub mod manifest;
pub mod persist;

pub use duration::{DurationError, format_duration, parse_duration};
pub use name::{MAX_NAME_LEN, NameError, name_hash, schema_env_var, to_kebab_case, validate_name};
pub use options::{
    Codec, Compression, Conflict, Eviction, Field, Preset, RegionOptions, RegionSettings,
    TWO_LIMITS, Tier,
};
pub use size::{SizeError, format_size, parse_count, parse_size};
