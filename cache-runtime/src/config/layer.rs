//! Configuration layers: the per-region options one source sets.

use std::collections::BTreeMap;

use cache_spec::RegionOptions;

/// The options one configuration source sets for some regions: a config
/// provider, the config file, the environment or a run-time change. Layers
/// are applied lowest first (attribute defaults < providers by priority <
/// file < environment < run-time changes); a field a layer leaves unset keeps
/// the value of the layers below.
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::{ConfigLayer, config::RegionOptions};
///
/// let layer = ConfigLayer::new().region(
///     "tenant-quotas",
///     RegionOptions { ttl: Some(Duration::from_secs(30)), ..RegionOptions::EMPTY },
/// );
/// assert_eq!(layer.get("tenant-quotas").and_then(|o| o.ttl), Some(Duration::from_secs(30)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigLayer {
    regions: BTreeMap<String, RegionOptions>,
}

impl ConfigLayer {
    /// A layer that sets nothing.
    pub fn new() -> ConfigLayer {
        ConfigLayer::default()
    }

    /// This layer with `options` laid over what it already sets for `region`.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>, options: RegionOptions) -> ConfigLayer {
        self.set(region, options);
        self
    }

    /// Lays `options` over what this layer already sets for `region`.
    pub fn set(&mut self, region: impl Into<String>, options: RegionOptions) {
        let slot = self.regions.entry(region.into()).or_default();
        *slot = slot.overlay(&options);
    }

    /// What this layer sets for `region`.
    pub fn get(&self, region: &str) -> Option<&RegionOptions> {
        self.regions.get(region)
    }

    /// Every region this layer sets something for, by name.
    pub fn regions(&self) -> impl Iterator<Item = (&str, &RegionOptions)> {
        self.regions
            .iter()
            .map(|(name, options)| (name.as_str(), options))
    }

    /// Whether the layer sets nothing.
    pub fn is_empty(&self) -> bool {
        self.regions.values().all(RegionOptions::is_empty)
    }

    /// This layer with `upper` laid over it, field by field.
    #[must_use]
    pub fn overlay(mut self, upper: &ConfigLayer) -> ConfigLayer {
        for (name, options) in upper.regions() {
            self.set(name, *options);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn upper_layers_win_field_by_field() {
        let lower = ConfigLayer::new().region(
            "a",
            RegionOptions {
                ttl: Some(Duration::from_secs(1)),
                max_entries: Some(5),
                ..RegionOptions::EMPTY
            },
        );
        let upper = ConfigLayer::new().region(
            "a",
            RegionOptions {
                ttl: Some(Duration::from_secs(2)),
                ..RegionOptions::EMPTY
            },
        );
        let merged = lower.overlay(&upper);
        let a = merged.get("a").expect("set");
        assert_eq!(a.ttl, Some(Duration::from_secs(2)));
        assert_eq!(a.max_entries, Some(5));
        assert!(!merged.is_empty());
        assert!(ConfigLayer::new().is_empty());
    }
}
