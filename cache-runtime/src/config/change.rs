//! [`ConfigChange`]: a run-time change, as a person or a tool asks for it.

use cache_spec::Field;

use super::error::Problem;
use super::file::unknown_field;
use super::patch::ConfigPatch;
use super::value::FieldValue;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Edit {
    Set {
        region: String,
        field: String,
        value: String,
    },
    Unset {
        region: String,
        field: String,
    },
}

/// A run-time configuration change: who asks, why, and the fields to set
/// (values in the config file's text forms) or to hand back to the lower
/// layers. Applied as a whole or not at all by
/// [`CacheManager::configure`](crate::CacheManager::configure).
///
/// ```
/// use cache_runtime::config::ConfigChange;
///
/// let change = ConfigChange::new("ops:alice", "models change hourly now")
///     .set("model-metadata", "ttl", "10m")
///     .set("model-metadata", "max_entries", 5_000)
///     .unset("model-metadata", "eviction");
/// assert_eq!(change.actor(), "ops:alice");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ConfigChange {
    actor: String,
    reason: String,
    edits: Vec<Edit>,
    expected_version: Option<u64>,
}

impl ConfigChange {
    /// An empty change by `actor` (a person, a tool: kept in the audit
    /// trail) for `reason`.
    pub fn new(actor: impl Into<String>, reason: impl Into<String>) -> ConfigChange {
        ConfigChange {
            actor: actor.into(),
            reason: reason.into(),
            edits: Vec::new(),
            expected_version: None,
        }
    }

    /// Sets `field` of `region` to `value` (`"10m"`, `5000`, `"lru"`,
    /// `false`, `"zstd:4KiB"`, `"none"`).
    pub fn set(
        mut self,
        region: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
    ) -> ConfigChange {
        self.edits.push(Edit::Set {
            region: region.into(),
            field: field.into(),
            value: value.to_string(),
        });
        self
    }

    /// Applies the change only if configuration version `version` is still
    /// the one in force when it commits (the check and the commit are one
    /// step, across instances sharing a config store): how two operators
    /// avoid overwriting each other. Otherwise
    /// [`ConfigError::StaleVersion`](super::ConfigError::StaleVersion) and
    /// nothing is applied.
    pub fn if_version(mut self, version: u64) -> ConfigChange {
        self.expected_version = Some(version);
        self
    }

    /// The version the change requires, if any.
    pub fn expected_version(&self) -> Option<u64> {
        self.expected_version
    }

    /// Drops the run-time override of `field` of `region`: the lower layers'
    /// value applies again.
    pub fn unset(mut self, region: impl Into<String>, field: impl Into<String>) -> ConfigChange {
        self.edits.push(Edit::Unset {
            region: region.into(),
            field: field.into(),
        });
        self
    }

    /// Who asked for it.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Why.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// `runtime` with the edits laid over it; problems for unknown fields
    /// and bad values (unknown regions are the caller's check).
    pub(crate) fn apply_to(
        &self,
        runtime: &ConfigPatch,
        problems: &mut Vec<Problem>,
    ) -> ConfigPatch {
        let mut patch = runtime.clone();
        let source = format!("run-time change by {}", self.actor);
        let mut limits: Vec<(&str, Field)> = Vec::new();
        for edit in &self.edits {
            let (region, name, value) = match edit {
                Edit::Set {
                    region,
                    field,
                    value,
                } => (region, field, Some(value)),
                Edit::Unset { region, field } => (region, field, None),
            };
            let Some(field) = Field::parse(name) else {
                problems.push(Problem {
                    region: region.clone(),
                    field: Some(name.clone()),
                    value: value.cloned(),
                    source: source.clone(),
                    message: unknown_field(name),
                });
                continue;
            };
            match value {
                None => {
                    patch.unset(region, field);
                }
                Some(text) => match FieldValue::parse(field, text) {
                    Ok(parsed) => {
                        if let FieldValue::Count(Some(_)) = parsed
                            && matches!(field, Field::MaxEntries | Field::MaxBytes)
                        {
                            if let Some((_, other)) = limits
                                .iter()
                                .find(|(name, other)| *name == region && *other != field)
                            {
                                problems.push(Problem {
                                    region: region.clone(),
                                    field: Some(name.clone()),
                                    value: Some(text.clone()),
                                    source: source.clone(),
                                    message: format!(
                                        "{} (this change also sets {other})",
                                        cache_spec::TWO_LIMITS
                                    ),
                                });
                            }
                            limits.push((region, field));
                        }
                        patch.set(region, field, parsed);
                        // One size limit: setting one drops the other's
                        // override.
                        match (field, parsed) {
                            (Field::MaxEntries, FieldValue::Count(Some(_))) => {
                                patch.unset(region, Field::MaxBytes);
                            }
                            (Field::MaxBytes, FieldValue::Count(Some(_))) => {
                                patch.unset(region, Field::MaxEntries);
                            }
                            _ => {}
                        }
                    }
                    Err(error) => problems.push(Problem {
                        region: region.clone(),
                        field: Some(name.clone()),
                        value: Some(text.clone()),
                        source: source.clone(),
                        message: error.to_string(),
                    }),
                },
            }
        }
        patch
    }

    /// Each edit's region, field and value (`none` for an unset).
    pub(crate) fn targets(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.edits.iter().map(|edit| match edit {
            Edit::Set {
                region,
                field,
                value,
            } => (region.as_str(), field.as_str(), value.as_str()),
            Edit::Unset { region, field } => (region.as_str(), field.as_str(), "none"),
        })
    }
}
