//! What both programs of this example print: the source fingerprint and the
//! link check's report.

use std::process::ExitCode;

use cache_runtime::registry::LinkReport;

/// Prints the fingerprint and `report`; fails when the check did.
pub fn print(fingerprint: Option<&str>, report: &LinkReport) -> ExitCode {
    println!(
        "source fingerprint: {}",
        fingerprint.unwrap_or("none (no cache-build)")
    );
    println!("{report}");
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
