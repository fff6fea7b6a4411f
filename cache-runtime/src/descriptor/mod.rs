//! What the registry knows about one region.

mod text;

use std::borrow::Cow;

use cache_spec::{Preset, RegionOptions, RegionSettings};

use crate::kit::RegionKit;
use crate::policy::PolicyInfo;
use crate::site::DeclarationSite;

pub use text::DeclaredText;
pub(crate) use text::{BuiltText, RegionText};

/// Everything declared about one region: its name, key and value types,
/// options, custom policy or backend, and where it was declared. The
/// attribute macros put one of these in a `'static` per region; regions
/// registered by hand get one from [`RegionDescriptor::builder`].
#[derive(Clone, Debug)]
pub struct RegionDescriptor {
    /// The name, item, types, description and site.
    pub(crate) text: RegionText,
    pub(crate) name_hash: u64,
    pub(crate) preset: Option<Preset>,
    pub(crate) options: RegionOptions,
    pub(crate) policy: Option<PolicyInfo>,
    pub(crate) backend: Option<Cow<'static, str>>,
    pub(crate) schema: Option<&'static str>,
    /// What the declaration's types support, for the manager (declared
    /// regions only).
    pub(crate) kit: Option<fn() -> RegionKit>,
}

/// The parts of a descriptor that the attribute macros write out.
#[doc(hidden)]
pub struct LinkedRegion {
    pub text: DeclaredText,
    pub name_hash: u64,
    pub preset: Option<Preset>,
    pub options: RegionOptions,
    pub policy: Option<PolicyInfo>,
    pub backend: Option<&'static str>,
    pub schema: Option<&'static str>,
}

impl RegionDescriptor {
    #[doc(hidden)]
    pub const fn __linked(parts: LinkedRegion) -> RegionDescriptor {
        RegionDescriptor {
            text: RegionText::Declared(parts.text),
            name_hash: parts.name_hash,
            preset: parts.preset,
            options: parts.options,
            policy: parts.policy,
            backend: match parts.backend {
                Some(backend) => Some(Cow::Borrowed(backend)),
                None => None,
            },
            schema: parts.schema,
            kit: None,
        }
    }

    #[doc(hidden)]
    pub const fn __with_kit(mut self, kit: fn() -> RegionKit) -> RegionDescriptor {
        self.kit = Some(kit);
        self
    }

    /// The function building this region's kit (how the manager opens its
    /// typed store), for declared regions.
    pub(crate) fn kit(&self) -> Option<fn() -> RegionKit> {
        self.kit
    }

    /// The region's name, unique in the program: lowercase kebab-case.
    pub fn name(&self) -> &str {
        self.text.name()
    }

    /// The marker type's name (`ModelMetadata`), for declared regions.
    pub fn item(&self) -> Option<&'static str> {
        self.text.item()
    }

    /// The key type as the declaration spells it.
    pub fn key_type(&self) -> Option<&'static str> {
        self.text.key_type()
    }

    /// The value type as the declaration spells it.
    pub fn value_type(&self) -> Option<&'static str> {
        self.text.value_type()
    }

    /// What the region holds, from `description = "..."`; empty if unset.
    pub fn description(&self) -> &str {
        self.text.description()
    }

    /// The preset the region starts from.
    pub fn preset(&self) -> Option<Preset> {
        self.preset
    }

    /// The options written in the declaration (not the preset's or the
    /// defaults').
    pub fn options(&self) -> &RegionOptions {
        &self.options
    }

    /// The effective settings: defaults, then the preset, then the options.
    /// Computed on each call (a few comparisons) rather than kept, so a
    /// declaration's descriptor holds only what it wrote (288 bytes, its
    /// strings packed; 512 when it kept its settings too).
    pub fn settings(&self) -> RegionSettings {
        RegionSettings::resolve(self.preset, &self.options)
    }

    /// Whether entries are sensitive: never browsable, logged or persisted.
    pub fn is_sensitive(&self) -> bool {
        self.settings().sensitive
    }

    /// The custom policy of a `#[custom_cache_region(policy = ...)]`.
    pub fn policy(&self) -> Option<&PolicyInfo> {
        self.policy.as_ref()
    }

    /// The storage backend of a `#[custom_cache_region(backend = "...")]`,
    /// registered by name at run time.
    pub fn backend(&self) -> Option<&str> {
        self.backend.as_deref()
    }

    /// Whether it was declared with `#[custom_cache_region]` (or registered
    /// with a policy or backend).
    pub fn is_custom(&self) -> bool {
        self.policy.is_some() || self.backend.is_some()
    }

    /// The schema fingerprint `cache-build` computed for this region: a
    /// hash of its name, key and value types (with the definitions the scan
    /// found), version and compression. Persisted entries written under
    /// another fingerprint are stale. `None` when the declaring package has
    /// no `cache-build` build script.
    pub fn schema_fingerprint(&self) -> Option<&'static str> {
        self.schema
    }

    /// Where it was declared.
    pub fn site(&self) -> DeclarationSite {
        self.text.site()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_descriptor_keeps_its_strings_in_one_packed_text() {
        // 376 bytes on 64-bit targets when each string was a field of its own.
        let size = size_of::<RegionDescriptor>();
        assert!(size <= 288, "a descriptor grew to {size} bytes");
    }
}
