use cache_runtime::{CacheRegion, cache_region, registry};

#[cache_region(name = "discovery-results", key = String, value = Vec<String>, ttl = "5m")]
pub enum DiscoveryResults {}

#[cache_region(name = "rate-limits", key = u64, value = u32, preset = "high-frequency")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimits {
    PerTenant,
    PerKey,
}

#[cache_region(name = "empty-braces", key = u8, value = u8)]
pub struct EmptyBraces {}

#[cache_region(name = "empty-parens", key = u8, value = u8)]
pub struct EmptyParens();

fn main() {
    let discovery = registry().region::<DiscoveryResults>().expect("linked");
    assert_eq!(discovery.name(), "discovery-results");
    assert_eq!(discovery.item(), Some("DiscoveryResults"));
    // The attribute leaves the item and its derives as written.
    assert_ne!(RateLimits::PerTenant, RateLimits::PerKey);
    assert_eq!(RateLimits::DESCRIPTOR.name(), "rate-limits");
    assert!(registry().region::<EmptyBraces>().is_some());
    assert!(registry().region::<EmptyParens>().is_some());
    assert_eq!(registry().len(), 4);
}
