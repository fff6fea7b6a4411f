//! Dynamic configuration on the manager: [`CacheManager::configure`],
//! [`rollback`](CacheManager::rollback), [`history`](CacheManager::history),
//! [`explain`](CacheManager::explain), the config-file watcher and changes
//! made by other instances.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use cache_spec::{Field, RegionSettings};

use super::event::EventKind;
use super::{CacheError, CacheManager, Inner, Slot};
use crate::config::layers::{
    CheckContext, FileLayer, Layers, Resolved, check, check_patch, check_regions,
};
use crate::config::state::{Commit, SharedState, StateStore};
use crate::config::{
    AuditRecord, ChangeKind, ConfigChange, ConfigError, ConfigPatch, ExplainedField, Explanation,
    FieldChange, FieldValue, Problem, now_unix_ms,
};

/// How many times a change is retried when other instances commit first.
const ATTEMPTS: u32 = 8;

/// A manager's configuration: its layers, the version in force, where
/// run-time overrides and the audit trail are kept.
pub(crate) struct ConfigRuntime {
    pub(crate) layers: RwLock<Layers>,
    pub(crate) version: AtomicU64,
    pub(crate) state: Arc<dyn StateStore>,
    /// One change at a time per manager.
    pub(crate) lock: tokio::sync::Mutex<()>,
    /// Problems found in configuration that was skipped rather than
    /// refused (saved overrides that no longer fit, rejected file edits).
    pub(crate) warnings: Mutex<Vec<Problem>>,
    /// The instance name written into audit records.
    pub(crate) instance: String,
    /// Stops the file watcher when dropped.
    pub(crate) watcher: Mutex<Option<mpsc::Sender<()>>>,
}

impl ConfigRuntime {
    pub(crate) fn warn(&self, problems: impl IntoIterator<Item = Problem>) {
        let mut warnings = self.warnings.lock().unwrap_or_else(PoisonError::into_inner);
        warnings.extend(problems);
        // Keep the latest hundred.
        let excess = warnings.len().saturating_sub(100);
        warnings.drain(..excess);
    }

    fn layers(&self) -> Layers {
        self.layers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The effective settings of every region under `before` and `after`, the
/// fields that differ, and every problem with the new ones.
fn plan(
    slots: &[Arc<Slot>],
    before: &Layers,
    after: &Layers,
    context: CheckContext<'_>,
    problems: &mut Vec<Problem>,
) -> (Vec<FieldChange>, Vec<(Arc<Slot>, Resolved)>) {
    let mut changes = Vec::new();
    let mut changed = Vec::new();
    for slot in slots {
        let old = before.resolve(&slot.descriptor);
        let new = after.resolve(&slot.descriptor);
        if old.settings == new.settings {
            continue;
        }
        check(&slot.name, Some(&old.settings), &new, context, problems);
        for field in Field::ALL {
            let was = FieldValue::of(*field, &old.settings);
            let is = FieldValue::of(*field, &new.settings);
            if was != is {
                changes.push(FieldChange {
                    region: slot.name.to_string(),
                    field: *field,
                    before: was.text(*field),
                    after: is.text(*field),
                });
            }
        }
        changed.push((Arc::clone(slot), new));
    }
    (changes, changed)
}

/// "ttl: 1h -> 10m, max_entries: 10000 -> 5000" for one region.
fn describe(changes: &[FieldChange], region: &str) -> String {
    changes
        .iter()
        .filter(|change| change.region == region)
        .map(|change| format!("{}: {} -> {}", change.field, change.before, change.after))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CacheManager {
    pub(crate) fn config(&self) -> &ConfigRuntime {
        &self.inner.config
    }

    fn check_context(&self) -> CheckContext<'_> {
        CheckContext {
            running: true,
            redis: self.inner.redis.is_some(),
            backends: &self.inner.backends,
        }
    }

    /// Applies a run-time change as a whole: every field is checked against
    /// the region's declared schema (values, ranges, contradictions,
    /// sensitive regions staying in memory, fields that only change at
    /// start-up); if anything is wrong nothing is applied. Applied, it gets
    /// the next version number and an audit record (returned), is saved
    /// where the overrides are kept (a file, or Redis: every instance picks
    /// it up), takes effect in running regions without losing entries (a
    /// smaller limit keeps the hottest), and is announced as
    /// [`EventKind::ConfigChange`] events.
    ///
    /// ```
    /// use cache_runtime::{CacheManager, RegionDescriptor, config::ConfigChange};
    /// # let dir = std::env::temp_dir().join(format!("doc-configure-{}", std::process::id()));
    ///
    /// let models = RegionDescriptor::builder("doc-models").ttl(std::time::Duration::from_secs(3600)).build()?;
    /// let manager = CacheManager::builder()
    ///     .without_linked_regions()
    ///     .config_state_file(dir.join("config.json"))
    ///     .region(models)
    ///     .build()?;
    /// let record = manager.configure_blocking(
    ///     ConfigChange::new("ops:alice", "models change more often").set("doc-models", "ttl", "10m"),
    /// )?;
    /// assert_eq!(record.changes[0].before, "1h");
    /// assert_eq!(manager.explain("doc-models")?.field("ttl").map(|f| f.value.as_str()), Some("10m"));
    ///
    /// let refused = manager
    ///     .configure_blocking(ConfigChange::new("ops:alice", "typo").set("doc-models", "ttl", "5 mins"))
    ///     .unwrap_err();
    /// assert!(refused.to_string().contains("region `doc-models`, field `ttl` = \"5 mins\""));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] listing every problem (region, field, value,
    /// what is accepted); [`ConfigError::State`] when the change could not
    /// be saved (then it is not applied); [`ConfigError::Contended`];
    /// [`ConfigError::StaleVersion`] for a change made
    /// [against a version](ConfigChange::if_version) no longer in force.
    pub async fn configure(&self, change: ConfigChange) -> Result<AuditRecord, ConfigError> {
        let known = self.region_names();
        let mut problems = Vec::new();
        check_regions(
            change
                .targets()
                .map(|(region, field, value)| (region, Some((field, value)))),
            &format!("run-time change by {}", change.actor()),
            known.iter().map(String::as_str),
            &mut problems,
        );
        if !problems.is_empty() {
            // Every problem at once: the values of the known regions too.
            let _ = change.apply_to(&ConfigPatch::default(), &mut problems);
            return Err(ConfigError::Invalid { problems });
        }
        self.commit(
            ChangeKind::Change,
            change.actor(),
            change.reason(),
            |shared, _| {
                if let Some(expected) = change.expected_version()
                    && expected != shared.version
                {
                    return Err(ConfigError::StaleVersion {
                        expected,
                        current: shared.version,
                    });
                }
                let mut problems = Vec::new();
                let runtime = change.apply_to(&shared.overrides, &mut problems);
                if problems.is_empty() {
                    Ok((runtime, None))
                } else {
                    Err(ConfigError::Invalid { problems })
                }
            },
        )
        .await
    }

    /// [`configure`](Self::configure), blocking.
    ///
    /// # Errors
    ///
    /// As [`configure`](Self::configure).
    pub fn configure_blocking(&self, change: ConfigChange) -> Result<AuditRecord, ConfigError> {
        crate::block_on::block_on(self.configure(change))
    }

    /// Restores exactly the effective configuration that was in force right
    /// after `version` (0: before any run-time change), as a new version:
    /// run-time overrides are set so that every field changed since takes
    /// its value of then again, whatever the lower layers say now.
    ///
    /// # Errors
    ///
    /// [`ConfigError::UnknownVersion`] for a version that is not in the
    /// kept history; otherwise as [`configure`](Self::configure).
    pub async fn rollback(
        &self,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AuditRecord, ConfigError> {
        let history = self.config().state.history().await?;
        self.commit(
            ChangeKind::Rollback { to: version },
            actor,
            reason,
            |shared, layers| {
                let oldest = history.first().map_or(1, |record| record.version);
                let kept = if version == 0 {
                    oldest <= 1
                } else {
                    history.iter().any(|record| record.version == version)
                };
                if !kept || version > shared.version {
                    return Err(ConfigError::UnknownVersion {
                        version,
                        oldest,
                        latest: shared.version,
                    });
                }
                // The overrides of then...
                let runtime = match history.iter().find(|record| record.version == version) {
                    Some(record) => record.overrides.clone(),
                    None => ConfigPatch::new(),
                };
                // ...and, for every field changed since, its value of then
                // (the `before` of its first later change), pinned where
                // the lower layers now say otherwise.
                let mut then: BTreeMap<(String, Field), String> = BTreeMap::new();
                for record in history.iter().filter(|record| record.version > version) {
                    for change in &record.changes {
                        then.entry((change.region.clone(), change.field))
                            .or_insert_with(|| change.before.clone());
                    }
                }
                let mut trial = layers.clone();
                trial.runtime = runtime;
                for ((region, field), text) in then {
                    let (Ok(slot), Ok(value)) =
                        (self.slot(&region), FieldValue::parse(field, &text))
                    else {
                        continue;
                    };
                    let now = trial.resolve(&slot.descriptor);
                    if FieldValue::of(field, &now.settings) != value {
                        trial.runtime.set(&region, field, value);
                    }
                }
                let runtime = trial.runtime;
                Ok((runtime, None))
            },
        )
        .await
    }

    /// [`rollback`](Self::rollback), blocking.
    ///
    /// # Errors
    ///
    /// As [`rollback`](Self::rollback).
    pub fn rollback_blocking(
        &self,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> Result<AuditRecord, ConfigError> {
        crate::block_on::block_on(self.rollback(version, actor, reason))
    }

    /// The audit trail: every kept configuration version, oldest first.
    ///
    /// # Errors
    ///
    /// [`ConfigError::State`] when it cannot be read.
    pub async fn history(&self) -> Result<Vec<AuditRecord>, ConfigError> {
        self.config().state.history().await
    }

    /// [`history`](Self::history), blocking.
    ///
    /// # Errors
    ///
    /// As [`history`](Self::history).
    pub fn history_blocking(&self) -> Result<Vec<AuditRecord>, ConfigError> {
        crate::block_on::block_on(self.history())
    }

    /// Whether the configuration store (the state file, or the shared Redis
    /// keys) answers: its location, and the time a read of the latest
    /// version took or why it failed. For health checks; bounded by the
    /// store (a file read, the Redis tier's response timeout).
    pub async fn config_store_health(&self) -> (String, Result<std::time::Duration, String>) {
        let state = &self.config().state;
        let started = std::time::Instant::now();
        let outcome = match state.load().await {
            Ok(_) => Ok(started.elapsed()),
            Err(error) => Err(error.to_string()),
        };
        (state.location(), outcome)
    }

    /// The configuration version in force: 0 before any run-time change.
    pub fn config_version(&self) -> u64 {
        self.config().version.load(Ordering::Acquire)
    }

    /// Configuration problems that were reported rather than refused: saved
    /// overrides that no longer fit a region, config-file edits rejected by
    /// the watcher, changes from other instances this one could not apply.
    pub fn config_warnings(&self) -> Vec<Problem> {
        self.config()
            .warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Region `name`'s effective settings.
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn settings(&self, name: &str) -> Result<RegionSettings, CacheError> {
        Ok(self.slot(name)?.settings())
    }

    /// Every field of region `name`'s effective configuration with the
    /// layer that set it (default, preset, declaration, builder, provider,
    /// config file, environment variable, run-time change).
    ///
    /// # Errors
    ///
    /// [`CacheError::UnknownRegion`].
    pub fn explain(&self, name: &str) -> Result<Explanation, CacheError> {
        let slot = self.slot(name)?;
        let resolved = self.config().layers().resolve(&slot.descriptor);
        Ok(Explanation {
            region: name.to_owned(),
            version: self.config_version(),
            fields: Field::ALL
                .iter()
                .map(|field| ExplainedField {
                    field: field.as_str(),
                    value: FieldValue::of(*field, &resolved.settings).text(*field),
                    source: resolved.sources[field].clone(),
                })
                .collect(),
        })
    }

    /// Reads the config file again and applies it as a new version if it
    /// changed something (what the watcher does on every edit); `None` when
    /// nothing changed or the manager has no config file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`], [`ConfigError::Syntax`],
    /// [`ConfigError::Invalid`]: the running configuration stays.
    pub async fn reload_config_file(&self) -> Result<Option<AuditRecord>, ConfigError> {
        let Some(path) = self.config().layers().file.map(|file| file.path) else {
            return Ok(None);
        };
        let (patch, _) = crate::config::file::load(&path)?;
        self.apply_file(path, patch).await
    }

    /// [`reload_config_file`](Self::reload_config_file), blocking.
    ///
    /// # Errors
    ///
    /// As [`reload_config_file`](Self::reload_config_file).
    pub fn reload_config_file_blocking(&self) -> Result<Option<AuditRecord>, ConfigError> {
        crate::block_on::block_on(self.reload_config_file())
    }

    async fn apply_file(
        &self,
        path: PathBuf,
        patch: ConfigPatch,
    ) -> Result<Option<AuditRecord>, ConfigError> {
        let known = self.region_names();
        let mut problems = Vec::new();
        check_patch(
            &patch,
            &format!("config file {}", path.display()),
            known.iter().map(String::as_str),
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { problems });
        }
        let current = self.config().layers();
        if current
            .file
            .as_ref()
            .is_some_and(|file| file.patch == patch)
        {
            return Ok(None);
        }
        let file = FileLayer {
            path: path.clone(),
            patch,
        };
        self.commit(
            ChangeKind::File {
                path: path.display().to_string(),
            },
            "config file",
            &format!("{} changed", path.display()),
            |shared, _| Ok((shared.overrides.clone(), Some(file.clone()))),
        )
        .await
        .map(Some)
    }

    /// Plans, checks, records and applies a new version; `make` gives the
    /// new run-time layer (and config file layer) from the shared state.
    async fn commit(
        &self,
        kind: ChangeKind,
        actor: &str,
        reason: &str,
        make: impl Fn(&SharedState, &Layers) -> Result<(ConfigPatch, Option<FileLayer>), ConfigError>,
    ) -> Result<AuditRecord, ConfigError> {
        let config = self.config();
        let _one_at_a_time = config.lock.lock().await;
        for _ in 0..ATTEMPTS {
            let shared = config.state.load().await?;
            let mut before = config.layers();
            before.runtime = shared.overrides.clone();
            let (runtime, file) = make(&shared, &before)?;
            let mut after = before.clone();
            after.runtime = runtime.clone();
            if let Some(file) = file {
                after.file = Some(file);
            }
            let slots = self.inner.read().slots.clone();
            let mut problems = Vec::new();
            let (changes, _) = plan(&slots, &before, &after, self.check_context(), &mut problems);
            if !problems.is_empty() {
                return Err(ConfigError::Invalid { problems });
            }
            let record = AuditRecord {
                version: shared.version + 1,
                actor: actor.to_owned(),
                reason: reason.to_owned(),
                at_unix_ms: now_unix_ms(),
                instance: config.instance.clone(),
                kind: kind.clone(),
                changes,
                overrides: runtime,
            };
            match config.state.commit(&record).await? {
                Commit::Done => {
                    self.install(after, record.version);
                    return Ok(record);
                }
                Commit::Conflict => continue,
            }
        }
        Err(ConfigError::Contended { attempts: ATTEMPTS })
    }

    /// Makes `layers` the configuration in force at `version`: every region
    /// whose effective settings change takes them (running stores without
    /// restart) and announces it.
    pub(crate) fn install(&self, layers: Layers, version: u64) {
        let config = self.config();
        let before = config.layers();
        let slots = self.inner.read().slots.clone();
        let mut ignored = Vec::new();
        let (changes, changed) = plan(
            &slots,
            &before,
            &layers,
            CheckContext {
                running: false,
                redis: true,
                backends: &self.inner.backends,
            },
            &mut ignored,
        );
        *config
            .layers
            .write()
            .unwrap_or_else(PoisonError::into_inner) = layers;
        config.version.store(version, Ordering::Release);
        for (slot, resolved) in changed {
            slot.reconfigure(resolved.settings);
            self.inner.events.send_detail(
                &slot.name,
                EventKind::ConfigChange { version },
                describe(&changes, &slot.name),
            );
        }
    }

    /// Takes the shared state another instance recorded, if newer than the
    /// version in force. Regions whose new settings do not fit here keep
    /// theirs (reported in [`config_warnings`](Self::config_warnings)).
    #[cfg(feature = "redis")]
    pub(crate) async fn follow(&self) -> Result<(), ConfigError> {
        let config = self.config();
        let _one_at_a_time = config.lock.lock().await;
        let shared = config.state.load().await?;
        if shared.version <= self.config_version() {
            return Ok(());
        }
        let before = config.layers();
        let mut after = before.clone();
        after.runtime = shared.overrides.clone();
        let slots = self.inner.read().slots.clone();
        let mut problems = Vec::new();
        plan(&slots, &before, &after, self.check_context(), &mut problems);
        for problem in &problems {
            // Keep this instance's value for that region.
            after.runtime.copy_region(&problem.region, &before.runtime);
        }
        if !problems.is_empty() {
            let region: Arc<str> = Arc::from("(config)");
            self.inner.events.send_detail(
                &region,
                EventKind::ConfigRejected,
                ConfigError::Invalid {
                    problems: problems.clone(),
                }
                .to_string(),
            );
            config.warn(problems);
        }
        self.install(after, shared.version);
        Ok(())
    }
}

impl Slot {
    /// Applies new effective settings: kept for when the store opens, and
    /// given to the running store.
    pub(crate) fn reconfigure(&self, settings: RegionSettings) {
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        if let Some(store) = self.store.get() {
            store.reconfigure(&settings);
        }
    }
}

/// Watches the config file: polls it every `every`, and applies it when
/// its content changed (a rejected edit is reported and the running
/// configuration stays). Stops when the manager is dropped.
pub(crate) fn watch_file(inner: &Arc<Inner>, path: PathBuf, every: Duration) {
    let (stop, stopped) = mpsc::channel::<()>();
    *inner
        .config
        .watcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(stop);
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let mut seen = std::fs::read(&path).ok();
    let spawned = std::thread::Builder::new()
        .name(String::from("cache-config-watch"))
        .spawn(move || {
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let now = std::fs::read(&path).ok();
                if now == seen {
                    continue;
                }
                seen = now;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let manager = CacheManager { inner };
                let outcome = crate::block_on::block_on(manager.reload_config_file());
                if let Err(error) = outcome {
                    let region: Arc<str> = Arc::from("(config)");
                    manager.inner.events.send_detail(
                        &region,
                        EventKind::ConfigRejected,
                        error.to_string(),
                    );
                    manager.config().warn(match error {
                        ConfigError::Invalid { problems } => problems,
                        other => vec![Problem {
                            region: String::from("(file)"),
                            field: None,
                            value: None,
                            source: format!("config file {}", path.display()),
                            message: other.to_string(),
                        }],
                    });
                }
            }
        });
    if spawned.is_err() {
        inner.config.warn([Problem {
            region: String::from("(file)"),
            field: None,
            value: None,
            source: String::from("config file watcher"),
            message: String::from("could not start the watcher thread; call CacheManager::reload_config_file after edits"),
        }]);
    }
}
