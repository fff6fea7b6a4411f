//! The registry: every region and config provider the program declares,
//! collected by the linker and indexed on first use ([`registry()`]); the
//! descriptors and sites it holds, regions registered by hand
//! ([`RegionDescriptor::builder`], [`RegistryBuilder`]), and the build
//! manifest's check that every declared region is linked
//! ([`check_linked!`](crate::check_linked)).

mod error;
mod index;
pub(crate) mod slices;

use std::sync::OnceLock;

use cache_spec::name_hash;

pub use self::error::{RegistryError, RegistryProblem};
use self::index::NameIndex;
use self::slices::{CACHE_RUNTIME_0_1_PROVIDERS, CACHE_RUNTIME_0_1_REGIONS, RegionIndexEntry};
pub use crate::builder::{RegionBuilder, RegionError};
pub use crate::descriptor::RegionDescriptor;
pub use crate::link_check::{LinkReport, Missing};
pub use crate::policy::PolicyInfo;
pub use crate::provider::ProviderDescriptor;
use crate::region::CacheRegion;
pub use crate::site::DeclarationSite;
pub use cache_spec::manifest::{BuildManifest, ManifestError};

/// A region's position in a [`Registry`]: a dense index that the run-time
/// manager uses to reach per-region state without hashing a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(u32);

impl RegionId {
    /// The dense index, `0..registry.len()`.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at `index` (`0..registry.len()`), for code that walks a
    /// registry in index order.
    pub(crate) fn from_index(index: usize) -> RegionId {
        RegionId(u32::try_from(index).unwrap_or(u32::MAX))
    }
}

/// Every region and config provider of a program: the ones the linker
/// collected from `#[cache_region]`, `#[custom_cache_region]` and
/// `#[cache_config_provider]`, plus any registered by hand through
/// [`RegistryBuilder`].
///
/// Lookups: by type in constant time ([`Registry::region`]), by name through
/// a precomputed hash index ([`Registry::get`]), by [`RegionId`]. Iteration
/// is in name order.
pub struct Registry {
    linked: &'static [RegionIndexEntry],
    registered: Vec<RegionDescriptor>,
    index: NameIndex,
    by_name: OnceLock<Box<[u32]>>,
    providers: Vec<&'static ProviderDescriptor>,
}

static GLOBAL: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();

/// The program's link-time registry, built on first call from the regions
/// and providers the linker collected; nothing runs before `main` and no
/// code is scanned.
///
/// # Panics
///
/// When two regions (or two providers) share a name; the message names both
/// declarations. Use [`try_registry`] to handle that as an error.
pub fn registry() -> &'static Registry {
    match try_registry() {
        Ok(registry) => registry,
        Err(error) => panic!("{error}"),
    }
}

/// The program's link-time registry, or why it cannot be built.
///
/// # Errors
///
/// A [`RegistryError`] naming both declarations of every duplicated region
/// or provider name.
pub fn try_registry() -> Result<&'static Registry, RegistryError> {
    GLOBAL
        .get_or_init(|| RegistryBuilder::linked().build())
        .as_ref()
        .map_err(Clone::clone)
}

impl Registry {
    /// A builder for a registry of hand-registered regions, with or without
    /// the link-time ones.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::new()
    }

    /// The number of regions.
    pub fn len(&self) -> usize {
        self.linked.len() + self.registered.len()
    }

    /// Whether there is no region.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The region called `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&RegionDescriptor> {
        self.id(name).map(|id| self.descriptor(id))
    }

    /// The id of the region called `name`.
    #[inline]
    pub fn id(&self, name: &str) -> Option<RegionId> {
        self.index
            .find(name_hash(name), |id| self.slot(id).name() == name)
            .map(RegionId)
    }

    /// The descriptor of region `R`. For a region declared with an attribute
    /// this is constant time: the linker's entry is reached from the type and
    /// its position computed from its address in the linker's list.
    #[inline]
    pub fn region<R: CacheRegion>(&self) -> Option<&RegionDescriptor> {
        self.id_of::<R>().map(|id| self.descriptor(id))
    }

    /// The id of region `R` (see [`Registry::region`]).
    #[inline]
    pub fn id_of<R: CacheRegion>(&self) -> Option<RegionId> {
        match R::__LINKED.and_then(|entry| self.linked_id(entry)) {
            Some(id) => Some(RegionId(id)),
            // A hand-written impl, not in the linker's list.
            None => self.id(R::DESCRIPTOR.name()),
        }
    }

    /// The position of `entry` in the linker's list, from its address.
    #[inline]
    fn linked_id(&self, entry: &RegionIndexEntry) -> Option<u32> {
        let address = entry as *const RegionIndexEntry as usize;
        let start = self.linked.as_ptr() as usize;
        let size = std::mem::size_of::<RegionIndexEntry>();
        let offset = address.wrapping_sub(start);
        (offset < std::mem::size_of_val(self.linked) && offset.is_multiple_of(size))
            .then(|| (offset / size) as u32)
    }

    /// The descriptor of `id`.
    ///
    /// # Panics
    ///
    /// When `id` comes from another registry and is out of range.
    #[inline]
    pub fn descriptor(&self, id: RegionId) -> &RegionDescriptor {
        self.slot(id.0)
    }

    /// Adds region `id` to the name index, or records the clash.
    fn insert(&mut self, id: u32, hash: u64, problems: &mut Vec<RegistryProblem>) {
        let (linked, registered) = (self.linked, &self.registered);
        let slot = |id: u32| -> &RegionDescriptor {
            let id = id as usize;
            match linked.get(id) {
                Some(entry) => entry.descriptor,
                None => &registered[id - linked.len()],
            }
        };
        // The name is read only when two hashes meet: building the index
        // touches no descriptor otherwise.
        if let Err(first) = self
            .index
            .insert(hash, id, |other| slot(other).name() == slot(id).name())
        {
            let name = slot(id).name();
            problems.push(RegistryProblem::DuplicateRegion {
                name: name.to_owned(),
                first: slot(first).site(),
                second: slot(id).site(),
            });
        }
    }

    #[inline]
    fn slot(&self, id: u32) -> &RegionDescriptor {
        let id = id as usize;
        match self.linked.get(id) {
            Some(entry) => entry.descriptor,
            None => &self.registered[id - self.linked.len()],
        }
    }

    /// Every region, in name order. The order is computed on the first call.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &RegionDescriptor> + '_ {
        self.ids().map(|id| self.descriptor(id))
    }

    /// Every region id, in name order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = RegionId> + '_ {
        self.sorted().iter().map(|id| RegionId(*id))
    }

    fn sorted(&self) -> &[u32] {
        self.by_name.get_or_init(|| {
            let mut pairs: Vec<(&str, u32)> = (0..self.len() as u32)
                .map(|id| (self.slot(id).name(), id))
                .collect();
            pairs.sort_unstable();
            pairs.into_iter().map(|(_, id)| id).collect()
        })
    }

    /// The config providers, lowest priority first (the order in which
    /// their layers apply), ties broken by name.
    pub fn providers(&self) -> &[&'static ProviderDescriptor] {
        &self.providers
    }

    /// The config provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&'static ProviderDescriptor> {
        self.providers.iter().copied().find(|p| p.name() == name)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "regions",
                &self.iter().map(RegionDescriptor::name).collect::<Vec<_>>(),
            )
            .field(
                "providers",
                &self.providers.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Builds a [`Registry`] from the link-time regions and providers and/or
/// regions registered by hand, rejecting a name clash the way
/// [`try_registry`] does. The run-time manager is built from one of these.
///
/// ```
/// use cache_runtime::{RegionDescriptor, registry::RegistryBuilder};
///
/// let registry = RegistryBuilder::linked()
///     .region(RegionDescriptor::builder("plugin-results").build()?)
///     .build()?;
/// assert!(registry.get("plugin-results").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    linked: bool,
    registered: Vec<RegionDescriptor>,
}

impl RegistryBuilder {
    /// No region, no provider.
    pub fn new() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The link-time regions and providers.
    pub fn linked() -> RegistryBuilder {
        RegistryBuilder {
            linked: true,
            registered: Vec::new(),
        }
    }

    /// Adds the link-time regions and providers.
    pub fn with_linked(mut self) -> RegistryBuilder {
        self.linked = true;
        self
    }

    /// Adds a region registered by hand.
    pub fn region(mut self, descriptor: RegionDescriptor) -> RegistryBuilder {
        self.registered.push(descriptor);
        self
    }

    /// Indexes the regions.
    ///
    /// # Errors
    ///
    /// A [`RegistryError`] naming both declarations of every duplicated
    /// region or provider name.
    pub fn build(self) -> Result<Registry, RegistryError> {
        let (linked, providers): (&'static [RegionIndexEntry], &'static [ProviderDescriptor]) =
            if self.linked {
                (&CACHE_RUNTIME_0_1_REGIONS, &CACHE_RUNTIME_0_1_PROVIDERS)
            } else {
                (&[], &[])
            };
        let mut registry = Registry {
            index: NameIndex::with_capacity(linked.len() + self.registered.len()),
            linked,
            registered: self.registered,
            by_name: OnceLock::new(),
            providers: providers.iter().collect(),
        };
        let mut problems = Vec::new();
        // Linked regions are indexed from their entries' hashes: no
        // descriptor is read unless two hashes meet.
        for (id, entry) in linked.iter().enumerate() {
            registry.insert(id as u32, entry.hash, &mut problems);
        }
        for id in registry.linked.len() as u32..registry.len() as u32 {
            registry.insert(id, registry.slot(id).name_hash, &mut problems);
        }
        registry
            .providers
            .sort_by(|a, b| (a.priority(), a.name()).cmp(&(b.priority(), b.name())));
        let mut by_name = registry.providers.clone();
        by_name.sort_by_key(|p| p.name());
        for pair in by_name.windows(2) {
            if pair[0].name() == pair[1].name() {
                problems.push(RegistryProblem::DuplicateProvider {
                    name: pair[0].name().to_owned(),
                    first: *pair[0].site(),
                    second: *pair[1].site(),
                });
            }
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(RegistryError::new(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_registered_regions_are_indexed_and_sorted() {
        let registry = Registry::builder()
            .region(RegionDescriptor::builder("zeta").build().expect("valid"))
            .region(RegionDescriptor::builder("alpha").build().expect("valid"))
            .build()
            .expect("distinct names");
        assert_eq!(registry.len(), 2);
        let names: Vec<&str> = registry.iter().map(RegionDescriptor::name).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(
            registry.get("zeta").map(RegionDescriptor::name),
            Some("zeta")
        );
        assert!(registry.get("beta").is_none());
        let id = registry.id("alpha").expect("present");
        assert_eq!(registry.descriptor(id).name(), "alpha");
    }

    #[test]
    fn a_name_clash_names_both_sites() {
        let first_line = line!() + 2;
        let error = Registry::builder()
            .region(RegionDescriptor::builder("twice").build().expect("valid"))
            .region(RegionDescriptor::builder("twice").build().expect("valid"))
            .build()
            .expect_err("duplicate");
        let message = error.to_string();
        assert!(message.contains("`twice` is declared twice"), "{message}");
        assert!(
            message.contains(&format!("mod.rs:{first_line}")),
            "{message}"
        );
        assert!(
            message.contains(&format!("mod.rs:{}", first_line + 1)),
            "{message}"
        );
        assert_eq!(error.problems().len(), 1);
    }
}
