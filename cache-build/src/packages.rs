//! Which packages to scan: this one, and (through `cargo metadata`) every
//! normal dependency that depends on `cache-runtime`, since those are the
//! crates that can declare regions, and the ones the linker may drop.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use cache_spec::manifest::CrateKind;

/// A crate target and the file its module tree starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) kind: CrateKind,
    pub(crate) crate_name: String,
    /// Relative to the package root, `/`-separated.
    pub(crate) root_file: String,
}

/// A package to scan.
#[derive(Clone, Debug)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) root: PathBuf,
    /// Folders to scan, relative to `root`.
    pub(crate) scan_roots: Vec<PathBuf>,
    pub(crate) targets: Vec<Target>,
    /// The package whose build script runs.
    pub(crate) is_self: bool,
}

impl Package {
    /// The key of its records in the cache file.
    pub(crate) fn key(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// What the build script knows about where it runs.
pub(crate) struct Site<'a> {
    pub(crate) manifest_dir: &'a Path,
    pub(crate) package_name: &'a str,
    pub(crate) package_version: &'a str,
    pub(crate) cargo: Option<&'a str>,
    pub(crate) target: Option<&'a str>,
}

/// The packages to scan and the workspace root (for file names as the
/// compiler prints them). Without `cargo metadata`, only this package, with
/// targets guessed from Cargo's default layout, and a warning.
pub(crate) fn discover(
    site: &Site<'_>,
    own_roots: &[PathBuf],
    dependencies: bool,
) -> (Vec<Package>, PathBuf, Option<String>) {
    match metadata(site) {
        Ok(meta) => {
            let workspace_root = meta
                .get("workspace_root")
                .and_then(Value::as_str)
                .map(PathBuf::from)
                .unwrap_or_else(|| site.manifest_dir.to_path_buf());
            match from_metadata(&meta, site, own_roots, dependencies) {
                Some(packages) => (packages, workspace_root, None),
                None => (
                    vec![guessed(site, own_roots)],
                    workspace_root,
                    Some("cargo metadata does not list this package; scanning it alone".into()),
                ),
            }
        }
        Err(why) => (
            vec![guessed(site, own_roots)],
            site.manifest_dir.to_path_buf(),
            Some(format!(
                "cannot run `cargo metadata` ({why}); dependencies are not scanned"
            )),
        ),
    }
}

fn metadata(site: &Site<'_>) -> Result<Value, String> {
    let cargo = site.cargo.unwrap_or("cargo");
    let mut command = Command::new(cargo);
    command
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(site.manifest_dir.join("Cargo.toml"));
    if let Some(target) = site.target {
        command.args(["--filter-platform", target]);
    }
    let output = command.output().map_err(|e| e.to_string())?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("failed").to_string());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())
}

fn from_metadata(
    meta: &Value,
    site: &Site<'_>,
    own_roots: &[PathBuf],
    dependencies: bool,
) -> Option<Vec<Package>> {
    let packages: HashMap<&str, &Value> = meta
        .get("packages")?
        .as_array()?
        .iter()
        .filter_map(|p| Some((p.get("id")?.as_str()?, p)))
        .collect();
    let own_manifest = site.manifest_dir.join("Cargo.toml");
    let (own_id, own) = packages.iter().find(|(_, p)| {
        p.get("manifest_path")
            .and_then(Value::as_str)
            .is_some_and(|m| Path::new(m) == own_manifest)
    })?;
    let mut out = vec![package(own, own_roots, true)?];
    if !dependencies {
        return Some(out);
    }
    let nodes: HashMap<&str, &Value> = meta
        .get("resolve")
        .and_then(|r| r.get("nodes"))
        .and_then(Value::as_array)
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| Some((n.get("id")?.as_str()?, n)))
                .collect()
        })
        .unwrap_or_default();
    let name_of = |id: &str| {
        packages
            .get(id)
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
    };
    let mut seen = BTreeSet::new();
    let mut queue = vec![*own_id];
    while let Some(id) = queue.pop() {
        for dep in normal_deps(nodes.get(id).copied()) {
            if seen.insert(dep) {
                queue.push(dep);
            }
        }
    }
    for id in seen {
        if name_of(id) == Some("cache-runtime") {
            continue;
        }
        let uses_runtime =
            normal_deps(nodes.get(id).copied()).any(|d| name_of(d) == Some("cache-runtime"));
        if uses_runtime
            && let Some(p) = packages.get(id)
            && let Some(dep) = package(p, &[], false)
        {
            out.push(dep);
        }
    }
    Some(out)
}

/// The ids of a resolve node's normal (not dev, not build) dependencies.
fn normal_deps(node: Option<&Value>) -> impl Iterator<Item = &str> {
    node.and_then(|n| n.get("deps"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|dep| {
            dep.get("dep_kinds")
                .and_then(Value::as_array)
                .is_some_and(|kinds| {
                    kinds
                        .iter()
                        .any(|k| k.get("kind").is_none_or(Value::is_null))
                })
        })
        .filter_map(|dep| dep.get("pkg").and_then(Value::as_str))
}

fn package(p: &Value, own_roots: &[PathBuf], is_self: bool) -> Option<Package> {
    let name = p.get("name")?.as_str()?.to_owned();
    let version = p.get("version")?.as_str()?.to_owned();
    let root = Path::new(p.get("manifest_path")?.as_str()?)
        .parent()?
        .to_path_buf();
    let mut targets = Vec::new();
    for target in p.get("targets")?.as_array()? {
        let kinds: Vec<&str> = target
            .get("kind")
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let kind = if kinds
            .iter()
            .any(|k| matches!(*k, "lib" | "rlib" | "dylib" | "cdylib" | "staticlib"))
        {
            CrateKind::Lib
        } else if kinds.contains(&"bin") {
            CrateKind::Bin
        } else if kinds.contains(&"test") {
            CrateKind::Test
        } else if kinds.contains(&"example") {
            CrateKind::Example
        } else if kinds.contains(&"bench") {
            CrateKind::Bench
        } else {
            continue;
        };
        if !is_self && kind != CrateKind::Lib {
            continue;
        }
        let Some(src) = target.get("src_path").and_then(Value::as_str) else {
            continue;
        };
        let Some(root_file) = crate::walk::relative(&root, Path::new(src)) else {
            continue;
        };
        let crate_name = target
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .replace('-', "_");
        targets.push(Target {
            kind,
            crate_name,
            root_file,
        });
    }
    let scan_roots = if is_self {
        own_roots.to_vec()
    } else {
        // A dependency's library folder (usually `src/`).
        targets
            .iter()
            .filter_map(|t| Path::new(&t.root_file).parent().map(Path::to_path_buf))
            .collect()
    };
    Some(Package {
        name,
        version,
        root,
        scan_roots,
        targets,
        is_self,
    })
}

/// This package alone, its targets guessed from Cargo's default layout.
fn guessed(site: &Site<'_>, own_roots: &[PathBuf]) -> Package {
    let crate_name = site.package_name.replace('-', "_");
    let mut targets = Vec::new();
    if site.manifest_dir.join("src/lib.rs").is_file() {
        targets.push(Target {
            kind: CrateKind::Lib,
            crate_name: crate_name.clone(),
            root_file: "src/lib.rs".into(),
        });
    }
    if site.manifest_dir.join("src/main.rs").is_file() {
        targets.push(Target {
            kind: CrateKind::Bin,
            crate_name,
            root_file: "src/main.rs".into(),
        });
    }
    if let Ok(entries) = std::fs::read_dir(site.manifest_dir.join("src/bin")) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".rs") {
                targets.push(Target {
                    kind: CrateKind::Bin,
                    crate_name: stem.replace('-', "_"),
                    root_file: format!("src/bin/{name}"),
                });
            }
        }
    }
    Package {
        name: site.package_name.to_owned(),
        version: site.package_version.to_owned(),
        root: site.manifest_dir.to_path_buf(),
        scan_roots: own_roots.to_vec(),
        targets,
        is_self: true,
    }
}
