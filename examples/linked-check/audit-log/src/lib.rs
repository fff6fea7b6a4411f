//! An audit-log library whose only contents a program uses are its cache
//! region and config provider: exactly the kind of crate the linker drops
//! when the program never names it.

use cache_runtime::{ConfigLayer, cache_config_provider, cache_region};

/// Recent audit entries by request id.
#[cache_region(name = "audit-entries", key = String, value = String, ttl = "10m", max_entries = 5_000)]
pub struct AuditEntries;

/// The audit log's own defaults.
#[cache_config_provider(priority = 1)]
fn audit_defaults() -> ConfigLayer {
    ConfigLayer::new()
}
