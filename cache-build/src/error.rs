//! What can stop the build helper.

use std::path::PathBuf;

/// Why `try_emit` failed. Problems with the registry cache itself are never
/// errors (the cache is rebuilt); these are problems with the build
/// environment or the output folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A variable Cargo sets for build scripts is missing: not running
    /// from a build script.
    #[error(
        "environment variable `{0}` is not set; call cache-build from a build script (build.rs), or set it"
    )]
    MissingEnv(&'static str),
    /// A glob in `include` or `exclude` is malformed.
    #[error("invalid pattern for cache-build: {0}")]
    Pattern(#[from] cache_spec::glob::GlobError),
    /// The manifest could not be written.
    #[error("cannot write the region manifest to {path}: {source}")]
    WriteManifest {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `cargo::` lines could not be written.
    #[error("cannot write build-script output: {0}")]
    Output(#[source] std::io::Error),
}
