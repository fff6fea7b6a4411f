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
        write!(f, "region `{}`", shown(&self.region))?;
        if let Some(field) = &self.field {
            write!(f, ", field `{}`", shown(field))?;
        }
        if let Some(value) = &self.value {
            write!(f, " = \"{}\"", shown(value))?;
        }
        write!(f, " ({}): {}", shown(&self.source), shown(&self.message))
    }
}

/// `text` with control characters and bidirectional overrides escaped
/// (`\u{202e}`), so input copied into a message cannot rewrite a terminal
/// line or reorder what an operator reads.
pub(crate) fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
    /// A change made against a configuration version that is no longer
    /// the one in force ([`ConfigChange::if_version`](super::ConfigChange::if_version)):
    /// someone else changed it first. Nothing was applied.
    #[error(
        "configuration change not applied: it was made against version {expected}, but version {current} is in force now; read the configuration again and redo the change"
    )]
    StaleVersion {
        /// The version the change was made against.
        expected: u64,
        /// The version in force.
        current: u64,
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
