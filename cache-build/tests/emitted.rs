//! What the build helper tells Cargo (`cargo::` lines), what the package
//! fingerprint and the per-region schema fingerprints follow, the include
//! and exclude globs, and the errors it reports.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use cache_build::{BuildError, FORCE_RESCAN_ENV, Report, schema_env_var};
use common::{FakePackage, MODELS_RS, NESTED_RS, SOURCES, now_plus, set_mtime};

/// The values of `cargo::<directive>=` lines.
fn directives<'a>(lines: &'a [String], directive: &str) -> Vec<&'a str> {
    let prefix = format!("cargo::{directive}=");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// `rustc-env` lines as a map.
fn rustc_env(lines: &[String]) -> BTreeMap<String, String> {
    directives(lines, "rustc-env")
        .into_iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn schema_of(report: &Report, region: &str) -> String {
    report
        .manifest
        .crates
        .iter()
        .flat_map(|c| &c.regions)
        .find(|r| r.name == region)
        .unwrap_or_else(|| panic!("region {region} in the manifest"))
        .schema
        .clone()
}

#[test]
fn emits_fingerprint_manifest_schemas_and_exact_rerun_lines() {
    let package = FakePackage::new("lines");
    let (report, lines) = package.run_with(package.builder());
    assert!(lines.iter().all(|l| l.starts_with("cargo::")), "{lines:#?}");
    assert_eq!(
        lines.len(),
        lines.iter().collect::<BTreeSet<_>>().len(),
        "no line twice: {lines:#?}"
    );

    let env = rustc_env(&lines);
    assert_eq!(env["CACHE_BUILD_FINGERPRINT"], report.fingerprint);
    assert_eq!(
        env["CACHE_BUILD_MANIFEST"],
        package.manifest_path().display().to_string()
    );
    let schemas: BTreeMap<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with("CACHE_REGION_SCHEMA_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let expected: BTreeMap<String, String> = [
        "inline-quotas",
        "model-metadata",
        "sessions",
        "tenant-quotas",
    ]
    .into_iter()
    .map(|name| (schema_env_var(name), schema_of(&report, name)))
    .collect();
    assert_eq!(schemas, expected, "one schema variable per region");
    assert!(schemas.contains_key("CACHE_REGION_SCHEMA_MODEL_METADATA"));
    assert_eq!(env.len(), 2 + expected.len(), "nothing else: {env:#?}");

    // Every scanned file and every folder visited (so a new file reruns the
    // script), Cargo.toml, and the lock file when there is one.
    let watched: BTreeSet<&str> = directives(&lines, "rerun-if-changed").into_iter().collect();
    let mut expected: BTreeSet<String> = SOURCES
        .iter()
        .map(|(path, _)| package.path(path).display().to_string())
        .collect();
    for folder in ["src", "src/models", "src/store"] {
        expected.insert(package.path(folder).display().to_string());
    }
    expected.insert(package.path("Cargo.toml").display().to_string());
    if package.path("Cargo.lock").is_file() {
        expected.insert(package.path("Cargo.lock").display().to_string());
    }
    assert_eq!(
        watched,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );

    assert_eq!(
        directives(&lines, "rerun-if-env-changed"),
        [FORCE_RESCAN_ENV]
    );
    assert!(directives(&lines, "warning").is_empty(), "{lines:#?}");
}

#[test]
fn a_new_folder_is_watched_too() {
    let package = FakePackage::new("new-folder");
    package.run();
    package.write("src/models/deeper/mod.rs", "pub struct Deeper;\n", 5);
    let (_, lines) = package.run_with(package.builder());
    let watched = directives(&lines, "rerun-if-changed");
    for path in ["src/models/deeper", "src/models/deeper/mod.rs"] {
        let path = package.path(path).display().to_string();
        assert!(watched.contains(&path.as_str()), "{path} in {watched:#?}");
    }
}

#[test]
fn the_fingerprint_changes_exactly_when_content_changes() {
    let package = FakePackage::new("fingerprint");
    let original = package.run().fingerprint;

    set_mtime(&package.path("src/lib.rs"), now_plus(-3));
    set_mtime(&package.path("src/models.rs"), now_plus(-4));
    let touched = package.run();
    assert_eq!(touched.stats.touched, 2);
    assert_eq!(touched.fingerprint, original, "touching changes nothing");

    package.write("src/models.rs", &format!("{MODELS_RS}// a comment\n"), 5);
    let edited = package.run().fingerprint;
    assert_ne!(edited, original, "a comment is content");

    package.write("src/models.rs", MODELS_RS, 6);
    assert_eq!(
        package.run().fingerprint,
        original,
        "the same bytes again, the same fingerprint"
    );

    // The emitted variable follows.
    package.write("src/models.rs", &format!("{MODELS_RS}// a comment\n"), 5);
    let (report, lines) = package.run_with(package.builder());
    assert_eq!(report.fingerprint, edited);
    assert_eq!(rustc_env(&lines)["CACHE_BUILD_FINGERPRINT"], edited);
}

#[test]
fn a_region_schema_follows_its_value_type_and_only_its_own() {
    let package = FakePackage::new("schema");
    let before = package.run();

    // Two definitions away: ModelMetadata -> ModelInfo -> Family.
    package.write(
        "src/models.rs",
        &MODELS_RS.replace("Small,", "Small,\n    Medium,"),
        5,
    );
    let (after, lines) = package.run_with(package.builder());
    assert_ne!(
        schema_of(&after, "model-metadata"),
        schema_of(&before, "model-metadata")
    );
    assert_eq!(
        rustc_env(&lines)[&schema_env_var("model-metadata")],
        schema_of(&after, "model-metadata"),
        "the emitted variable follows"
    );
    for unrelated in ["sessions", "inline-quotas", "tenant-quotas"] {
        assert_eq!(
            schema_of(&after, unrelated),
            schema_of(&before, unrelated),
            "{unrelated}"
        );
    }

    // A type in another file.
    package.write(
        "src/models/nested.rs",
        &NESTED_RS.replace("pub limit: u64,", "pub limit: u64,\n    pub burst: u32,"),
        5,
    );
    let nested = package.run();
    assert_ne!(
        schema_of(&nested, "tenant-quotas"),
        schema_of(&after, "tenant-quotas")
    );
    assert_eq!(
        schema_of(&nested, "model-metadata"),
        schema_of(&after, "model-metadata")
    );

    // Documentation is not schema (but it is content).
    package.write(
        "src/models/nested.rs",
        &NESTED_RS.replace(
            "pub limit: u64,",
            "/// The limit.\n    pub limit: u64,\n    pub burst: u32,",
        ),
        5,
    );
    let documented = package.run();
    assert_eq!(
        schema_of(&documented, "tenant-quotas"),
        schema_of(&nested, "tenant-quotas")
    );
    assert_ne!(documented.fingerprint, nested.fingerprint);
}

#[test]
fn include_and_exclude_globs_are_honoured() {
    let package = FakePackage::new("globs");
    let names = |report: &Report| -> Vec<String> {
        let krate = &report.manifest.crates[0];
        krate
            .regions
            .iter()
            .map(|r| r.name.clone())
            .chain(krate.providers.iter().map(|p| p.name.clone()))
            .collect()
    };

    let (excluded, lines) = package.run_with(
        package
            .builder()
            .exclude("src/models/**")
            .exclude("src/store/disk.rs"),
    );
    assert_eq!(excluded.stats.files, SOURCES.len() - 2);
    assert_eq!(
        names(&excluded),
        ["inline-quotas", "model-metadata", "sessions"]
    );
    let watched = directives(&lines, "rerun-if-changed");
    for skipped in ["src/models/nested.rs", "src/store/disk.rs"] {
        let path = package.path(skipped).display().to_string();
        assert!(!watched.contains(&path.as_str()), "{path} is not watched");
    }
    // An edit to an excluded file changes nothing.
    package.write(
        "src/models/nested.rs",
        &format!("{NESTED_RS}// edited\n"),
        5,
    );
    let again = package
        .run_with(
            package
                .builder()
                .exclude("src/models/**")
                .exclude("src/store/disk.rs"),
        )
        .0;
    assert_eq!(again.fingerprint, excluded.fingerprint);
    assert_eq!(again.stats.read, 0);

    // `*` stays within one folder.
    let included = package.run_with(package.builder().include("src/*.rs")).0;
    assert_eq!(included.stats.files, 2, "src/lib.rs and src/models.rs");
    assert_eq!(
        names(&included),
        ["inline-quotas", "model-metadata", "sessions"]
    );

    let deep = package
        .run_with(
            package
                .builder()
                .include("src/**/*.rs")
                .exclude("src/store/**"),
        )
        .0;
    assert_eq!(deep.stats.files, 3);
    assert_eq!(
        names(&deep),
        [
            "inline-quotas",
            "model-metadata",
            "sessions",
            "tenant-quotas"
        ]
    );
}

#[test]
fn a_malformed_glob_is_a_pattern_error() {
    let package = FakePackage::new("bad-glob");
    for builder in [
        package.builder().include("src/[abc.rs"),
        package.builder().exclude("src/\\"),
    ] {
        let mut out = Vec::new();
        match builder.emit_to(&mut out) {
            Err(error @ BuildError::Pattern(_)) => {
                assert!(error.to_string().contains("pattern"), "{error}")
            }
            other => panic!("expected a pattern error, got {other:?}"),
        }
        assert!(out.is_empty(), "nothing emitted on error");
    }
}

#[test]
fn a_missing_out_dir_is_a_missing_env_error() {
    if std::env::var_os("OUT_DIR").is_some() {
        eprintln!("skipped: OUT_DIR is set in this process's environment, so it cannot be missing");
        return;
    }
    let package = FakePackage::new("no-out-dir");
    let builder = cache_build::Builder::new()
        .env("CARGO_MANIFEST_DIR", package.root.display().to_string())
        .env("CARGO_PKG_NAME", common::PACKAGE)
        .env("CARGO_PKG_VERSION", "0.1.0");
    let mut out = Vec::new();
    match builder.emit_to(&mut out) {
        Err(error @ BuildError::MissingEnv("OUT_DIR")) => {
            assert!(error.to_string().contains("build script"), "{error}");
        }
        other => panic!("expected MissingEnv(OUT_DIR), got {other:?}"),
    }
    assert!(out.is_empty());
}
