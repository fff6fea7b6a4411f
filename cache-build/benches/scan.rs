//! `cache-build` over a generated package of 10,000 source files (about
//! 3 KiB each, one in twenty declaring a region, 100 folders), with
//! `dependencies(false)`:
//!
//! - `cold_scan`: no usable registry cache (`CACHE_BUILD_FORCE_RESCAN=1`):
//!   every file read, hashed and parsed;
//! - `warm_rerun`: nothing changed since the last run: every file stat-ed,
//!   none read;
//! - `rerun_1pct_changed`: 100 files edited (new content, new mtime) before
//!   each run;
//! - `blake3_floor`: blake3 of the same files' bytes, already in memory, one
//!   hash per file: the floor a scan that reads everything cannot beat;
//!   `read_and_hash`: the same with `fs::read`;
//! - `cargo_metadata`: the `cargo metadata --offline` child process the
//!   builder starts even with `dependencies(false)` (to learn the package's
//!   targets). Each builder bench runs both with it (`cargo-metadata`) and
//!   without it (`no-metadata`: `CARGO` points nowhere, the builder falls
//!   back to Cargo's default layout), so its share is visible.
//!
//! `cargo bench -p cache-build --bench scan`; `scripts/bench-build.sh`
//! prints the ratios. No timing is asserted anywhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cache_build::{Builder, FORCE_RESCAN_ENV, Report};
use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};

const FOLDERS: usize = 100;
const FILES_PER_FOLDER: usize = 100;
const FILES: usize = FOLDERS * FILES_PER_FOLDER;
/// Files edited before each `rerun_1pct_changed` run.
const CHANGED: usize = FILES / 100;

/// The `CARGO` the builder runs for `cargo metadata`, per variant.
const METADATA: [&str; 2] = ["cargo-metadata", "no-metadata"];

struct Tree {
    /// Removed at exit.
    scratch: PathBuf,
    package: PathBuf,
    /// Every file the builder scans (leaves, `mod.rs` files, `lib.rs`).
    scanned: Vec<PathBuf>,
    /// The generated leaf files, in order.
    leaves: Vec<PathBuf>,
    bytes: u64,
}

static TREE: OnceLock<Tree> = OnceLock::new();

fn tree() -> &'static Tree {
    TREE.get_or_init(generate)
}

fn main() {
    divan::main();
    if let Some(tree) = TREE.get() {
        let _ = fs::remove_dir_all(&tree.scratch);
    }
}

/// A leaf file: a few KiB of ordinary Rust, one in twenty with a region.
fn leaf(index: usize) -> String {
    let mut text = format!(
        "//! Generated module {index}: records, a state machine and helpers.\n\n\
         use std::collections::BTreeMap;\n\n\
         /// A record of module {index}.\n\
         #[derive(Clone, Debug, Default, PartialEq)]\n\
         pub struct Record{index} {{\n\
         \x20   /// Identifier.\n\
         \x20   pub id: u64,\n\
         \x20   /// Display name.\n\
         \x20   pub name: String,\n\
         \x20   /// Tags and their weights.\n\
         \x20   pub tags: BTreeMap<String, f64>,\n\
         \x20   /// Optional parent.\n\
         \x20   pub parent: Option<u64>,\n\
         \x20   /// State.\n\
         \x20   pub state: State{index},\n\
         }}\n\n\
         /// Lifecycle of a record.\n\
         #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]\n\
         pub enum State{index} {{\n\
         \x20   #[default]\n\
         \x20   New,\n\
         \x20   Active {{ since: u64 }},\n\
         \x20   Suspended(u32),\n\
         \x20   Closed,\n\
         }}\n\n"
    );
    if index.is_multiple_of(20) {
        text.push_str(&format!(
            "/// Records of module {index}, cached.\n\
             #[cache_region(name = \"region-{index:05}\", key = u64, value = Record{index}, ttl = \"10m\")]\n\
             pub struct Region{index};\n\n"
        ));
    }
    text.push_str(&format!("impl Record{index} {{\n"));
    for method in 0..8 {
        text.push_str(&format!(
            "    /// Helper {method}: scores the record against a threshold.\n\
             \x20   pub fn score_{method}(&self, threshold: f64) -> Option<f64> {{\n\
             \x20       let total: f64 = self.tags.values().copied().filter(|w| *w > threshold).sum();\n\
             \x20       match self.state {{\n\
             \x20           State{index}::Active {{ since }} if since > {method} => Some(total * {method}.5),\n\
             \x20           State{index}::Suspended(n) => Some(total / f64::from(n.max(1))),\n\
             \x20           _ => None,\n\
             \x20       }}\n\
             \x20   }}\n\n"
        ));
    }
    text.push_str("}\n");
    text
}

fn write_old(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create folders");
    fs::write(path, content).expect("write a generated file");
    // Well outside the builder's 2 s "racy" window.
    set_mtime(path, SystemTime::now() - Duration::from_secs(60));
}

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .expect("set an mtime");
}

fn generate() -> Tree {
    let scratch =
        std::env::temp_dir().join(format!("cache-build-bench-scan-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let package = scratch.join("bench-app");
    write_old(
        &package.join("Cargo.toml"),
        "[package]\nname = \"bench-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    let mut scanned = Vec::new();
    let mut leaves = Vec::new();
    let mut lib = String::from("//! Generated package.\n\n");
    for folder in 0..FOLDERS {
        lib.push_str(&format!("pub mod m{folder:02};\n"));
        let mut module = String::new();
        for file in 0..FILES_PER_FOLDER {
            let index = folder * FILES_PER_FOLDER + file;
            module.push_str(&format!("pub mod f{index:05};\n"));
            let path = package.join(format!("src/m{folder:02}/f{index:05}.rs"));
            write_old(&path, &leaf(index));
            leaves.push(path);
        }
        let path = package.join(format!("src/m{folder:02}/mod.rs"));
        write_old(&path, &module);
        scanned.push(path);
    }
    write_old(&package.join("src/lib.rs"), &lib);
    scanned.push(package.join("src/lib.rs"));
    scanned.extend(leaves.iter().cloned());
    let bytes = scanned
        .iter()
        .map(|p| fs::metadata(p).expect("stat").len())
        .sum();
    eprintln!(
        "generated {} files ({} leaves, {FOLDERS} folders), {:.1} MiB, in {}",
        scanned.len(),
        leaves.len(),
        bytes as f64 / (1024.0 * 1024.0),
        package.display()
    );
    Tree {
        scratch,
        package,
        scanned,
        leaves,
        bytes,
    }
}

/// A builder for the generated package with its own `OUT_DIR`.
fn builder(out: &str, metadata: &str) -> Builder {
    let tree = tree();
    let cargo = match metadata {
        "cargo-metadata" => env!("CARGO").to_owned(),
        _ => "/nonexistent/cache-build-bench/cargo".to_owned(),
    };
    Builder::new()
        .dependencies(false)
        .env("CARGO_MANIFEST_DIR", tree.package.display().to_string())
        .env("OUT_DIR", tree.scratch.join(out).display().to_string())
        .env("CARGO_PKG_NAME", "bench-app")
        .env("CARGO_PKG_VERSION", "0.1.0")
        .env("CARGO", cargo)
        .env(FORCE_RESCAN_ENV, "")
}

fn run(builder: Builder) -> Report {
    builder
        .emit_to(&mut std::io::sink())
        .expect("cache-build runs")
}

/// A full scan: no usable cache.
#[divan::bench(args = METADATA, sample_count = 6, sample_size = 1)]
fn cold_scan(bencher: Bencher, metadata: &str) {
    let out = format!("out-cold-{metadata}");
    let report = run(builder(&out, metadata).env(FORCE_RESCAN_ENV, "1"));
    assert_eq!(
        (report.stats.read, report.stats.parsed),
        (tree().scanned.len(), tree().scanned.len())
    );
    assert_eq!(
        report
            .manifest
            .crates
            .iter()
            .map(|c| c.regions.len())
            .sum::<usize>(),
        FILES / 20
    );
    bencher
        .counter(BytesCount::new(tree().bytes))
        .bench(|| run(builder(&out, metadata).env(FORCE_RESCAN_ENV, "1")));
}

/// Nothing changed since the last run.
#[divan::bench(args = METADATA, sample_count = 20, sample_size = 1)]
fn warm_rerun(bencher: Bencher, metadata: &str) {
    let out = format!("out-warm-{metadata}");
    run(builder(&out, metadata));
    let report = run(builder(&out, metadata));
    assert_eq!(
        (report.discarded.as_ref(), report.stats.read),
        (None, 0),
        "{:?}",
        report.stats
    );
    bencher
        .counter(ItemsCount::new(tree().scanned.len()))
        .bench(|| run(builder(&out, metadata)));
}

/// 1% of the files edited before each run.
#[divan::bench(args = METADATA, sample_count = 10, sample_size = 1)]
fn rerun_1pct_changed(bencher: Bencher, metadata: &str) {
    static EDIT: AtomicU64 = AtomicU64::new(0);
    let out = format!("out-changed-{metadata}");
    let edit = || {
        let n = EDIT.fetch_add(1, Ordering::Relaxed);
        for (i, path) in tree().leaves.iter().step_by(FILES / CHANGED).enumerate() {
            let index = i * (FILES / CHANGED);
            let content = format!("{}// edit {n}\n", leaf(index));
            fs::write(path, content).expect("edit");
            // A new mtime, outside the racy window.
            set_mtime(path, SystemTime::now() - Duration::from_secs(10));
        }
    };
    run(builder(&out, metadata));
    edit();
    let report = run(builder(&out, metadata));
    assert_eq!(
        (report.stats.read, report.stats.parsed),
        (CHANGED, CHANGED),
        "{:?}",
        report.stats
    );
    bencher
        .with_inputs(edit)
        .bench_values(|()| run(builder(&out, metadata)));
}

/// blake3 of every scanned file, bytes already in memory.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn blake3_floor(bencher: Bencher) {
    let contents: Vec<Vec<u8>> = tree()
        .scanned
        .iter()
        .map(|p| fs::read(p).expect("read"))
        .collect();
    bencher.counter(BytesCount::new(tree().bytes)).bench(|| {
        contents
            .iter()
            .map(|c| blake3::hash(black_box(c)))
            .collect::<Vec<_>>()
    });
}

/// `fs::read` and blake3 of every scanned file.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn read_and_hash(bencher: Bencher) {
    bencher.counter(BytesCount::new(tree().bytes)).bench(|| {
        tree()
            .scanned
            .iter()
            .map(|p| blake3::hash(&fs::read(p).expect("read")))
            .collect::<Vec<_>>()
    });
}

/// The `cargo metadata` call the builder makes, alone.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn cargo_metadata(bencher: Bencher) {
    let manifest = tree().package.join("Cargo.toml");
    bencher.bench(|| {
        let output = Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--manifest-path",
            ])
            .arg(&manifest)
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout.len()
    });
}
