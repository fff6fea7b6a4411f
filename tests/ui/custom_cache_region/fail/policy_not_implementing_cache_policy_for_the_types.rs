use cache_runtime::{CachePolicy, custom_cache_region};

/// Admits only non-empty values.
#[derive(Default)]
pub struct NonEmpty;

impl CachePolicy<String, String> for NonEmpty {
    fn admit(&self, _key: &String, value: &String) -> bool {
        !value.is_empty()
    }
}

#[custom_cache_region(name = "tenant-quotas", key = String, value = u64, policy = NonEmpty)]
pub struct TenantQuotas;

fn main() {}
