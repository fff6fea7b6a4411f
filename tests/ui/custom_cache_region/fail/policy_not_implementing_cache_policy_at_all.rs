use cache_runtime::custom_cache_region;

#[derive(Default)]
pub struct NotAPolicy;

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, policy = NotAPolicy)]
pub struct TenantQuotas;

fn main() {}
