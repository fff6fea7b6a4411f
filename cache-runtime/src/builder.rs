//! Descriptors for regions registered by hand, for code that cannot use the
//! attributes (regions named in a config file, plugins, tests).

use std::borrow::Cow;
use std::panic::Location;
use std::time::Duration;

use cache_spec::{
    Compression, Conflict, Eviction, NameError, Preset, RegionOptions, RegionSettings, Tier,
    name_hash, validate_name,
};

use crate::descriptor::{BuiltText, RegionDescriptor, RegionText};
use crate::policy::{CachePolicy, PolicyInfo};
use crate::site::DeclarationSite;

/// Why a hand-registered region was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// The name is not lowercase kebab-case.
    #[error("region registered at {site}: {source}")]
    InvalidName {
        /// Where the region was registered.
        site: DeclarationSite,
        /// What is wrong with the name.
        source: NameError,
    },
    /// The options contradict each other.
    #[error("region `{name}` registered at {site}: {conflict}")]
    Conflict {
        /// The region.
        name: String,
        /// Where the region was registered.
        site: DeclarationSite,
        /// The contradiction.
        conflict: Conflict,
    },
    /// A zero size limit.
    #[error("region `{name}` registered at {site}: `{field}` must be greater than zero")]
    ZeroLimit {
        /// The region.
        name: String,
        /// Where the region was registered.
        site: DeclarationSite,
        /// `max_entries` or `max_bytes`.
        field: &'static str,
    },
    /// Both `max_entries` and `max_bytes`.
    #[error("region `{name}` registered at {site}: {}", cache_spec::TWO_LIMITS)]
    TwoLimits {
        /// The region.
        name: String,
        /// Where the region was registered.
        site: DeclarationSite,
    },
}

/// Builds a [`RegionDescriptor`] by hand, with the same options and checks
/// as `#[cache_region]`; the declaration site is where
/// [`RegionDescriptor::builder`] was called.
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::{RegionDescriptor, config::Tier};
///
/// let region = RegionDescriptor::builder("session-tokens")
///     .key::<String>()
///     .value::<Vec<u8>>()
///     .ttl(Duration::from_secs(900))
///     .max_entries(50_000)
///     .tier(Tier::Memory)
///     .build()?;
/// assert_eq!(region.settings().ttl, Some(Duration::from_secs(900)));
/// # Ok::<(), cache_runtime::registry::RegionError>(())
/// ```
#[must_use]
#[derive(Clone, Debug)]
pub struct RegionBuilder {
    name: Cow<'static, str>,
    key_type: Option<&'static str>,
    value_type: Option<&'static str>,
    description: Cow<'static, str>,
    preset: Option<Preset>,
    options: RegionOptions,
    policy: Option<PolicyInfo>,
    backend: Option<Cow<'static, str>>,
    site: DeclarationSite,
}

impl RegionDescriptor {
    /// Starts a hand-registered region called `name`.
    #[track_caller]
    pub fn builder(name: impl Into<Cow<'static, str>>) -> RegionBuilder {
        RegionBuilder {
            name: name.into(),
            key_type: None,
            value_type: None,
            description: Cow::Borrowed(""),
            preset: None,
            options: RegionOptions::EMPTY,
            policy: None,
            backend: None,
            site: DeclarationSite::from_location(Location::caller()),
        }
    }
}

impl RegionBuilder {
    /// Records `K` as the key type (spelled without module paths, as a
    /// declaration would: `Vec<String>`).
    pub fn key<K: ?Sized>(mut self) -> Self {
        self.key_type = Some(short_type_name::<K>());
        self
    }

    /// Records `V` as the value type (spelled without module paths).
    pub fn value<V: ?Sized>(mut self) -> Self {
        self.value_type = Some(short_type_name::<V>());
        self
    }

    /// What the region holds.
    pub fn description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = description.into();
        self
    }

    /// Starts from a preset; options set here override it.
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = Some(preset);
        self
    }

    /// Lays `options` over the ones set so far.
    pub fn options(mut self, options: RegionOptions) -> Self {
        self.options = self.options.overlay(&options);
        self
    }

    /// Time to live after insert.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.options.ttl = Some(ttl);
        self
    }

    /// Time to idle.
    pub fn tti(mut self, tti: Duration) -> Self {
        self.options.tti = Some(tti);
        self
    }

    /// Time to live in the memory level of a [`Tier::Hybrid`] region; `ttl`
    /// stays the time to live in the second level. The memory level keeps
    /// entries for `min(memory_ttl, ttl)`, so a longer `memory_ttl` is
    /// capped, not rejected; on any other tier [`build`](Self::build) fails
    /// with [`Conflict::MemoryTtlWithoutHybrid`].
    pub fn memory_ttl(mut self, memory_ttl: Duration) -> Self {
        self.options.memory_ttl = Some(memory_ttl);
        self
    }

    /// Limits the region to `max` entries.
    pub fn max_entries(mut self, max: u64) -> Self {
        self.options.max_entries = Some(max);
        self
    }

    /// Limits the region to `max` bytes.
    pub fn max_bytes(mut self, max: u64) -> Self {
        self.options.max_bytes = Some(max);
        self
    }

    /// The memory tier's eviction policy.
    pub fn eviction(mut self, eviction: Eviction) -> Self {
        self.options.eviction = Some(eviction);
        self
    }

    /// The storage tier.
    pub fn tier(mut self, tier: Tier) -> Self {
        self.options.tier = Some(tier);
        self
    }

    /// Marks entries sensitive (or not).
    pub fn sensitive(mut self, sensitive: bool) -> Self {
        self.options.sensitive = Some(sensitive);
        self
    }

    /// Compression of persisted values.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.options.compression = Some(compression);
        self
    }

    /// Schema version of persisted values.
    pub fn version(mut self, version: u32) -> Self {
        self.options.version = Some(version);
        self
    }

    /// A custom policy, built with `P::default()`.
    pub fn policy<P, K, V>(mut self) -> Self
    where
        P: CachePolicy<K, V> + Default,
        K: 'static,
        V: 'static,
    {
        self.policy = Some(PolicyInfo::of::<P, K, V>(std::any::type_name::<P>()));
        self
    }

    /// A storage backend registered by name on the manager's builder
    /// ([`CacheManagerBuilder::backend`](crate::CacheManagerBuilder::backend)):
    /// the region's entries live there (tier `backend`), unless a tier is
    /// set (`hybrid` puts a memory level in front of it).
    pub fn backend(mut self, backend: impl Into<Cow<'static, str>>) -> Self {
        let backend = backend.into();
        self.options.backend = Some(Some(crate::config::intern(&backend)));
        self.backend = Some(backend);
        self
    }

    /// Checks the region the way `#[cache_region]` does at compile time.
    ///
    /// # Errors
    ///
    /// A [`RegionError`] for a name that is not kebab-case, a zero or double
    /// size limit, or contradictory options.
    pub fn build(self) -> Result<RegionDescriptor, RegionError> {
        let site = self.site;
        validate_name(&self.name).map_err(|source| RegionError::InvalidName { site, source })?;
        if let Some(backend) = &self.backend {
            validate_name(backend).map_err(|source| RegionError::InvalidName { site, source })?;
        }
        let name = self.name.to_string();
        for (field, value) in [
            ("max_entries", self.options.max_entries),
            ("max_bytes", self.options.max_bytes),
        ] {
            if value == Some(0) {
                return Err(RegionError::ZeroLimit { name, site, field });
            }
        }
        if self.options.sets_both_limits() {
            return Err(RegionError::TwoLimits { name, site });
        }
        let settings = RegionSettings::resolve(self.preset, &self.options);
        if let Some(conflict) = settings.conflicts().into_iter().next() {
            return Err(RegionError::Conflict {
                name,
                site,
                conflict,
            });
        }
        Ok(RegionDescriptor {
            name_hash: name_hash(&self.name),
            text: RegionText::Built(Box::new(BuiltText {
                name: self.name,
                key_type: self.key_type,
                value_type: self.value_type,
                description: self.description,
                site,
            })),
            preset: self.preset,
            options: self.options,
            policy: self.policy,
            backend: self.backend,
            schema: None,
            kit: None,
        })
    }
}

/// `std::any::type_name` without module paths: `alloc::vec::Vec<alloc::string::String>`
/// becomes `Vec<String>`. Computed once per type and kept for the program's
/// lifetime, like the declared spellings.
fn short_type_name<T: ?Sized>() -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let full = std::any::type_name::<T>();
    let names = NAMES.get_or_init(Default::default);
    let mut names = names
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    names
        .entry(full)
        .or_insert_with(|| Box::leak(strip_paths(full).into_boxed_str()))
}

fn strip_paths(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word_start = 0;
    let mut rest = full;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("::") {
            out.truncate(word_start);
            rest = &rest[2..];
            continue;
        }
        if !(c.is_alphanumeric() || c == '_') {
            word_start = out.len() + c.len_utf8();
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(
            strip_paths("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(
            strip_paths("std::collections::hash::map::HashMap<u64, (i32, &str)>"),
            "HashMap<u64, (i32, &str)>"
        );
        assert_eq!(short_type_name::<Vec<String>>(), "Vec<String>");
        assert_eq!(short_type_name::<[u8]>(), "[u8]");
    }

    #[test]
    fn records_the_call_site() {
        let line = line!() + 1;
        let region = RegionDescriptor::builder("hand-made")
            .build()
            .expect("valid");
        assert_eq!(region.site().line(), line);
        assert!(region.site().file().ends_with("builder.rs"));
        assert_eq!(region.settings(), RegionSettings::DEFAULT);
    }

    #[test]
    fn rejects_what_the_attribute_rejects() {
        let bad_name = RegionDescriptor::builder("Hand_Made").build();
        assert!(matches!(bad_name, Err(RegionError::InvalidName { .. })));
        let zero = RegionDescriptor::builder("a").max_entries(0).build();
        assert!(matches!(
            zero,
            Err(RegionError::ZeroLimit {
                field: "max_entries",
                ..
            })
        ));
        let both = RegionDescriptor::builder("a")
            .max_entries(1)
            .max_bytes(1)
            .build();
        assert!(matches!(both, Err(RegionError::TwoLimits { .. })));
        let persisted = RegionDescriptor::builder("a")
            .preset(Preset::SecurityCritical)
            .tier(Tier::Disk)
            .build();
        let message = persisted.expect_err("sensitive on disk").to_string();
        assert!(message.contains("must stay in memory"), "{message}");
        let memory_ttl = RegionDescriptor::builder("a")
            .memory_ttl(Duration::from_secs(60))
            .tier(Tier::Redis)
            .build();
        assert!(matches!(
            memory_ttl,
            Err(RegionError::Conflict {
                conflict: Conflict::MemoryTtlWithoutHybrid { tier: Tier::Redis },
                ..
            })
        ));
    }

    #[test]
    fn memory_ttl_on_a_hybrid_region() {
        let region = RegionDescriptor::builder("a")
            .tier(Tier::Hybrid)
            .ttl(Duration::from_secs(60))
            .memory_ttl(Duration::from_secs(600))
            .build()
            .expect("a memory_ttl longer than ttl is capped, not rejected");
        assert_eq!(region.settings().memory_ttl, Some(Duration::from_secs(600)));
        assert_eq!(
            region.settings().effective_memory_ttl(),
            Some(Duration::from_secs(60))
        );
        let default_tier = RegionDescriptor::builder("a")
            .memory_ttl(Duration::from_secs(60))
            .build()
            .expect_err("the default tier is memory")
            .to_string();
        assert!(
            default_tier.contains("memory_ttl only applies to tier = \"hybrid\""),
            "{default_tier}"
        );
        assert!(default_tier.contains("\"memory\""), "{default_tier}");
    }
}
