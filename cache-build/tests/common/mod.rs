//! Helpers shared by the integration tests: scratch folders that clean up
//! after themselves, a small fake package written to disk, and a builder
//! configured to run outside a build script.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use cache_build::{Builder, FORCE_RESCAN_ENV, Report};

/// A folder under the system temp dir, unique to this process and call,
/// removed on drop.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
}

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "cache-build-test-{name}-{}-{unique}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the scratch folder");
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `SystemTime::now()` shifted by `seconds` (negative: the past).
pub(crate) fn now_plus(seconds: i64) -> SystemTime {
    let now = SystemTime::now();
    let shift = Duration::from_secs(seconds.unsigned_abs());
    if seconds < 0 {
        now - shift
    } else {
        now + shift
    }
}

/// Sets a file's modification time.
pub(crate) fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .unwrap_or_else(|e| panic!("set the mtime of {}: {e}", path.display()));
}

/// Writes `content` to `path` (creating folders) and moves its mtime
/// `age_seconds` into the past, out of the scanner's 2 s "racy" window, so
/// an unchanged rerun does not have to re-hash it.
pub(crate) fn write_aged(path: &Path, content: &str, age_seconds: i64) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create folders");
    }
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    set_mtime(path, now_plus(-age_seconds));
}

/// The 1-based line of the first line of `text` containing `needle`.
pub(crate) fn line_of(text: &str, needle: &str) -> u32 {
    let index = text
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    u32::try_from(index + 1).expect("small file")
}

pub(crate) const PACKAGE: &str = "fake-app";
pub(crate) const CRATE: &str = "fake_app";

pub(crate) const CARGO_TOML: &str = r#"[package]
name = "fake-app"
version = "0.1.0"
edition = "2024"
publish = false

# Its own workspace, whatever folder the temp dir sits in.
[workspace]
"#;

pub(crate) const LIB_RS: &str = r#"//! A fake package for cache-build's tests.

pub mod models;
pub mod store;

/// Session blobs.
#[cache_region(name = "sessions", key = String, value = Vec<u8>, ttl = "15m")]
pub struct Sessions;

pub mod inline {
    #[cache_runtime::custom_cache_region(name = "inline-quotas", key = u64, value = u64, backend = "kv")]
    pub struct InlineQuotas;
}
"#;

pub(crate) const MODELS_RS: &str = r#"//! Model metadata.

pub mod nested;

/// What a model can do.
pub struct ModelInfo {
    pub tokens: u32,
    pub family: Family,
}

pub enum Family {
    Small,
    Large,
}

#[cache_region(name = "model-metadata", key = String, value = ModelInfo)]
pub struct ModelMetadata;
"#;

pub(crate) const NESTED_RS: &str = r#"//! Quotas, two modules down.

pub struct Quota {
    pub limit: u64,
}

#[cache_region(name = "tenant-quotas", key = u64, value = Quota)]
pub struct TenantQuotas;
"#;

pub(crate) const STORE_MOD_RS: &str = "//! Storage.\n\nmod disk;\n";

pub(crate) const DISK_RS: &str = r#"//! Disk defaults.

#[cache_config_provider(priority = 3)]
fn disk_defaults() -> ConfigLayer {
    ConfigLayer::new()
}
"#;

/// The package's `.rs` files and their initial contents.
pub(crate) const SOURCES: [(&str, &str); 5] = [
    ("src/lib.rs", LIB_RS),
    ("src/models.rs", MODELS_RS),
    ("src/models/nested.rs", NESTED_RS),
    ("src/store/mod.rs", STORE_MOD_RS),
    ("src/store/disk.rs", DISK_RS),
];

/// A fake package on disk (`<scratch>/pkg`) with its own `OUT_DIR`
/// (`<scratch>/out`).
pub(crate) struct FakePackage {
    pub(crate) scratch: Scratch,
    pub(crate) root: PathBuf,
    pub(crate) out_dir: PathBuf,
}

impl FakePackage {
    /// Writes the package with every file's mtime 10 s in the past.
    pub(crate) fn new(name: &str) -> FakePackage {
        let scratch = Scratch::new(name);
        let root = scratch.path.join("pkg");
        let out_dir = scratch.path.join("out");
        fs::create_dir_all(&out_dir).expect("create OUT_DIR");
        write_aged(&root.join("Cargo.toml"), CARGO_TOML, 10);
        for (path, content) in SOURCES {
            write_aged(&root.join(path), content, 10);
        }
        FakePackage {
            scratch,
            root,
            out_dir,
        }
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative)).expect("read a package file")
    }

    /// Replaces a file's content, its mtime `age_seconds` in the past.
    pub(crate) fn write(&self, relative: &str, content: &str, age_seconds: i64) {
        write_aged(&self.path(relative), content, age_seconds);
    }

    pub(crate) fn cache_path(&self) -> PathBuf {
        self.out_dir.join("cache-build").join("registry-cache.json")
    }

    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.out_dir.join("cache-build").join("manifest.json")
    }

    /// A builder set up as Cargo would run it for this package, with the
    /// cargo that built the tests for `cargo metadata`, and the force-rescan
    /// variable neutralised whatever the caller's environment says.
    pub(crate) fn builder(&self) -> Builder {
        Builder::new()
            .env("CARGO_MANIFEST_DIR", self.root.display().to_string())
            .env("OUT_DIR", self.out_dir.display().to_string())
            .env("CARGO_PKG_NAME", PACKAGE)
            .env("CARGO_PKG_VERSION", "0.1.0")
            .env("CARGO", env!("CARGO"))
            .env(FORCE_RESCAN_ENV, "")
    }

    /// Runs `builder`, returning the report and the emitted lines.
    pub(crate) fn run_with(&self, builder: Builder) -> (Report, Vec<String>) {
        let mut out = Vec::new();
        let report = builder
            .emit_to(&mut out)
            .unwrap_or_else(|e| panic!("cache-build failed: {e}"));
        let text = String::from_utf8(out).expect("UTF-8 output");
        (report, text.lines().map(str::to_owned).collect())
    }

    /// Runs the default builder.
    pub(crate) fn run(&self) -> Report {
        self.run_with(self.builder()).0
    }
}

/// A path that is not a cargo binary: `cargo metadata` cannot run, so the
/// builder falls back to guessing the targets (fast, no child process).
pub(crate) const NO_CARGO: &str = "/nonexistent/cache-build-test/cargo";
