use cache_runtime::cache_region;

// A key type without serde on a tier that writes keys to Redis.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantId(pub u64);

#[cache_region(name = "tenants", key = TenantId, value = String, tier = "redis", ttl = "1h")]
pub struct Tenants;

fn main() {}
