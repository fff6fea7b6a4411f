use cache_runtime::{CachePolicy, custom_cache_region, registry, config::Tier};

#[custom_cache_region(name = "audit-log", key = u64, value = String, backend = "postgres-store",
                      compression = "lz4", description = "append-only audit entries")]
pub struct AuditLog;

#[derive(Default)]
pub struct Everything;

impl CachePolicy<u64, Vec<u8>> for Everything {}

#[custom_cache_region(name = "blobs", key = u64, value = Vec<u8>, policy = self::Everything, backend = "s3",
                      preset = "bulk")]
pub struct Blobs;

fn main() {
    let audit = registry().region::<AuditLog>().expect("linked");
    assert!(audit.is_custom());
    assert_eq!(audit.backend(), Some("postgres-store"));
    assert!(audit.policy().is_none());
    assert_eq!(audit.settings().tier, Tier::Backend);
    assert_eq!(audit.settings().backend, Some("postgres-store"));
    assert_eq!(audit.description(), "append-only audit entries");

    let blobs = registry().get("blobs").expect("linked");
    assert_eq!(blobs.backend(), Some("s3"));
    let info = blobs.policy().expect("a policy");
    assert_eq!(info.type_name(), "self::Everything");
    assert!(info.instantiate::<u64, Vec<u8>>().is_some());
    assert_eq!(blobs.settings().tier, Tier::Hybrid);
}
