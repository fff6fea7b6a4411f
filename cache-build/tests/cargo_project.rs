//! The second test level: a real temporary Cargo project whose build script
//! is `cache_build::emit()`, built with `cargo build --offline` again and
//! again. It shows that an unchanged project does not rerun the build
//! script, that an edit and a new file in `src/` do, that the fingerprint
//! the binary prints follows the sources, and that `check_linked!()` names
//! a dependency the program forgot to reference.
//!
//! Dependencies are compiled once into a persistent target folder,
//! `<workspace>/target/cache-build-project-test` (not the workspace's own
//! target folder, which the outer `cargo test` holds locked), so reruns only
//! compile the generated crates.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Scratch;

const PROJECT: &str = "cb-project";

/// The cargo to drive: the one running the tests, else the one on PATH.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cache-build sits in the workspace")
        .to_path_buf()
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Writes the project: a library with regions in two modules, a binary
/// that names the library but not `cb-dropped`, a local path library that
/// declares a region.
fn generate(root: &Path) {
    let workspace = workspace_root();
    let path_of = |krate: &str| {
        workspace
            .join(krate)
            .display()
            .to_string()
            .replace('\\', "/")
    };
    write(
        &root.join("Cargo.toml"),
        &format!(
            r#"[package]
name = "{PROJECT}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
cache-runtime = {{ path = "{runtime}" }}
cb-dropped = {{ path = "dropped" }}

[build-dependencies]
cache-build = {{ path = "{build}" }}

# Its own workspace, wherever the temp folder is.
[workspace]
"#,
            runtime = path_of("cache-runtime"),
            build = path_of("cache-build"),
        ),
    );
    write(
        &root.join("build.rs"),
        "fn main() {\n    cache_build::emit();\n}\n",
    );
    write(
        &root.join("src/lib.rs"),
        r#"//! The project's library.

pub mod models;

/// Session blobs.
#[cache_runtime::cache_region(name = "project-sessions", key = String, value = Vec<u8>)]
pub struct ProjectSessions;
"#,
    );
    write(
        &root.join("src/models.rs"),
        r#"//! Models.

/// What is cached.
#[derive(Clone, Debug)]
pub struct Model {
    pub tokens: u32,
}

#[cache_runtime::cache_region(name = "project-models", key = String, value = Model)]
pub struct ProjectModels;
"#,
    );
    write(
        &root.join("src/main.rs"),
        r#"use cb_project::models::ProjectModels;

fn main() {
    // Names the library, so the linker keeps its regions.
    let _ = ProjectModels;
    println!("fingerprint={}", cache_runtime::build_fingerprint!().unwrap_or("none"));
    let report = cache_runtime::check_linked!();
    println!("linked-ok={}", report.is_ok());
    println!("{report}");
}
"#,
    );
    write(
        &root.join("dropped/Cargo.toml"),
        &format!(
            r#"[package]
name = "cb-dropped"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
cache-runtime = {{ path = "{runtime}" }}
"#,
            runtime = path_of("cache-runtime"),
        ),
    );
    write(
        &root.join("dropped/src/lib.rs"),
        r#"//! A library nothing in the binary names.

#[cache_runtime::cache_region(name = "dropped-reports", key = String, value = String)]
pub struct DroppedReports;
"#,
    );
    // The workspace's lock file, so the same versions resolve offline.
    fs::copy(workspace.join("Cargo.lock"), root.join("Cargo.lock")).expect("copy Cargo.lock");
}

struct Project {
    root: PathBuf,
    target: PathBuf,
}

impl Project {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(cargo());
        command
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove(cache_build::FORCE_RESCAN_ENV)
            .env_remove("CARGO_BUILD_TARGET");
        command
    }

    fn cargo(&self, args: &[&str]) -> Output {
        let output = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo().display()));
        assert!(
            output.status.success(),
            "`cargo {}` failed in {} ({}):\n--- stderr ---\n{}\n--- stdout ---\n{}",
            args.join(" "),
            self.root.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout),
        );
        output
    }

    /// `cargo build -v --offline`; its stderr.
    fn build(&self) -> String {
        String::from_utf8_lossy(&self.cargo(&["build", "-v", "--offline"]).stderr).into_owned()
    }

    /// Runs the binary; its stdout.
    fn run(&self) -> String {
        let binary = self
            .target
            .join("debug")
            .join(format!("{PROJECT}{}", std::env::consts::EXE_SUFFIX));
        let output = Command::new(&binary)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        assert!(
            output.status.success(),
            "{} failed: {output:?}",
            binary.display()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn fingerprint(&self) -> String {
        let stdout = self.run();
        let fingerprint = stdout
            .lines()
            .find_map(|l| l.strip_prefix("fingerprint="))
            .unwrap_or_else(|| panic!("no fingerprint line in:\n{stdout}"))
            .to_owned();
        assert_eq!(
            fingerprint.len(),
            64,
            "a blake3 hex from the build script: {stdout}"
        );
        fingerprint
    }
}

/// Whether the `-v` build output shows this project's build script running:
/// a ``Running `<target>/debug/build/cb-project-<hash>/build-script-build` ``
/// line.
fn build_script_ran(stderr: &str) -> bool {
    stderr.lines().any(|l| {
        l.trim_start()
            .strip_prefix("Running `")
            .and_then(|command| command.split('`').next())
            .is_some_and(|program| {
                let program = Path::new(program);
                program
                    .file_stem()
                    .is_some_and(|s| s == "build-script-build")
                    && program
                        .parent()
                        .and_then(Path::file_name)
                        .is_some_and(|folder| {
                            folder.to_string_lossy().starts_with(&format!("{PROJECT}-"))
                        })
            })
    })
}

#[test]
fn a_generated_project_reruns_its_build_script_only_when_sources_change() {
    match Command::new(cargo()).arg("--version").output() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: `{}` is not on PATH ({error})", cargo().display());
            return;
        }
        Err(error) => panic!("cannot run {}: {error}", cargo().display()),
        Ok(_) => {}
    }
    let scratch = Scratch::new("cargo-project");
    let project = Project {
        root: scratch.path.join(PROJECT),
        target: workspace_root()
            .join("target")
            .join("cache-build-project-test"),
    };
    generate(&project.root);

    // First build: the build script runs.
    let first = project.build();
    assert!(
        build_script_ran(&first),
        "the first build runs the build script:\n{first}"
    );
    let fingerprint = project.fingerprint();
    let stdout = project.run();
    assert!(stdout.contains("linked-ok=false"), "{stdout}");
    assert!(stdout.contains("`dropped-reports` declared at"), "{stdout}");
    assert!(stdout.contains("in crate `cb_dropped`"), "{stdout}");
    assert!(
        stdout.contains("use cb_dropped as _;"),
        "the fix is spelled out:\n{stdout}"
    );
    assert!(
        !stdout.contains("project-models"),
        "the project's own regions are linked:\n{stdout}"
    );
    assert!(
        !stdout.contains("project-sessions"),
        "the project's own regions are linked:\n{stdout}"
    );

    // Nothing changed: the build script is fresh.
    let second = project.build();
    assert!(
        !build_script_ran(&second),
        "an unchanged project does not rerun the build script:\n{second}"
    );
    assert_eq!(project.fingerprint(), fingerprint);

    // An edited source file: rerun, new fingerprint.
    let models = project.root.join("src/models.rs");
    let source = fs::read_to_string(&models).expect("read models.rs");
    write(
        &models,
        &source.replace("pub tokens: u32,", "pub tokens: u64,"),
    );
    let edited = project.build();
    assert!(
        build_script_ran(&edited),
        "an edit reruns the build script:\n{edited}"
    );
    let edited_fingerprint = project.fingerprint();
    assert_ne!(
        edited_fingerprint, fingerprint,
        "the binary sees the new fingerprint"
    );

    // A new file no module names yet: the folder is watched, so the build
    // script reruns and the fingerprint covers the file.
    write(
        &project.root.join("src/draft.rs"),
        "//! Not wired in yet.\npub struct Draft;\n",
    );
    let added = project.build();
    assert!(
        build_script_ran(&added),
        "a new file in src/ reruns the build script:\n{added}"
    );
    let added_fingerprint = project.fingerprint();
    assert_ne!(added_fingerprint, edited_fingerprint);

    // And fresh again.
    let last = project.build();
    assert!(!build_script_ran(&last), "{last}");
    assert_eq!(project.fingerprint(), added_fingerprint);

    // The generated crates' artifacts are keyed by this run's temp path:
    // drop them so the persistent target folder keeps only what reruns reuse.
    let _ = project
        .command(&["clean", "--offline", "-p", PROJECT, "-p", "cb-dropped"])
        .output();
}
