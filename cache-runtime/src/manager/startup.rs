//! The configuration a manager starts with: builder settings, config
//! providers, the config file, the environment, and the saved run-time
//! overrides, checked region by region; and, with Redis, following the
//! versions other instances record.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cache_spec::{Field, RegionSettings};

use super::CacheError;
#[cfg(feature = "redis")]
use super::{CacheManager, Inner};
use crate::config::layers::{CheckContext, FileLayer, Layers, check_patch, settle};
use crate::config::state::{SharedState, StateStore};
use crate::config::{ConfigError, ConfigPatch, FieldValue, Problem};

/// What building a manager needs to set up its configuration.
pub(crate) struct Startup<'a> {
    pub(crate) linked: Option<&'static crate::registry::Registry>,
    pub(crate) file: Option<PathBuf>,
    pub(crate) env_prefix: Option<String>,
    pub(crate) env_vars: Option<Vec<(String, String)>>,
    pub(crate) fail_safe: &'a std::collections::HashMap<String, Duration>,
    pub(crate) state_file: PathBuf,
    pub(crate) keep: usize,
    pub(crate) redis: Option<&'a super::remote::RedisShared>,
    pub(crate) backends: &'a crate::backend::Backends,
}

/// The configuration a manager starts with.
pub(crate) struct Started {
    pub(crate) layers: Layers,
    pub(crate) version: u64,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) warnings: Vec<Problem>,
    pub(crate) instance: String,
    /// Each region's effective settings, in the order given.
    pub(crate) settings: Vec<RegionSettings>,
}

impl Startup<'_> {
    /// Loads every layer, checks every region, and loads the saved run-time
    /// overrides (those that no longer fit a region are set aside, with a
    /// warning).
    pub(crate) fn run(
        self,
        regions: &[(
            crate::descriptor::RegionDescriptor,
            Option<super::RegionKit>,
        )],
    ) -> Result<Started, CacheError> {
        let names = || regions.iter().map(|(descriptor, _)| descriptor.name());
        let mut layers = Layers::default();
        let mut problems = Vec::new();
        for (region, grace) in self.fail_safe {
            layers.builder.set(
                region,
                Field::FailSafe,
                FieldValue::Time((!grace.is_zero()).then_some(*grace)),
            );
        }
        check_patch(
            &layers.builder,
            "manager builder (fail_safe)",
            names(),
            &mut problems,
        );
        if let Some(registry) = self.linked {
            for provider in registry.providers() {
                let layer = provider.load().map_err(ConfigError::from)?;
                let mut patch = ConfigPatch::new();
                for (region, options) in layer.regions() {
                    for (field, value) in ConfigPatch::option_fields(options) {
                        patch.set(region, field, value);
                    }
                }
                layers.providers.push(crate::config::layers::ProviderLayer {
                    name: provider.name().to_owned(),
                    priority: provider.priority(),
                    patch,
                });
            }
            layers.sort_providers();
        }
        if let Some(path) = &self.file {
            let patch = match crate::config::file::load(path) {
                Ok((patch, _)) => patch,
                Err(ConfigError::Invalid { problems: found }) => {
                    problems.extend(found);
                    ConfigPatch::new()
                }
                Err(error) => return Err(CacheError::Config(error)),
            };
            check_patch(
                &patch,
                &format!("config file {}", path.display()),
                names(),
                &mut problems,
            );
            layers.file = Some(FileLayer {
                path: path.clone(),
                patch,
            });
        }
        if let Some(prefix) = &self.env_prefix {
            let vars = match self.env_vars.clone() {
                Some(vars) => vars,
                None => std::env::vars_os()
                    .filter_map(|(name, value)| {
                        Some((name.into_string().ok()?, value.into_string().ok()?))
                    })
                    .filter(|(name, _)| name.starts_with(prefix.as_str()))
                    .collect(),
            };
            match crate::config::env::parse(prefix, vars, names()) {
                Ok(env) => layers.env = env,
                Err(error) => problems.extend(error.problems().iter().cloned()),
            }
        }
        let context = CheckContext {
            running: false,
            redis: self.redis.is_some(),
            backends: self.backends,
        };
        if !problems.is_empty() {
            return Err(CacheError::Config(ConfigError::Invalid { problems }));
        }

        let state = state_store(&self);
        let mut warnings = Vec::new();
        let shared = match crate::block_on::block_on(state.load()) {
            Ok(shared) => shared,
            // Redis may be down at start-up: the overrides are taken when
            // it answers (see `follow_redis`).
            Err(error) if self.redis.is_some() => {
                warnings.push(Problem {
                    region: String::from("(config)"),
                    field: None,
                    value: None,
                    source: state.location(),
                    message: format!("run-time overrides not loaded yet: {error}"),
                });
                SharedState::default()
            }
            Err(error) => return Err(CacheError::Config(error)),
        };
        layers.runtime = shared.overrides;
        let mut settings = Vec::with_capacity(regions.len());
        let mut problems = Vec::new();
        for (descriptor, _) in regions {
            match settle(&mut layers, descriptor, context) {
                Ok((region_settings, set_aside)) => {
                    settings.push(region_settings);
                    warnings.extend(set_aside);
                }
                Err(found) => problems.extend(found),
            }
        }
        if !problems.is_empty() {
            return Err(CacheError::Config(ConfigError::Invalid { problems }));
        }
        Ok(Started {
            layers,
            version: shared.version,
            state,
            warnings,
            instance: instance_name(),
            settings,
        })
    }
}

/// Where the overrides and the audit trail are kept.
fn state_store(startup: &Startup<'_>) -> Arc<dyn StateStore> {
    #[cfg(feature = "redis")]
    if let Some(redis) = startup.redis {
        return Arc::new(
            crate::config::state_redis::RedisState::new(Arc::clone(&redis.link), startup.keep)
                .with_backplane(redis.backplane.clone()),
        );
    }
    Arc::new(crate::config::state_file::FileState::new(
        startup.state_file.clone(),
        startup.keep,
    ))
}

/// The running executable's name, without extension (`program` when it
/// cannot be told).
pub(super) fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| String::from("program"))
}

/// `program@host:pid`, for audit records.
pub(crate) fn instance_name() -> String {
    let program = program_name();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| String::from("localhost"));
    format!("{program}@{host}:{}", std::process::id())
}

/// With Redis: takes the versions other instances record (told by the
/// state store's watch: pub/sub, plus polling).
#[cfg(feature = "redis")]
pub(crate) fn follow_redis(inner: &Arc<Inner>) {
    if inner.redis.is_none() {
        return;
    }
    let weak = Arc::downgrade(inner);
    let on_change: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |_version| {
        let weak = weak.clone();
        // Off the Redis I/O thread: applying may rebuild memory levels.
        let _ = std::thread::Builder::new()
            .name(String::from("cache-config-follow"))
            .spawn(move || {
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let manager = CacheManager { inner };
                if let Err(error) = crate::block_on::block_on(manager.follow()) {
                    manager.config().warn([Problem {
                        region: String::from("(config)"),
                        field: None,
                        value: None,
                        source: manager.config().state.location(),
                        message: format!("could not take another instance's change: {error}"),
                    }]);
                }
            });
    });
    inner.config.state.follow(on_change);
}
