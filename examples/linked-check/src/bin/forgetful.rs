//! The same program as `main.rs`, minus `use audit_log as _;`: the linker
//! drops audit-log, and `check_linked!()` says so and how to fix it.

use std::process::ExitCode;

use cache_runtime::{build_fingerprint, check_linked};

fn main() -> ExitCode {
    // Both macros expand here, in the program being checked.
    linked_check::print(build_fingerprint!(), &check_linked!())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dropped_crate_is_caught() {
        let report = cache_runtime::check_linked!();
        assert_eq!(report.dropped_crates(), ["audit_log"], "{report}");
        assert!(
            report.to_string().contains("use audit_log as _;"),
            "{report}"
        );
    }
}
