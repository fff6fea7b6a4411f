//! Compile-pass and compile-fail cases of the attribute macros, one folder
//! per attribute and outcome. Pass cases are also run: their `main` checks
//! what the registry holds. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p cache-ui-tests`, then review them.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    for attribute in [
        "cache_region",
        "custom_cache_region",
        "cache_config_provider",
    ] {
        cases.pass(format!("{attribute}/pass/*.rs"));
        cases.compile_fail(format!("{attribute}/fail/*.rs"));
    }
}
