//! Two crates declaring the same region name: the registry refuses to build
//! and names both declarations.

use cache_runtime::{check_linked, registry, registry::RegistryProblem, try_registry};

use fixture_auth as _;
use fixture_clash as _;

#[test]
fn try_registry_names_both_declarations() {
    let error = try_registry().expect_err("virtual-keys is declared twice");
    assert_eq!(error.problems().len(), 1);
    let RegistryProblem::DuplicateRegion {
        name,
        first,
        second,
    } = &error.problems()[0]
    else {
        panic!("expected a duplicate region, got {error}");
    };
    assert_eq!(name, "virtual-keys");
    let mut crates = [first.crate_name(), second.crate_name()];
    crates.sort();
    assert_eq!(crates, [Some("fixture_auth"), Some("fixture_clash")]);
    let message = error.to_string();
    assert!(
        message.contains("fixture-auth/src/lib.rs:13 (crate `fixture_auth`)"),
        "{message}"
    );
    assert!(
        message.contains("fixture-clash/src/lib.rs:7 (crate `fixture_clash`)"),
        "{message}"
    );
    assert!(message.contains("rename one of them"), "{message}");
}

#[test]
fn registry_panics_with_the_same_message() {
    let expected = try_registry().expect_err("duplicate").to_string();
    let panic = std::panic::catch_unwind(|| {
        registry();
    })
    .expect_err("registry() panics on a duplicate");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert_eq!(message, expected);
}

#[test]
fn check_linked_reports_the_duplicate() {
    let report = check_linked!();
    assert!(!report.is_ok());
    assert_eq!(report.problems().len(), 1);
    assert!(
        report
            .to_string()
            .contains("`virtual-keys` is declared twice"),
        "{report}"
    );
}
