//! [`ConfigError`]: why a configuration was refused, read or kept.

use std::fmt;
use std::path::PathBuf;

use crate::provider::BoxError;

/// One thing wrong with a configuration: the region, the field, the value
/// and the source that gave it, what was wrong and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The region (as written, for an unknown one).
    pub region: String,
    /// The field (as written, for an unknown one); `None` when the problem
    /// is the region itself.
    pub field: Option<String>,
    /// The value as written; `None` when the problem is not one value.
    pub value: Option<String>,
    /// Where the value came from: `run-time change by ops`, `config file
    /// /etc/app/cache.toml`, `environment variable CACHE_REGION__A__TTL`.
    pub source: String,
    /// What is wrong, and what would be accepted.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "region `{}`", self.region)?;
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        if let Some(value) = &self.value {
            write!(f, " = \"{value}\"")?;
        }
        write!(f, " ({}): {}", self.source, self.message)
    }
}

/// Why a configuration could not be applied, read or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The change (or file, or environment) has problems; nothing of it
    /// was applied.
    #[error("configuration rejected, nothing applied: {}", list(.problems))]
    Invalid {
        /// Every problem found, in region and field order.
        problems: Vec<Problem>,
    },
    /// The config file is not valid TOML.
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The config file could not be read.
    #[error("config file {} could not be read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A config provider failed.
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    /// The run-time overrides or the audit trail could not be read or
    /// written where they are kept.
    #[error("configuration state in {location} could not be {action}: {source}")]
    State {
        /// Where: `file /path` or `redis key`.
        location: String,
        /// `read` or `written`.
        action: &'static str,
        /// What failed.
        #[source]
        source: BoxError,
    },
    /// [`rollback`](crate::CacheManager::rollback) to a version that is
    /// not in the kept history.
    #[error(
        "there is no configuration version {version} to roll back to: the kept history holds versions {oldest} to {latest} (0 stands for no run-time overrides while the history starts at 1)"
    )]
    UnknownVersion {
        /// The version asked for.
        version: u64,
        /// The oldest version kept.
        oldest: u64,
        /// The latest version.
        latest: u64,
    },
    /// Other writers kept committing first.
    #[error(
        "configuration change not applied: {attempts} attempts lost to concurrent changes from other instances; try again"
    )]
    Contended {
        /// How many attempts were made.
        attempts: u32,
    },
}

fn list(problems: &[Problem]) -> String {
    let mut text = String::new();
    for (index, problem) in problems.iter().enumerate() {
        if index > 0 {
            text.push_str("; ");
        }
        text.push_str(&problem.to_string());
    }
    text
}

impl ConfigError {
    /// The problems of an [`Invalid`](ConfigError::Invalid) error (empty
    /// for the others).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}
