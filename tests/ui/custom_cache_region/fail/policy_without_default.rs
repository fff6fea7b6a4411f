use cache_runtime::{CachePolicy, custom_cache_region};

/// A policy with a required field.
pub struct Quota {
    pub limit: u64,
}

impl CachePolicy<String, u64> for Quota {}

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, policy = Quota)]
pub struct TenantQuotas;

fn main() {}
