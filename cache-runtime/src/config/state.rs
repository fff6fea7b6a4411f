//! Where run-time overrides and the audit trail are kept: a file by
//! default, Redis when the manager has it (every instance shares them).

use super::audit::AuditRecord;
use super::error::ConfigError;
use super::patch::ConfigPatch;
use crate::future::BoxFuture;

/// The shared run-time configuration: the latest version and the
/// overrides it left.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SharedState {
    /// The latest version; 0 before any change.
    pub(crate) version: u64,
    /// The run-time overrides in force.
    pub(crate) overrides: ConfigPatch,
}

/// What committing a version did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Recorded: it is the latest version now.
    Done,
    /// Another writer recorded a version first: reload, re-apply, retry.
    Conflict,
}

/// A place that keeps the shared run-time configuration and its history.
pub(crate) trait StateStore: Send + Sync {
    /// The latest version and its overrides (version 0 and none when
    /// nothing was ever recorded).
    fn load(&self) -> BoxFuture<'_, Result<SharedState, ConfigError>>;

    /// Records `record` as the next version, if the latest is still
    /// `record.version - 1`: its overrides become the shared state and it
    /// is appended to the history, both or neither.
    fn commit<'a>(&'a self, record: &'a AuditRecord) -> BoxFuture<'a, Result<Commit, ConfigError>>;

    /// Every kept record, oldest first.
    fn history(&self) -> BoxFuture<'_, Result<Vec<AuditRecord>, ConfigError>>;

    /// Where it keeps them, for messages: `file /path` or `redis key`.
    fn location(&self) -> String;

    /// Calls `on_change` with the new version whenever another instance
    /// records one, until the store is dropped. Stores only this process
    /// writes do nothing.
    #[cfg(feature = "redis")]
    fn follow(&self, on_change: std::sync::Arc<dyn Fn(u64) + Send + Sync>) {
        let _ = on_change;
    }
}

/// Version `version` of a test history, setting `users.ttl` to `ttl`, from
/// `instance`: what the state stores' tests commit.
#[cfg(test)]
pub(crate) fn test_record(version: u64, ttl: &str, instance: &str) -> AuditRecord {
    use cache_spec::Field;

    use super::audit::ChangeKind;
    use super::value::FieldValue;

    let mut overrides = ConfigPatch::new();
    if let Ok(value) = FieldValue::parse(Field::Ttl, ttl) {
        overrides.set("users", Field::Ttl, value);
    }
    AuditRecord {
        version,
        actor: String::from("ops"),
        reason: format!("test {version}"),
        at_unix_ms: 1_700_000_000_000_u64.wrapping_add(version),
        instance: instance.to_owned(),
        kind: ChangeKind::Change,
        changes: Vec::new(),
        overrides,
    }
}
