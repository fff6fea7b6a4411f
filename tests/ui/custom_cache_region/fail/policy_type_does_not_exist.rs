use cache_runtime::custom_cache_region;

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, policy = QuotaPolicy)]
pub struct TenantQuotas;

fn main() {}
