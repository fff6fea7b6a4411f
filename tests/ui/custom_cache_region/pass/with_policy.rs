use std::time::Duration;

use cache_runtime::{CachePolicy, CacheRegion, custom_cache_region, registry};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub u32);

#[derive(Clone)]
pub struct Quota {
    pub remaining: u64,
}

/// Never caches an exhausted quota; keeps large ones longer.
#[derive(Default)]
pub struct QuotaPolicy;

impl CachePolicy<TenantId, Quota> for QuotaPolicy {
    fn admit(&self, _tenant: &TenantId, quota: &Quota) -> bool {
        quota.remaining > 0
    }

    fn expire_after(&self, _tenant: &TenantId, quota: &Quota) -> Option<Duration> {
        (quota.remaining > 1_000).then(|| Duration::from_secs(600))
    }
}

#[custom_cache_region(name = "tenant-quotas", key = TenantId, value = Quota, policy = QuotaPolicy, ttl = "1m")]
pub struct TenantQuotas;

fn main() {
    let region = registry().region::<TenantQuotas>().expect("linked");
    assert!(region.is_custom());
    assert_eq!(region.backend(), None);
    let info = region.policy().expect("a custom policy");
    assert_eq!(info.type_name(), "QuotaPolicy");
    let policy = info
        .instantiate::<TenantId, Quota>()
        .expect("the region's own key and value types");
    assert!(!policy.admit(&TenantId(1), &Quota { remaining: 0 }));
    assert!(policy.admit(&TenantId(1), &Quota { remaining: 5 }));
    assert_eq!(
        policy.expire_after(&TenantId(1), &Quota { remaining: 5_000 }),
        Some(Duration::from_secs(600))
    );
    assert_eq!(policy.weigh(&TenantId(1), &Quota { remaining: 5 }), None);
    assert!(info.instantiate::<String, Quota>().is_none());
    let _: Option<<TenantQuotas as CacheRegion>::Key> = Some(TenantId(7));
}
