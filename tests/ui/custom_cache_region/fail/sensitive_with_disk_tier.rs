use cache_runtime::custom_cache_region;

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, backend = "postgres", sensitive = true, tier = "disk")]
pub struct TenantQuotas;

fn main() {}
