use std::time::Duration;

use cache_runtime::{CacheRegion, cache_region, registry, config::{Codec, Eviction, Preset, Tier}};

/// What the region holds: model ids. A hybrid region persists its values,
/// so they need serde (and every region's values need `Clone`).
pub type ModelInfo = Vec<String>;

#[cache_region(
    name = "model-metadata",
    key = String,
    value = ModelInfo,
    ttl = "1h30m",
    tti = "10m",
    memory_ttl = "5m",
    max_bytes = "64MiB",
    eviction = "lru",
    tier = "hybrid",
    preset = "bulk",
    compression = "lz4",
    compression_threshold = "2KiB",
    version = 2,
    enabled = true,
    fail_safe = "2m",
    description = "provider model lists",
    crate = ::cache_runtime,
)]
pub struct ModelMetadata;

#[cache_region(name = "virtual-keys", key = u64, value = Vec<u8>, max_entries = 500, sensitive, preset = "security-critical")]
pub struct VirtualKeys;

#[cache_region(name = "flags", key = &'static str, value = bool, sensitive = false, ttl = "250ms", enabled = false)]
pub struct Flags;

fn main() {
    let region = registry().region::<ModelMetadata>().expect("linked");
    assert_eq!(region.name(), "model-metadata");
    assert_eq!(region.item(), Some("ModelMetadata"));
    assert_eq!(region.key_type(), Some("String"));
    assert_eq!(region.value_type(), Some("ModelInfo"));
    assert_eq!(region.description(), "provider model lists");
    assert_eq!(region.preset(), Some(Preset::Bulk));
    let settings = region.settings();
    assert_eq!(settings.ttl, Some(Duration::from_secs(90 * 60)));
    assert_eq!(settings.tti, Some(Duration::from_secs(10 * 60)));
    assert_eq!(settings.memory_ttl, Some(Duration::from_secs(5 * 60)));
    assert_eq!(settings.effective_memory_ttl(), Some(Duration::from_secs(5 * 60)));
    assert_eq!(settings.max_bytes, Some(64 << 20));
    assert_eq!(settings.max_entries, None);
    assert_eq!(settings.eviction, Eviction::Lru);
    assert_eq!(settings.tier, Tier::Hybrid);
    assert_eq!(settings.compression.codec, Codec::Lz4);
    assert_eq!(settings.compression.threshold, 2048);
    assert_eq!(settings.version, 2);
    assert!(settings.enabled);
    assert_eq!(settings.fail_safe, Some(Duration::from_secs(120)));
    assert!(!region.is_custom());
    assert!(std::ptr::eq(region, ModelMetadata::DESCRIPTOR));
    let _typed: Option<(
        <ModelMetadata as CacheRegion>::Key,
        <ModelMetadata as CacheRegion>::Value,
    )> = None;

    let keys = VirtualKeys::DESCRIPTOR;
    assert!(keys.is_sensitive());
    assert_eq!(keys.settings().max_entries, Some(500));
    assert_eq!(keys.settings().tier, Tier::Memory);
    assert_eq!(keys.value_type(), Some("Vec<u8>"));

    let flags = registry().get("flags").expect("linked");
    assert!(!flags.is_sensitive());
    assert_eq!(flags.key_type(), Some("&'static str"));
    assert_eq!(flags.settings().ttl, Some(Duration::from_millis(250)));
    assert!(!flags.settings().enabled, "declared disabled");
    assert_eq!(flags.settings().fail_safe, None);

    assert_eq!(registry().len(), 3);
}
