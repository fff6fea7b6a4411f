//! [`Layers`]: every configuration source of a manager, lowest first, and
//! how they resolve into a region's effective settings and are checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use cache_spec::{Codec, Field, RegionSettings, Tier};

use super::env::EnvLayer;
use super::error::Problem;
use super::patch::ConfigPatch;
use super::source::SettingSource;
use super::value::FieldValue;
use crate::descriptor::RegionDescriptor;

/// A config provider's contribution.
#[derive(Clone, Debug)]
pub(crate) struct ProviderLayer {
    pub(crate) name: String,
    pub(crate) priority: i32,
    pub(crate) patch: ConfigPatch,
}

/// The config file's contribution.
#[derive(Clone, Debug)]
pub(crate) struct FileLayer {
    pub(crate) path: PathBuf,
    pub(crate) patch: ConfigPatch,
}

/// Every source above the declarations, lowest first: builder settings <
/// providers (by priority, then name) < file < environment < run time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layers {
    pub(crate) builder: ConfigPatch,
    pub(crate) providers: Vec<ProviderLayer>,
    pub(crate) file: Option<FileLayer>,
    pub(crate) env: EnvLayer,
    pub(crate) runtime: ConfigPatch,
}

/// A region's effective settings and the source of each field.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) settings: RegionSettings,
    pub(crate) sources: BTreeMap<Field, SettingSource>,
}

impl Resolved {
    fn set(&mut self, field: Field, value: FieldValue, source: &SettingSource) {
        value.apply(field, &mut self.settings);
        self.sources.insert(field, source.clone());
        // The size limit is one choice: the other limit was cleared by it.
        let other = match (field, value) {
            (Field::MaxEntries, FieldValue::Count(Some(_))) => Some(Field::MaxBytes),
            (Field::MaxBytes, FieldValue::Count(Some(_))) => Some(Field::MaxEntries),
            _ => None,
        };
        if let Some(other) = other {
            self.sources.insert(
                other,
                SettingSource::LimitReplaced {
                    by: field.as_str().to_owned(),
                    source: Box::new(source.clone()),
                },
            );
        }
    }

    fn patch(
        &mut self,
        patch: &ConfigPatch,
        region: &str,
        source: impl Fn(Field) -> SettingSource,
    ) {
        if let Some(fields) = patch.get(region) {
            // Limits last, so that setting both (only possible in a
            // provider's options) ends with the one that is set.
            let (limits, rest): (Vec<_>, Vec<_>) = fields
                .iter()
                .partition(|(field, _)| matches!(field, Field::MaxEntries | Field::MaxBytes));
            for (field, value) in rest.into_iter().chain(limits.into_iter().rev()) {
                self.set(*field, *value, &source(*field));
            }
        }
    }
}

impl Layers {
    /// The providers in the order they apply.
    pub(crate) fn sort_providers(&mut self) {
        self.providers.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
    }

    /// `descriptor`'s effective settings, with `runtime` as the run-time
    /// layer.
    pub(crate) fn resolve_with(
        &self,
        descriptor: &RegionDescriptor,
        runtime: &ConfigPatch,
    ) -> Resolved {
        let region = descriptor.name();
        let mut resolved = Resolved {
            settings: RegionSettings::DEFAULT,
            sources: Field::ALL
                .iter()
                .map(|field| (*field, SettingSource::BuiltIn))
                .collect(),
        };
        if let Some(preset) = descriptor.preset() {
            let source = SettingSource::preset(preset);
            for (field, value) in ConfigPatch::option_fields(&preset.options()) {
                resolved.set(field, value, &source);
            }
        }
        let declaration = SettingSource::Declaration {
            site: format!("{}:{}", descriptor.site().file(), descriptor.site().line()),
        };
        for (field, value) in ConfigPatch::option_fields(descriptor.options()) {
            resolved.set(field, value, &declaration);
        }
        resolved.patch(&self.builder, region, |_| SettingSource::Builder);
        for provider in &self.providers {
            resolved.patch(&provider.patch, region, |_| SettingSource::Provider {
                name: provider.name.clone(),
                priority: provider.priority,
            });
        }
        if let Some(file) = &self.file {
            resolved.patch(&file.patch, region, |_| SettingSource::File {
                path: file.path.clone(),
            });
        }
        resolved.patch(&self.env.patch, region, |field| {
            SettingSource::Environment {
                variable: self
                    .env
                    .variables
                    .get(&(region.to_owned(), field))
                    .cloned()
                    .unwrap_or_default(),
            }
        });
        resolved.patch(runtime, region, |_| SettingSource::Runtime);
        // The built-in limit is the memory level's: none on a tier without one.
        let built_in = |field| matches!(resolved.sources[&field], SettingSource::BuiltIn);
        if built_in(Field::MaxEntries) && built_in(Field::MaxBytes) {
            resolved.settings = resolved.settings.without_default_limit();
        }
        resolved
    }

    /// Whether any layer sets something for `region`.
    pub(crate) fn touches(&self, region: &str) -> bool {
        self.builder.get(region).is_some()
            || self
                .providers
                .iter()
                .any(|provider| provider.patch.get(region).is_some())
            || self
                .file
                .as_ref()
                .is_some_and(|file| file.patch.get(region).is_some())
            || self.env.patch.get(region).is_some()
            || self.runtime.get(region).is_some()
    }

    /// `descriptor`'s effective settings.
    pub(crate) fn resolve(&self, descriptor: &RegionDescriptor) -> Resolved {
        self.resolve_with(descriptor, &self.runtime)
    }
}

/// What checking a region's new settings needs to know about the manager.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckContext<'a> {
    /// The region's store is open: fields that are not live cannot change.
    pub(crate) running: bool,
    /// The manager has a Redis connection.
    pub(crate) redis: bool,
    /// The storage backends registered on the manager.
    pub(crate) backends: &'a crate::backend::Backends,
}

/// Every problem with `after`, the new effective settings of `region`
/// (`before` being the settings in force, when the region runs).
pub(crate) fn check(
    region: &str,
    before: Option<&RegionSettings>,
    after: &Resolved,
    context: CheckContext<'_>,
    problems: &mut Vec<Problem>,
) {
    let settings = &after.settings;
    let text = |field: Field| FieldValue::of(field, settings).text(field);
    let problem = |field: Field, message: String| Problem {
        region: region.to_owned(),
        field: Some(field.as_str().to_owned()),
        value: Some(text(field)),
        source: after.sources[&field].to_string(),
        message,
    };
    for conflict in settings.conflicts() {
        let [field, other] = conflict.fields();
        problems.push(problem(
            field,
            format!(
                "{conflict} ({other} = {} from {})",
                text(other),
                after.sources[&other]
            ),
        ));
    }
    if let (true, Some(before)) = (context.running, before) {
        for field in Field::ALL {
            if !field.is_live()
                && FieldValue::of(*field, before) != FieldValue::of(*field, settings)
            {
                problems.push(problem(
                    *field,
                    format!(
                        "`{field}` cannot change while the region is open (it is {}; it decides where and how entries are stored): set it in the config file or the environment and restart",
                        FieldValue::of(*field, before).text(*field)
                    ),
                ));
            }
        }
    }
    // A declaration's tier or codec that this manager or build cannot
    // serve is reported when the region opens (a program may link regions
    // it never uses); configuration is told at once.
    let configured = |field: Field| {
        !matches!(
            after.sources[&field],
            SettingSource::BuiltIn
                | SettingSource::Preset { .. }
                | SettingSource::Declaration { .. }
        )
    };
    if settings.tier == Tier::Redis && !context.redis && configured(Field::Tier) {
        problems.push(problem(
            Field::Tier,
            String::from(
                "tier \"redis\" needs a Redis connection, which this manager does not have (CacheManagerBuilder::redis); accepted here: \"memory\", \"disk\", \"hybrid\"",
            ),
        ));
    }
    // A backend nobody registered is an error at build time, declared or
    // configured: the registered names are known by then.
    if let Some(message) = unknown_backend(settings, context) {
        problems.push(problem(Field::Backend, message));
    }
    let codec = settings.compression.codec;
    let missing = match codec {
        Codec::Lz4 => !cfg!(feature = "lz4"),
        Codec::Zstd => !cfg!(feature = "zstd"),
        Codec::None => false,
    };
    if missing && configured(Field::Compression) && settings.tier.persists() {
        problems.push(problem(
            Field::Compression,
            format!(
                "codec \"{codec}\" needs cache-runtime's `{codec}` feature, which this build lacks; accepted here: \"none\"{}",
                if cfg!(feature = "lz4") { ", \"lz4\"" } else if cfg!(feature = "zstd") { ", \"zstd\"" } else { "" }
            ),
        ));
    }
}

/// Why `settings` cannot open on this manager's backends: the backend its
/// tier uses is not registered.
fn unknown_backend(settings: &RegionSettings, context: CheckContext<'_>) -> Option<String> {
    let (Tier::Backend | Tier::Hybrid, Some(name)) = (settings.tier, settings.backend) else {
        return None;
    };
    context.backends.get(name).is_none().then(|| {
        format!(
            "no backend named \"{name}\" is registered on this manager ({}); register it with CacheManagerBuilder::backend(\"{name}\", factory), or move the region to a tier: tier = \"memory\" and backend = \"none\"",
            context.backends.listed()
        )
    })
}

/// A problem for each target (region, and the field and value set for it,
/// when known) whose region the manager does not have (`known`): what is
/// wrong with the name, and the names it would accept.
pub(crate) fn check_regions<'a, 'b>(
    targets: impl Iterator<Item = (&'b str, Option<(&'b str, &'b str)>)>,
    source: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    problems: &mut Vec<Problem>,
) {
    for (region, field) in targets {
        if known.clone().any(|name| name == region) {
            continue;
        }
        problems.push(Problem {
            region: region.to_owned(),
            field: field.map(|(field, _)| field.to_owned()),
            value: field.map(|(_, value)| value.to_owned()),
            source: source.to_owned(),
            message: unknown_region(region, known.clone()),
        });
    }
}

/// Why `region` is not one of `known`, and what would be.
pub(crate) fn unknown_region<'a>(
    region: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> String {
    let mut message = match cache_spec::validate_name(region) {
        Err(error) => format!(
            "`{}` cannot be a region name ({error})",
            super::error::shown(region)
        ),
        Ok(()) => format!("no region is called `{region}`"),
    };
    if let Some(close) = cache_spec::suggest::closest(region, known.clone()) {
        message.push_str(&format!("; did you mean `{close}`?"));
    }
    const LISTED: usize = 8;
    let names: Vec<&str> = known.clone().take(LISTED).collect();
    let more = known.count().saturating_sub(LISTED);
    if names.is_empty() {
        message.push_str("; this manager has no regions");
    } else {
        message.push_str(&format!("; regions here: {}", names.join(", ")));
        if more > 0 {
            message.push_str(&format!(" and {more} more"));
        }
    }
    message
}

/// Problems with a patch on its own: regions the manager does not have,
/// and both size limits set at once.
pub(crate) fn check_patch<'a>(
    patch: &ConfigPatch,
    source: &str,
    known: impl Iterator<Item = &'a str> + Clone,
    problems: &mut Vec<Problem>,
) {
    check_regions(
        patch.regions().map(|(region, _)| (region, None)),
        source,
        known.clone(),
        problems,
    );
    for (region, fields) in patch.regions() {
        if !known.clone().any(|name| name == region) {
            continue;
        }
        if let (Some(FieldValue::Count(Some(entries))), Some(FieldValue::Count(Some(bytes)))) = (
            fields.get(&Field::MaxEntries).copied(),
            fields.get(&Field::MaxBytes).copied(),
        ) {
            problems.push(Problem {
                region: region.to_owned(),
                field: Some(String::from("max_bytes")),
                value: Some(FieldValue::Count(Some(bytes)).text(Field::MaxBytes)),
                source: source.to_owned(),
                message: format!(
                    "{} (max_entries is {entries} in the same source)",
                    cache_spec::TWO_LIMITS
                ),
            });
        }
    }
}

/// `descriptor`'s effective settings under `layers`, checked. Saved
/// run-time overrides that no longer fit the region are set aside (dropped
/// from `layers.runtime` for it) and returned as warnings; problems in the
/// lower layers are errors.
pub(crate) fn settle(
    layers: &mut Layers,
    descriptor: &RegionDescriptor,
    context: CheckContext<'_>,
) -> Result<(RegionSettings, Vec<Problem>), Vec<Problem>> {
    let region = descriptor.name();
    if !layers.touches(region) {
        // As declared, and checked when it was declared (the attribute at
        // compile time, a descriptor builder when built): nothing to
        // resolve, which keeps start-up cheap for many regions. Only the
        // backends registered are new.
        let settings = descriptor.settings();
        if let Some(message) = unknown_backend(&settings, context) {
            return Err(vec![Problem {
                region: region.to_owned(),
                field: Some(String::from("backend")),
                value: settings.backend.map(str::to_owned),
                source: format!("declaration at {}", descriptor.site()),
                message,
            }]);
        }
        return Ok((settings, Vec::new()));
    }
    let mut found = Vec::new();
    let resolved = layers.resolve(descriptor);
    check(region, None, &resolved, context, &mut found);
    if found.is_empty() {
        return Ok((resolved.settings, found));
    }
    let mut without = layers.runtime.clone();
    without.copy_region(region, &ConfigPatch::new());
    let lower = layers.resolve_with(descriptor, &without);
    let mut problems = Vec::new();
    check(region, None, &lower, context, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    layers.runtime = without;
    for problem in &mut found {
        problem
            .message
            .push_str(" (saved run-time override not applied)");
    }
    Ok((lower.settings, found))
}
