//! The audit trail: one [`AuditRecord`] per applied configuration version.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_spec::Field;
use serde::{Deserialize, Serialize};

use super::patch::ConfigPatch;
use super::value::field_name;

/// What made a configuration version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A run-time change ([`CacheManager::configure`](crate::CacheManager::configure)).
    Change,
    /// A rollback to an earlier version.
    Rollback {
        /// The version whose configuration was restored.
        to: u64,
    },
    /// The watched config file changed and was applied.
    File {
        /// The file.
        path: String,
    },
}

/// One field that a version changed, with its effective value before and
/// after (text forms, as in config files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The region.
    pub region: String,
    /// The field.
    #[serde(with = "field_name")]
    pub field: Field,
    /// Its effective value before the change.
    pub before: String,
    /// Its effective value after the change.
    pub after: String,
}

/// The record of one applied configuration version: who, when, why, what
/// changed (before and after), and the run-time overrides it left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// The version number: 1 for the first change, one more for each.
    pub version: u64,
    /// Who made the change, as they said.
    pub actor: String,
    /// Why, as they said.
    pub reason: String,
    /// When it was applied, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The instance that applied it.
    pub instance: String,
    /// What made it.
    pub kind: ChangeKind,
    /// The effective values it changed, by region and field.
    pub changes: Vec<FieldChange>,
    /// Every run-time override in force after it.
    pub overrides: ConfigPatch,
}

impl AuditRecord {
    /// When it was applied.
    pub fn at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.at_unix_ms)
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
