//! The fix for a dropped crate: `use that_crate as _;` makes the linker keep
//! it, and its regions appear. (`cross_crate.rs` shows the same crate absent
//! without this line.)

use cache_runtime::{check_linked, registry};

use fixture_dropped as _;

#[test]
fn use_as_underscore_links_the_crate() {
    let region = registry()
        .get("forgotten-reports")
        .expect("linked by `use fixture_dropped as _`");
    assert_eq!(region.site().crate_name(), Some("fixture_dropped"));
    assert_eq!(region.item(), Some("ForgottenReports"));
}

#[test]
fn check_linked_no_longer_reports_the_crate_once_it_is_named() {
    let report = check_linked!();
    assert!(
        !report.dropped_crates().contains(&"fixture_dropped"),
        "{report}"
    );
    assert!(
        report.dropped_crates().contains(&"fixture_auth"),
        "still not named here: {report}"
    );
}

#[test]
fn a_program_uses_the_library_regions_by_name() {
    let manager = cache_runtime::CacheManager::builder()
        .background_stats(false)
        .build()
        .expect("manager");
    // The program names no type of the library: the region's name and its
    // key and value types reach it.
    let reports = manager
        .region_named::<String, String>("forgotten-reports")
        .expect("linked by `use fixture_dropped as _`");
    reports.insert_blocking("q3".into(), "ready".into());
    assert_eq!(reports.get_blocking(&"q3".into()), Some("ready".into()));
    // Other types are refused with both sides named.
    let error = manager
        .region_named::<u64, String>("forgotten-reports")
        .expect_err("wrong key type")
        .to_string();
    assert!(error.contains("String") && error.contains("u64"), "{error}");
}
