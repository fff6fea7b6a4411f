//! A program whose build script runs cache-build: it prints its source
//! fingerprint, then checks that every region declared in source (here and
//! in `audit-log`) is linked in.
//!
//! `cargo run -p linked-check` passes the check; `cargo run -p linked-check
//! --bin forgetful` shows the same program without the `use` line below,
//! and the check naming the dropped crate.

use std::process::ExitCode;

use cache_runtime::{build_fingerprint, cache_region, check_linked};

// Without this line the linker drops audit-log, and "audit-entries" with it.
use audit_log as _;

/// Sessions of this program.
#[cache_region(name = "sessions", key = String, value = u64, ttl = "30m")]
pub struct Sessions;

fn main() -> ExitCode {
    // Both macros expand here, in the program being checked.
    linked_check::print(build_fingerprint!(), &check_linked!())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_declared_region_is_linked() {
        let report = cache_runtime::check_linked!();
        assert!(report.is_ok(), "{report}");
    }
}
