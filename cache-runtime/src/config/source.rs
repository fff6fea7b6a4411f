//! Where an effective setting came from, and [`Explanation`]: every field
//! of a region with its value and source.

use std::fmt;
use std::path::PathBuf;

use cache_spec::Preset;
use serde::Serialize;

/// The configuration layer that set a field, lowest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SettingSource {
    /// Nobody set it: the built-in default. (Not called `Default`, so
    /// compiler messages keep calling `std::default::Default` `Default`.)
    BuiltIn,
    /// The preset named in the region's declaration.
    Preset {
        /// The preset.
        preset: String,
    },
    /// The region's declaration (attribute options, or a descriptor built
    /// by hand), at this site.
    Declaration {
        /// `file:line` of the declaration.
        site: String,
    },
    /// A [`CacheManagerBuilder`](crate::CacheManagerBuilder) setting such
    /// as `fail_safe`.
    Builder,
    /// A `#[cache_config_provider]` function.
    Provider {
        /// The provider's name.
        name: String,
        /// Its priority.
        priority: i32,
    },
    /// The TOML config file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// An environment variable.
    Environment {
        /// The variable's name.
        variable: String,
    },
    /// A run-time change ([`CacheManager::configure`](crate::CacheManager::configure)
    /// or a rollback), kept across restarts.
    Runtime,
    /// Not set by anyone: cleared because the other size limit was set
    /// (a region has one limit; setting one replaces the other).
    LimitReplaced {
        /// The limit that was set: `max_entries` or `max_bytes`.
        by: String,
        /// Where it was set.
        source: Box<SettingSource>,
    },
}

impl fmt::Display for SettingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingSource::BuiltIn => f.write_str("default"),
            SettingSource::Preset { preset } => write!(f, "preset \"{preset}\""),
            SettingSource::Declaration { site } => write!(f, "declaration at {site}"),
            SettingSource::Builder => f.write_str("manager builder"),
            SettingSource::Provider { name, priority } => {
                write!(f, "config provider `{name}` (priority {priority})")
            }
            SettingSource::File { path } => write!(f, "config file {}", path.display()),
            SettingSource::Environment { variable } => {
                write!(f, "environment variable {variable}")
            }
            SettingSource::Runtime => f.write_str("run-time change"),
            SettingSource::LimitReplaced { by, source } => {
                write!(f, "cleared: {by} set by {source} replaces it")
            }
        }
    }
}

impl SettingSource {
    pub(crate) fn preset(preset: Preset) -> SettingSource {
        SettingSource::Preset {
            preset: preset.as_str().to_owned(),
        }
    }
}

/// One field of a region's effective configuration, with who set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExplainedField {
    /// The field's name.
    pub field: &'static str,
    /// Its effective value, in its text form (`"10m"`, `"none"`, `"lru"`).
    pub value: String,
    /// The layer that set it.
    pub source: SettingSource,
}

/// A region's effective configuration, field by field, each with the layer
/// that set it: what [`CacheManager::explain`](crate::CacheManager::explain)
/// returns. Its `Display` is a small table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The region.
    pub region: String,
    /// The configuration version in force (0 before any run-time change).
    pub version: u64,
    /// Every field, in `Field::ALL` order.
    pub fields: Vec<ExplainedField>,
}

impl Explanation {
    /// The explained field called `name`.
    pub fn field(&self, name: &str) -> Option<&ExplainedField> {
        self.fields.iter().find(|field| field.field == name)
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "region `{}` (configuration version {})",
            self.region, self.version
        )?;
        let width = self
            .fields
            .iter()
            .map(|field| field.field.len() + 3 + field.value.len())
            .max()
            .unwrap_or(0);
        for field in &self.fields {
            let setting = format!("{} = {}", field.field, field.value);
            writeln!(f, "  {setting:<width$}  <- {}", field.source)?;
        }
        Ok(())
    }
}
