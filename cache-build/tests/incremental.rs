//! The registry cache, seen from the public API on real files: a first run
//! reads and parses everything, an unchanged rerun reads nothing, a touch is
//! re-hashed but not re-parsed, edits, new, removed and renamed files are
//! noticed, and any version, age or corruption problem means a full scan
//! (never an error).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::time::Duration;

use cache_build::{CacheDiscarded, ScanStats};
use cache_spec::manifest::{BuildManifest, CrateKind};
use common::{
    CRATE, DISK_RS, FakePackage, LIB_RS, MODELS_RS, NESTED_RS, NO_CARGO, PACKAGE, SOURCES,
    now_plus, set_mtime,
};

/// (name, module path, file, line) of every region in the manifest.
fn regions(manifest: &BuildManifest) -> Vec<(String, String, String, u32)> {
    manifest
        .crates
        .iter()
        .flat_map(|c| &c.regions)
        .map(|r| {
            (
                r.name.clone(),
                r.module_path.clone(),
                r.file.clone(),
                r.line,
            )
        })
        .collect()
}

fn region_names(manifest: &BuildManifest) -> Vec<String> {
    manifest
        .crates
        .iter()
        .flat_map(|c| &c.regions)
        .map(|r| r.name.clone())
        .collect()
}

fn full_scan(files: usize) -> ScanStats {
    ScanStats {
        files,
        read: files,
        parsed: files,
        added: files,
        ..ScanStats::default()
    }
}

fn clean(files: usize) -> ScanStats {
    ScanStats {
        files,
        ..ScanStats::default()
    }
}

#[test]
fn first_run_reads_and_parses_everything_and_lists_regions_with_their_sites() {
    let package = FakePackage::new("first-run");
    let report = package.run();

    assert_eq!(report.discarded, Some(CacheDiscarded::Missing));
    assert_eq!(report.stats, full_scan(SOURCES.len()));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.fingerprint.len(), 64);

    let manifest = &report.manifest;
    assert_eq!(manifest.package, PACKAGE);
    assert_eq!(manifest.package_version, "0.1.0");
    assert_eq!(manifest.fingerprint, report.fingerprint);
    assert_eq!(manifest.crates.len(), 1, "{manifest:#?}");
    let krate = &manifest.crates[0];
    assert_eq!(
        (
            krate.crate_name.as_str(),
            krate.package.as_str(),
            krate.kind
        ),
        (CRATE, PACKAGE, CrateKind::Lib)
    );
    let site = |name: &str, module: &str, file: &str, text: &str, needle: &str| {
        (
            name.to_owned(),
            module.to_owned(),
            file.to_owned(),
            common::line_of(text, needle),
        )
    };
    assert_eq!(
        regions(manifest),
        [
            site(
                "inline-quotas",
                "fake_app::inline",
                "src/lib.rs",
                LIB_RS,
                "custom_cache_region("
            ),
            site(
                "model-metadata",
                "fake_app::models",
                "src/models.rs",
                MODELS_RS,
                "#[cache_region("
            ),
            site(
                "sessions",
                "fake_app",
                "src/lib.rs",
                LIB_RS,
                "#[cache_region("
            ),
            site(
                "tenant-quotas",
                "fake_app::models::nested",
                "src/models/nested.rs",
                NESTED_RS,
                "#[cache_region("
            ),
        ],
        "sorted by name, each with its module path, file and attribute line"
    );
    let attributes: Vec<(&str, &str, &str)> = krate
        .regions
        .iter()
        .map(|r| (r.name.as_str(), r.item.as_str(), r.attribute.as_str()))
        .collect();
    assert_eq!(
        attributes[0],
        ("inline-quotas", "InlineQuotas", "custom_cache_region")
    );
    assert_eq!(
        attributes[1],
        ("model-metadata", "ModelMetadata", "cache_region")
    );
    assert!(krate.regions.iter().all(|r| r.schema.len() == 64));

    assert_eq!(krate.providers.len(), 1);
    let provider = &krate.providers[0];
    assert_eq!(
        (
            provider.name.as_str(),
            provider.function.as_str(),
            provider.priority
        ),
        ("disk-defaults", "disk_defaults", 3)
    );
    assert_eq!(provider.module_path, "fake_app::store::disk");
    assert_eq!(provider.file, "src/store/disk.rs");
    assert_eq!(
        provider.line,
        common::line_of(DISK_RS, "#[cache_config_provider")
    );

    // Both files are where the documentation says, and the manifest on disk
    // is the one reported.
    assert_eq!(report.manifest_path, package.manifest_path());
    let on_disk = fs::read_to_string(package.manifest_path()).expect("manifest written");
    assert_eq!(
        &BuildManifest::from_json(&on_disk).expect("readable manifest"),
        manifest
    );
    assert!(package.cache_path().is_file(), "registry cache written");
}

#[test]
fn an_unchanged_rerun_reads_no_file() {
    let package = FakePackage::new("unchanged");
    let first = package.run();
    let second = package.run();
    assert_eq!(second.discarded, None);
    assert_eq!(
        second.stats,
        clean(SOURCES.len()),
        "stat only: nothing read, nothing parsed"
    );
    assert_eq!(second.fingerprint, first.fingerprint);
    assert_eq!(second.manifest, first.manifest);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
    let third = package.run();
    assert_eq!(third.stats, clean(SOURCES.len()));
}

#[test]
fn a_touched_file_is_rehashed_but_not_reparsed() {
    let package = FakePackage::new("touch");
    let first = package.run();
    set_mtime(&package.path("src/models.rs"), now_plus(-5));
    let touched = package.run();
    assert_eq!(touched.discarded, None);
    assert_eq!(
        touched.stats,
        ScanStats {
            files: SOURCES.len(),
            read: 1,
            touched: 1,
            ..ScanStats::default()
        }
    );
    assert_eq!(
        touched.fingerprint, first.fingerprint,
        "same bytes, same fingerprint"
    );
    assert_eq!(touched.manifest, first.manifest);
    // The new mtime is recorded: the next run reads nothing.
    assert_eq!(package.run().stats, clean(SOURCES.len()));
}

#[test]
fn a_file_modified_within_the_racy_window_is_rehashed_on_the_next_run() {
    let package = FakePackage::new("racy");
    // An mtime in the future is always within the window, however slow the
    // machine is between the write and the scan.
    set_mtime(&package.path("src/store/mod.rs"), now_plus(3600));
    package.run();
    let rerun = package.run();
    assert_eq!(
        (rerun.stats.read, rerun.stats.touched, rerun.stats.parsed),
        (1, 1, 0)
    );
    set_mtime(&package.path("src/store/mod.rs"), now_plus(-5));
    assert_eq!(package.run().stats.read, 1, "mtime changed");
    assert_eq!(
        package.run().stats,
        clean(SOURCES.len()),
        "old enough to trust"
    );
}

#[test]
fn an_edited_file_is_reparsed_and_the_manifest_follows() {
    let package = FakePackage::new("edit");
    let first = package.run();
    let edited = MODELS_RS
        .replace("name = \"model-metadata\"", "name = \"model-catalog\"")
        .replace("pub tokens: u32,", "pub tokens: u64,");
    package.write("src/models.rs", &edited, 5);
    let second = package.run();
    assert_eq!(second.discarded, None);
    assert_eq!(
        second.stats,
        ScanStats {
            files: SOURCES.len(),
            read: 1,
            parsed: 1,
            ..ScanStats::default()
        }
    );
    assert_ne!(second.fingerprint, first.fingerprint);
    assert_eq!(
        region_names(&second.manifest),
        [
            "inline-quotas",
            "model-catalog",
            "sessions",
            "tenant-quotas"
        ]
    );

    // Same size, different bytes, new mtime: still noticed (content is
    // identity, mtime only says what to look at).
    let same_size = edited.replace("Small,", "Smoll,");
    assert_eq!(same_size.len(), edited.len());
    package.write("src/models.rs", &same_size, 4);
    let third = package.run();
    assert_eq!((third.stats.read, third.stats.parsed), (1, 1));
    assert_ne!(third.fingerprint, second.fingerprint);
}

#[test]
fn added_removed_and_renamed_files_are_noticed() {
    let package = FakePackage::new("add-remove");
    let first = package.run();
    let files = SOURCES.len();

    // Added: a new module with a region.
    package.write("src/lib.rs", &format!("{LIB_RS}\npub mod extra;\n"), 5);
    package.write(
        "src/extra.rs",
        "#[cache_region(name = \"extra-blobs\", key = u32, value = String)]\npub struct ExtraBlobs;\n",
        5,
    );
    let added = package.run();
    assert_eq!(
        added.stats,
        ScanStats {
            files: files + 1,
            read: 2,
            parsed: 2,
            added: 1,
            ..ScanStats::default()
        }
    );
    assert_ne!(added.fingerprint, first.fingerprint);
    let extra = added
        .manifest
        .crates
        .iter()
        .flat_map(|c| &c.regions)
        .find(|r| r.name == "extra-blobs")
        .expect("the new region is in the manifest");
    assert_eq!(
        (extra.module_path.as_str(), extra.file.as_str(), extra.line),
        ("fake_app::extra", "src/extra.rs", 1)
    );

    // Removed: the nested module, file and `mod` line.
    fs::remove_file(package.path("src/models/nested.rs")).expect("remove");
    package.write(
        "src/models.rs",
        &MODELS_RS.replace("pub mod nested;\n", ""),
        5,
    );
    let removed = package.run();
    assert_eq!(
        removed.stats,
        ScanStats {
            files,
            read: 1,
            parsed: 1,
            removed: 1,
            ..ScanStats::default()
        }
    );
    assert_eq!(
        region_names(&removed.manifest),
        ["extra-blobs", "inline-quotas", "model-metadata", "sessions"]
    );

    // Renamed: same bytes under a new name (rename keeps the mtime).
    fs::rename(
        package.path("src/store/disk.rs"),
        package.path("src/store/local.rs"),
    )
    .expect("rename");
    package.write("src/store/mod.rs", "//! Storage.\n\nmod local;\n", 5);
    let renamed = package.run();
    assert_eq!(
        renamed.stats,
        ScanStats {
            files,
            read: 2,
            parsed: 2,
            added: 1,
            removed: 1,
            ..ScanStats::default()
        }
    );
    assert_ne!(
        renamed.fingerprint, removed.fingerprint,
        "paths are part of the fingerprint"
    );
    let provider = &renamed.manifest.crates[0].providers[0];
    assert_eq!(
        (provider.module_path.as_str(), provider.file.as_str()),
        ("fake_app::store::local", "src/store/local.rs")
    );
    assert_eq!(package.run().stats, clean(files));
}

#[test]
fn a_package_version_change_rebuilds_the_cache() {
    let package = FakePackage::new("pkg-version");
    let first = package.run();
    let bumped = package
        .run_with(package.builder().env("CARGO_PKG_VERSION", "0.2.0"))
        .0;
    assert_eq!(
        bumped.discarded,
        Some(CacheDiscarded::PackageVersion("0.1.0".into()))
    );
    assert_eq!(bumped.stats, full_scan(SOURCES.len()));
    assert!(
        bumped.warnings.is_empty(),
        "an old cache is expected, not worth a warning"
    );
    assert_eq!(bumped.manifest.package_version, "0.2.0");
    assert_eq!(bumped.fingerprint, first.fingerprint);
    let again = package
        .run_with(package.builder().env("CARGO_PKG_VERSION", "0.2.0"))
        .0;
    assert_eq!((again.discarded, again.stats), (None, clean(SOURCES.len())));
}

/// Rewrites one top-level field of the cache JSON.
fn edit_cache(package: &FakePackage, field: &str, value: serde_json::Value) {
    let bytes = fs::read(package.cache_path()).expect("cache written");
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).expect("the cache is JSON");
    assert!(
        json.get(field).is_some(),
        "the cache has a `{field}` field: {json}"
    );
    json[field] = value;
    fs::write(
        package.cache_path(),
        serde_json::to_vec(&json).expect("serialize"),
    )
    .expect("write cache");
}

#[test]
fn a_format_or_tool_version_change_rebuilds_the_cache() {
    let package = FakePackage::new("format");
    let first = package.run();

    edit_cache(&package, "format", 0.into());
    let report = package.run();
    assert_eq!(report.discarded, Some(CacheDiscarded::Format(0)));
    assert_eq!(report.stats, full_scan(SOURCES.len()));
    assert_eq!(report.fingerprint, first.fingerprint);
    assert_eq!(
        package.run().stats,
        clean(SOURCES.len()),
        "rewritten in the current format"
    );

    edit_cache(&package, "tool_version", "0.0.0-older".into());
    let report = package.run();
    assert_eq!(
        report.discarded,
        Some(CacheDiscarded::ToolVersion("0.0.0-older".into()))
    );
    assert_eq!(report.stats, full_scan(SOURCES.len()));
    assert_eq!(package.run().stats, clean(SOURCES.len()));
}

#[test]
fn an_expired_cache_is_rebuilt() {
    let package = FakePackage::new("expired");
    package.run();

    // A tiny maximum age: the cache written a moment ago is already too old.
    std::thread::sleep(Duration::from_millis(20));
    let report = package
        .run_with(package.builder().max_age(Duration::from_millis(1)))
        .0;
    assert!(
        matches!(report.discarded, Some(CacheDiscarded::Expired(_))),
        "{:?}",
        report.discarded
    );
    assert_eq!(report.stats, full_scan(SOURCES.len()));

    // Created eight days ago, default maximum age of seven days.
    let eight_days_ago = now_plus(-8 * 86_400)
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    edit_cache(
        &package,
        "created_at_ms",
        u64::try_from(eight_days_ago).expect("fits").into(),
    );
    let report = package.run();
    match report.discarded {
        Some(CacheDiscarded::Expired(age)) => {
            assert!(age >= Duration::from_secs(8 * 86_400 - 60), "{age:?}")
        }
        other => panic!("expected Expired, got {other:?}"),
    }
    assert_eq!(report.stats, full_scan(SOURCES.len()));
    // The rebuilt cache starts its life now.
    assert_eq!(package.run().stats, clean(SOURCES.len()));
}

#[test]
fn force_rescan_variable_ignores_the_cache() {
    let package = FakePackage::new("force");
    package.run();
    let forced = package
        .run_with(package.builder().env(cache_build::FORCE_RESCAN_ENV, "1"))
        .0;
    assert_eq!(forced.discarded, Some(CacheDiscarded::Missing));
    assert_eq!(forced.stats.read, SOURCES.len());
    let zero = package
        .run_with(package.builder().env(cache_build::FORCE_RESCAN_ENV, "0"))
        .0;
    assert_eq!(
        (zero.discarded, zero.stats),
        (None, clean(SOURCES.len())),
        "`0` does not force"
    );
}

#[test]
fn truncated_garbage_or_unreadable_caches_mean_a_full_scan_and_a_warning() {
    let package = FakePackage::new("corrupt");
    let truth = package.run();
    let good = fs::read(package.cache_path()).expect("cache written");
    let format =
        serde_json::from_slice::<serde_json::Value>(&good).expect("JSON")["format"].clone();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated to half", good[..good.len() / 2].to_vec()),
        ("truncated by one byte", good[..good.len() - 1].to_vec()),
        (
            "garbage",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("not JSON", b"registry cache, version 1\n".to_vec()),
        (
            "JSON of another shape",
            format!("{{\"format\":{format},\"packages\":[1,2,3]}}").into_bytes(),
        ),
        (
            "deeply nested",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        fs::write(package.cache_path(), &bytes).expect("write cache");
        let (report, lines) = package.run_with(package.builder());
        assert!(
            matches!(report.discarded, Some(CacheDiscarded::Unreadable(_))),
            "{what}: {:?}",
            report.discarded
        );
        assert_eq!(report.stats, full_scan(SOURCES.len()), "{what}");
        assert_eq!(report.fingerprint, truth.fingerprint, "{what}");
        assert_eq!(report.manifest, truth.manifest, "{what}");
        assert_eq!(report.warnings.len(), 1, "{what}: {:?}", report.warnings);
        assert!(
            report.warnings[0].contains("unreadable"),
            "{what}: {:?}",
            report.warnings
        );
        let warning = format!("cargo::warning=cache-build: {}", report.warnings[0]);
        assert!(
            lines.contains(&warning),
            "{what}: the warning is emitted for Cargo: {lines:#?}"
        );
        // The cache was rewritten: the next run is clean.
        let next = package.run();
        assert_eq!(
            (next.discarded, next.stats),
            (None, clean(SOURCES.len())),
            "{what}"
        );
    }

    // A folder where the cache file should be: unreadable and unwritable,
    // two warnings, still no error.
    fs::remove_file(package.cache_path()).expect("remove cache");
    fs::create_dir_all(package.cache_path().join("in-the-way")).expect("create folder");
    let report = package.run();
    assert!(
        matches!(report.discarded, Some(CacheDiscarded::Unreadable(_))),
        "{:?}",
        report.discarded
    );
    assert_eq!(report.stats, full_scan(SOURCES.len()));
    assert_eq!(report.fingerprint, truth.fingerprint);
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(
        report.warnings[1].contains("cannot write the registry cache"),
        "{:?}",
        report.warnings
    );
}

#[test]
fn concurrent_builders_on_one_out_dir_leave_a_sound_cache() {
    let package = FakePackage::new("concurrent");
    // Without `cargo metadata` (one expected warning, no child processes):
    // the race is on OUT_DIR's files, not on Cargo.
    let builder = || package.builder().env("CARGO", NO_CARGO);
    let truth = package.run_with(builder()).0;
    assert_eq!(truth.warnings.len(), 1, "{:?}", truth.warnings);
    fs::remove_file(package.cache_path()).expect("remove cache");

    // Eight threads, three runs each: they write the cache and the manifest
    // over each other and read what the others just wrote.
    let fingerprints: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    (0..3)
                        .map(|_| {
                            let report = package.run_with(builder()).0;
                            // A torn cache would add an "unreadable" warning.
                            assert_eq!(report.warnings, truth.warnings);
                            assert_eq!(report.manifest, truth.manifest);
                            report.fingerprint
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        runs.into_iter()
            .flat_map(|run| run.join().expect("no builder panicked"))
            .collect()
    });
    assert!(
        fingerprints.iter().all(|f| *f == truth.fingerprint),
        "{fingerprints:?}"
    );

    let bytes = fs::read(package.cache_path()).expect("a cache survived");
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("the cache is whole JSON");
    assert!(
        json.get("format").is_some_and(serde_json::Value::is_u64),
        "{json}"
    );
    let leftovers: Vec<_> = fs::read_dir(package.out_dir.join("cache-build"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(cache_spec::persist::TEMP_PREFIX))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
    let manifest = fs::read_to_string(package.manifest_path()).expect("manifest");
    assert_eq!(
        BuildManifest::from_json(&manifest).expect("whole manifest"),
        truth.manifest
    );

    let rerun = package.run_with(builder()).0;
    assert_eq!((rerun.discarded, rerun.stats), (None, clean(SOURCES.len())));
    assert_eq!(rerun.fingerprint, truth.fingerprint);
}

#[test]
fn a_custom_cache_file_location_is_used() {
    let package = FakePackage::new("cache-file");
    let elsewhere = package.scratch.path.join("elsewhere").join("cache.json");
    let first = package.run_with(package.builder().cache_file(&elsewhere)).0;
    assert_eq!(first.discarded, Some(CacheDiscarded::Missing));
    assert!(elsewhere.is_file());
    assert!(
        !package.cache_path().exists(),
        "nothing in OUT_DIR's default place"
    );
    let second = package.run_with(package.builder().cache_file(&elsewhere)).0;
    assert_eq!(
        (second.discarded, second.stats),
        (None, clean(SOURCES.len()))
    );
}

#[test]
fn without_cargo_metadata_targets_are_guessed_with_a_warning() {
    let package = FakePackage::new("no-metadata");
    let with_metadata = package.run();
    let (report, lines) =
        package.run_with(package.builder().env("CARGO", NO_CARGO).dependencies(false));
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("cargo metadata"),
        "{:?}",
        report.warnings
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cargo::warning=cache-build: cannot run `cargo metadata`")),
        "{lines:#?}"
    );
    assert_eq!(
        report.manifest, with_metadata.manifest,
        "src/lib.rs guessed as the library"
    );
    assert_eq!(report.fingerprint, with_metadata.fingerprint);
    let names: BTreeSet<String> = region_names(&report.manifest).into_iter().collect();
    assert_eq!(names.len(), 4);
}

#[test]
fn an_unchanged_rerun_writes_nothing() {
    let package = FakePackage::new("no-writes");
    package.run();
    let cache_before = std::fs::read(package.cache_path()).expect("cache written");
    let manifest_mtime = std::fs::metadata(package.manifest_path())
        .and_then(|m| m.modified())
        .expect("manifest written");
    let second = package.run();
    assert_eq!(second.stats, clean(SOURCES.len()));
    assert_eq!(
        std::fs::read(package.cache_path()).expect("cache"),
        cache_before
    );
    let manifest_after = std::fs::metadata(package.manifest_path())
        .and_then(|m| m.modified())
        .expect("manifest");
    assert_eq!(
        manifest_after, manifest_mtime,
        "the manifest was reused, not rewritten"
    );
}

#[test]
fn a_deleted_or_edited_manifest_is_rebuilt_without_reading_sources() {
    let package = FakePackage::new("manifest-gone");
    let first = package.run();
    std::fs::remove_file(package.manifest_path()).expect("remove the manifest");
    let rebuilt = package.run();
    assert_eq!(
        rebuilt.stats,
        clean(SOURCES.len()),
        "declarations come from the cache"
    );
    assert_eq!(rebuilt.manifest, first.manifest);
    assert!(package.manifest_path().is_file());

    std::fs::write(package.manifest_path(), b"{\"format\":1}").expect("damage the manifest");
    let repaired = package.run();
    assert_eq!(repaired.manifest, first.manifest);
    assert_eq!(
        std::fs::read_to_string(package.manifest_path()).expect("manifest"),
        first.manifest.to_json()
    );
}

#[test]
fn a_lost_declarations_file_is_recovered_by_reading_the_sources() {
    let package = FakePackage::new("decls-gone");
    let first = package.run();
    let decls = package.cache_path().with_file_name("registry-decls.json");
    std::fs::write(&decls, b"garbage").expect("damage the declarations file");
    // Nothing changed: the manifest is reused and the damage does not matter.
    assert_eq!(package.run().stats, clean(SOURCES.len()));
    // An edit needs the declarations of every file: the unchanged ones are
    // read again, and the manifest is complete.
    let edited = MODELS_RS.replace("pub tokens: u32,", "pub tokens: u64,");
    package.write("src/models.rs", &edited, 5);
    let after = package.run();
    assert_eq!(after.stats.parsed, SOURCES.len(), "every file re-read once");
    assert_eq!(region_names(&after.manifest), region_names(&first.manifest));
    assert_eq!(
        package.run().stats,
        clean(SOURCES.len()),
        "and healthy again"
    );
}
