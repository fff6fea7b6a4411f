//! `build.rs` helper for `cache-runtime`: fingerprints a package's sources,
//! keeps a versioned registry cache so reruns read only changed files, and
//! writes a manifest of the regions declared in source, which the runtime
//! compares with what the linker actually kept (`cache_runtime::check_linked!`).
//!
//! A whole build script:
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     cache_build::emit();
//! }
//! ```
//!
//! or, configured:
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     cache_build::Builder::new()
//!         .root("src")
//!         .exclude("src/generated/**")
//!         .max_age(std::time::Duration::from_secs(24 * 60 * 60))
//!         .emit();
//! }
//! ```
//!
//! What it emits:
//!
//! - `CACHE_BUILD_FINGERPRINT`: blake3 of the sorted (path, content hash)
//!   pairs of the package's scanned files (`cache_runtime::build_fingerprint!()`).
//! - `CACHE_BUILD_MANIFEST`: the path of the manifest (JSON) in `OUT_DIR`.
//! - `CACHE_REGION_SCHEMA_<NAME>` per region of the package: its schema
//!   fingerprint, which the attribute records in the region's descriptor.
//! - `rerun-if-changed` for every scanned file and folder (so a new file
//!   triggers a rerun), `Cargo.toml` and `Cargo.lock`, and
//!   `rerun-if-env-changed` for every variable it reads.
//!
//! The packages scanned are this one and every normal dependency that
//! depends on `cache-runtime` (found with `cargo metadata`), because those
//! are the crates whose regions the linker may drop.

// The documentation's examples are whole build scripts, `fn main` included.
#![allow(clippy::needless_doctest_main)]

mod cache_file;
mod error;
mod modules;
mod packages;
mod parse;
mod scan;
mod schema;
mod walk;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cache_spec::glob::Glob;
use cache_spec::manifest::{
    BuildManifest, CrateManifest, DeclaredProvider, DeclaredRegion, MANIFEST_FORMAT,
};

pub use cache_file::CacheDiscarded;
pub use error::BuildError;
pub use scan::ScanStats;

use crate::cache_file::{CacheFile, DeclsFile, FileRecord, PackageRecord, TOOL_VERSION};
use crate::packages::{Package, Site};
use crate::schema::TypeIndex;

/// The default maximum age of the registry cache: 7 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Set to a non-empty value other than `0` to ignore the registry cache and
/// scan every file.
pub const FORCE_RESCAN_ENV: &str = "CACHE_BUILD_FORCE_RESCAN";

/// The name of the environment variable carrying a region's schema
/// fingerprint: `CACHE_REGION_SCHEMA_MODEL_METADATA` for `model-metadata`.
pub fn schema_env_var(region: &str) -> String {
    cache_spec::schema_env_var(region)
}

/// Runs the build helper with its defaults; panics with a readable message
/// on failure, which fails the build.
pub fn emit() -> Report {
    Builder::new().emit()
}

/// Configures the build helper: which folders to scan, which files to skip,
/// how old the registry cache may get, where it lives.
#[must_use]
#[derive(Clone, Debug)]
pub struct Builder {
    roots: Vec<PathBuf>,
    default_roots: bool,
    include: Vec<String>,
    exclude: Vec<String>,
    max_age: Duration,
    cache_file: Option<PathBuf>,
    dependencies: bool,
    env: BTreeMap<String, String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            roots: vec![PathBuf::from("src")],
            default_roots: true,
            include: Vec::new(),
            exclude: Vec::new(),
            max_age: DEFAULT_MAX_AGE,
            cache_file: None,
            dependencies: true,
            env: BTreeMap::new(),
        }
    }
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The package fingerprint (hex).
    pub fingerprint: String,
    /// Where the manifest was written.
    pub manifest_path: PathBuf,
    /// The manifest.
    pub manifest: BuildManifest,
    /// File counts of the scan, summed over packages.
    pub stats: ScanStats,
    /// Why the previous registry cache was not used; `None` when it was.
    pub discarded: Option<CacheDiscarded>,
    /// The warnings printed as `cargo::warning`.
    pub warnings: Vec<String>,
}

impl Builder {
    /// The defaults: scan `src/`, every `.rs` file, cache in `OUT_DIR`, at
    /// most 7 days old, dependencies included.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds a folder to scan, relative to the package root; the first call
    /// replaces the default `src`.
    pub fn root(mut self, folder: impl Into<PathBuf>) -> Builder {
        if self.default_roots {
            self.roots.clear();
            self.default_roots = false;
        }
        self.roots.push(folder.into());
        self
    }

    /// Scans only files matching one of the include globs (relative to the
    /// package root, `src/**/*.rs`); all `.rs` files when none is given.
    pub fn include(mut self, glob: impl Into<String>) -> Builder {
        self.include.push(glob.into());
        self
    }

    /// Skips files and folders matching the glob (`src/generated/**`).
    pub fn exclude(mut self, glob: impl Into<String>) -> Builder {
        self.exclude.push(glob.into());
        self
    }

    /// Rebuilds the registry cache from scratch when it is older than this.
    pub fn max_age(mut self, max_age: Duration) -> Builder {
        self.max_age = max_age;
        self
    }

    /// Keeps the registry cache at `path` instead of `OUT_DIR`.
    pub fn cache_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.cache_file = Some(path.into());
        self
    }

    /// Whether to scan dependencies that use `cache-runtime` (default: yes).
    pub fn dependencies(mut self, scan: bool) -> Builder {
        self.dependencies = scan;
        self
    }

    /// Sets an environment variable for this run only, instead of reading it
    /// from the process (for tests).
    #[doc(hidden)]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Builder {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Runs and prints the `cargo::` lines.
    ///
    /// # Panics
    ///
    /// When [`Builder::try_emit`] fails, with its message, failing the build.
    pub fn emit(self) -> Report {
        match self.try_emit() {
            Ok(report) => report,
            Err(error) => panic!("cache-build: {error}"),
        }
    }

    /// Runs and prints the `cargo::` lines.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when not run from a build script, for a malformed
    /// glob, or when `OUT_DIR` is not writable. A missing, old or corrupt
    /// registry cache is not an error.
    pub fn try_emit(self) -> Result<Report, BuildError> {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        self.emit_to(&mut lock)
    }

    /// Runs and writes the `cargo::` lines to `out`.
    #[doc(hidden)]
    pub fn emit_to(self, out: &mut dyn Write) -> Result<Report, BuildError> {
        let mut lines = Lines::default();
        let report = self.run(&mut lines)?;
        for line in &lines.0 {
            writeln!(out, "{line}").map_err(BuildError::Output)?;
        }
        Ok(report)
    }

    fn var(&self, key: &'static str, lines: &mut Lines) -> Option<String> {
        if !key.starts_with("CARGO") && !matches!(key, "OUT_DIR" | "TARGET") {
            lines.push(format!("cargo::rerun-if-env-changed={key}"));
        }
        self.env
            .get(key)
            .cloned()
            .or_else(|| std::env::var(key).ok())
    }

    fn required(&self, key: &'static str, lines: &mut Lines) -> Result<String, BuildError> {
        self.var(key, lines).ok_or(BuildError::MissingEnv(key))
    }

    fn run(&self, lines: &mut Lines) -> Result<Report, BuildError> {
        let manifest_dir = PathBuf::from(self.required("CARGO_MANIFEST_DIR", lines)?);
        let out_dir = PathBuf::from(self.required("OUT_DIR", lines)?);
        let package_name = self.required("CARGO_PKG_NAME", lines)?;
        let package_version = self.required("CARGO_PKG_VERSION", lines)?;
        let cargo = self.var("CARGO", lines);
        let target = self.var("TARGET", lines);
        let force = self
            .var(FORCE_RESCAN_ENV, lines)
            .is_some_and(|v| !v.is_empty() && v != "0");
        let include = compile(&self.include)?;
        let exclude = compile(&self.exclude)?;
        let mut warnings = Vec::new();

        let site = Site {
            manifest_dir: &manifest_dir,
            package_name: &package_name,
            package_version: &package_version,
            cargo: cargo.as_deref(),
            target: target.as_deref(),
        };
        let (packages, workspace_root, warning) =
            packages::discover(&site, &self.roots, self.dependencies);
        warnings.extend(warning);

        let now = SystemTime::now();
        let now_ms = scan::unix_ns(now) / 1_000_000;
        let cache_path = self
            .cache_file
            .clone()
            .unwrap_or_else(|| out_dir.join("cache-build").join("registry-cache.json"));
        let previous = if force {
            Err(CacheDiscarded::Missing)
        } else {
            cache_file::load(&cache_path, &package_version, self.max_age, now_ms)
        };
        let (previous, discarded) = match previous {
            Ok(cache) => (Some(cache), None),
            Err(reason) => {
                if let CacheDiscarded::Unreadable(_) = reason {
                    warnings.push(format!(
                        "the registry cache at {} is unreadable; rescanning every file ({reason})",
                        cache_path.display()
                    ));
                }
                (None, Some(reason))
            }
        };

        let mut previous = previous;
        let mut stats = ScanStats::default();
        let mut scanned = Vec::new();
        let mut watched: Vec<PathBuf> = Vec::new();
        let mut content_changed = previous.is_none();
        for package in &packages {
            let listing = walk::list(&package.root, &package.scan_roots, &include, &exclude);
            let old = previous
                .as_mut()
                .and_then(|p| p.packages.remove(&package.key()));
            content_changed |= old.is_none();
            let result = scan::scan(&package.root, &listing.files, old, now);
            stats += result.stats;
            content_changed |= result.content_changed();
            watched.extend(listing.folders);
            watched.extend(listing.files.iter().map(|f| package.root.join(&f.path)));
            scanned.push(result);
        }
        // A package scanned last time and not now (a dependency removed).
        content_changed |= previous.as_ref().is_some_and(|p| !p.packages.is_empty());
        let stamps_changed = content_changed || stats.read > 0;

        let cache_dir = cache_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| out_dir.clone());
        let decls_path = cache_dir.join("registry-decls.json");
        let manifest_path = out_dir.join("cache-build").join("manifest.json");
        let own_index = packages
            .iter()
            .position(|p| p.is_self)
            .map(|i| &scanned[i].index);
        let fingerprint = own_index.map(scan::fingerprint).unwrap_or_default();

        // Nothing changed: the manifest on disk is still the one for these
        // sources (checked by hash), and the declarations are not needed.
        let reusable = if content_changed {
            None
        } else {
            previous
                .as_ref()
                .and_then(|p| reuse_manifest(&manifest_path, &p.manifest_hash))
        };
        let (manifest, decls_hash, manifest_hash) = match (reusable, previous.as_ref()) {
            (Some((manifest, manifest_hash)), Some(previous)) => {
                (manifest, previous.decls_hash.clone(), manifest_hash)
            }
            _ => {
                let old_decls = previous
                    .as_ref()
                    .and_then(|p| cache_file::load_decls(&decls_path, &p.decls_hash));
                let mut decls = DeclsFile::default();
                let mut records = Vec::new();
                for (package, result) in packages.iter().zip(&mut scanned) {
                    let old = old_decls
                        .as_ref()
                        .and_then(|d| d.packages.get(&package.key()));
                    let mut files = BTreeMap::new();
                    let mut package_decls = BTreeMap::new();
                    for (path, stamp) in &result.index.files {
                        let file_decls = match result.parsed.remove(path) {
                            Some(parsed) => parsed,
                            None => match old.and_then(|o| o.get(path)) {
                                Some(known) => known.clone(),
                                None => {
                                    // The declarations file was lost or
                                    // damaged: read this file again.
                                    stats.read += 1;
                                    stats.parsed += 1;
                                    scan::parse_file(&package.root, path).unwrap_or_default()
                                }
                            },
                        };
                        package_decls.insert(path.clone(), file_decls.clone());
                        files.insert(
                            path.clone(),
                            FileRecord {
                                stamp: stamp.clone(),
                                decls: file_decls,
                            },
                        );
                    }
                    decls.packages.insert(package.key(), package_decls);
                    records.push(PackageRecord { files });
                }
                let manifest = BuildManifest {
                    format: MANIFEST_FORMAT,
                    package: package_name.clone(),
                    package_version: package_version.clone(),
                    fingerprint: fingerprint.clone(),
                    crates: packages
                        .iter()
                        .zip(&records)
                        .flat_map(|(p, r)| crates(p, r, &workspace_root))
                        .collect(),
                };
                let json = manifest.to_json();
                cache_spec::persist::atomic_write(&manifest_path, json.as_bytes()).map_err(
                    |source| BuildError::WriteManifest {
                        path: manifest_path.clone(),
                        source,
                    },
                )?;
                let manifest_hash = blake3::hash(json.as_bytes()).to_hex().to_string();
                let decls_hash = match cache_file::store_decls(&decls_path, &decls) {
                    Ok(hash) => hash,
                    Err(error) => {
                        warnings.push(format!(
                            "cannot write the registry cache at {}: {error}",
                            decls_path.display()
                        ));
                        String::new()
                    }
                };
                (manifest, decls_hash, manifest_hash)
            }
        };

        let index_changed = stamps_changed
            || previous
                .as_ref()
                .is_none_or(|p| p.decls_hash != decls_hash || p.manifest_hash != manifest_hash);
        if index_changed {
            let cache = CacheFile {
                format: cache_file::CACHE_FORMAT,
                tool_version: TOOL_VERSION.into(),
                package_version: package_version.clone(),
                created_at_ms: previous.as_ref().map_or(now_ms, |p| p.created_at_ms),
                packages: packages
                    .iter()
                    .zip(scanned)
                    .map(|(p, s)| (p.key(), s.index))
                    .collect(),
                decls_hash,
                manifest_hash,
            };
            if let Err(error) = cache_file::store(&cache_path, &cache) {
                warnings.push(format!(
                    "cannot write the registry cache at {}: {error}",
                    cache_path.display()
                ));
            }
        }

        lines.push(format!(
            "cargo::rustc-env=CACHE_BUILD_FINGERPRINT={fingerprint}"
        ));
        lines.push(format!(
            "cargo::rustc-env=CACHE_BUILD_MANIFEST={}",
            manifest_path.display()
        ));
        let mut schemas = BTreeMap::new();
        for krate in manifest.crates.iter().filter(|c| c.package == package_name) {
            for region in &krate.regions {
                schemas
                    .entry(region.name.clone())
                    .or_insert_with(|| region.schema.clone());
            }
        }
        for (name, schema) in schemas {
            lines.push(format!(
                "cargo::rustc-env={}={schema}",
                schema_env_var(&name)
            ));
        }
        watched.push(manifest_dir.join("Cargo.toml"));
        let lock = workspace_root.join("Cargo.lock");
        if lock.is_file() {
            watched.push(lock);
        }
        watched.sort();
        watched.dedup();
        for path in watched {
            lines.push(format!("cargo::rerun-if-changed={}", path.display()));
        }
        for warning in &warnings {
            lines.push(format!("cargo::warning=cache-build: {warning}"));
        }
        Ok(Report {
            fingerprint,
            manifest_path,
            manifest,
            stats,
            discarded,
            warnings,
        })
    }
}

/// The `cargo::` lines of one run, deduplicated in order (the set keeps
/// that linear: a package of 10,000 files emits over 10,000 lines).
#[derive(Default)]
struct Lines(Vec<String>, HashSet<String>);

impl Lines {
    fn push(&mut self, line: String) {
        if self.1.insert(line.clone()) {
            self.0.push(line);
        }
    }
}

fn compile(globs: &[String]) -> Result<Vec<Glob>, BuildError> {
    globs
        .iter()
        .map(|g| Glob::path(g).map_err(BuildError::from))
        .collect()
}

/// The manifest at `path` and its hash, when its blake3 is `expected`.
fn reuse_manifest(path: &Path, expected: &str) -> Option<(BuildManifest, String)> {
    let bytes = std::fs::read(path).ok()?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if hash != expected {
        return None;
    }
    let manifest = BuildManifest::from_json(std::str::from_utf8(&bytes).ok()?).ok()?;
    Some((manifest, hash))
}

/// The crates of `package` that declare something, from its scanned files.
fn crates(package: &Package, record: &PackageRecord, workspace_root: &Path) -> Vec<CrateManifest> {
    let types = TypeIndex::new(record);
    let mut out = Vec::new();
    for target in &package.targets {
        let mut regions = Vec::new();
        let mut providers = Vec::new();
        for (file, module) in modules::place(&record.files, &target.root_file, &target.crate_name) {
            let Some(decls) = record.files.get(&file).map(|f| &f.decls) else {
                continue;
            };
            let shown = display_path(&package.root.join(&file), workspace_root);
            let module_path = |inline: &[String]| {
                let mut path = module.clone();
                path.extend(inline.iter().cloned());
                path.join("::")
            };
            for region in &decls.regions {
                regions.push(DeclaredRegion {
                    name: region.name.clone(),
                    item: region.item.clone(),
                    attribute: region.attribute.clone(),
                    module_path: module_path(&region.inline_path),
                    file: shown.clone(),
                    line: region.line,
                    schema: types.fingerprint(region),
                });
            }
            for provider in &decls.providers {
                providers.push(DeclaredProvider {
                    name: provider.name.clone(),
                    function: provider.function.clone(),
                    priority: provider.priority,
                    module_path: module_path(&provider.inline_path),
                    file: shown.clone(),
                    line: provider.line,
                });
            }
        }
        if regions.is_empty() && providers.is_empty() {
            continue;
        }
        regions.sort_by(|a, b| a.name.cmp(&b.name));
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        out.push(CrateManifest {
            crate_name: target.crate_name.clone(),
            package: package.name.clone(),
            kind: target.kind,
            regions,
            providers,
        });
    }
    out
}

/// A file as the compiler names it in `file!()`: relative to the workspace
/// root for workspace members, absolute otherwise.
fn display_path(path: &Path, workspace_root: &Path) -> String {
    walk::relative(workspace_root, path).unwrap_or_else(|| path.display().to_string())
}
