//! Cache regions declared in code, collected by the linker, managed at run
//! time.
//!
//! A *region* is a named set of cache entries with its own TTL, size limit,
//! eviction policy and storage tier. Declare one on a unit struct:
//!
//! ```
//! use cache_runtime::{cache_region, registry, CacheRegion};
//!
//! #[cache_region(name = "model-metadata", key = String, value = Vec<String>,
//!                ttl = "1h", max_entries = 10_000, description = "provider model lists")]
//! pub struct ModelMetadata;
//!
//! let region = registry().region::<ModelMetadata>().expect("linked");
//! assert_eq!(region.name(), "model-metadata");
//! assert_eq!(ModelMetadata::DESCRIPTOR.settings().max_entries, Some(10_000));
//! ```
//!
//! The attribute checks every option at compile time and adds a `'static`
//! descriptor to a linker-collected list; [`registry()`] reads that list on
//! first call. Nothing runs before `main` and no code is scanned.
//!
//! - [`cache_region`]: a region with the built-in tiers and policies.
//! - [`custom_cache_region`]: a region with its own [`CachePolicy`], or
//!   kept in a storage backend registered by name
//!   ([`CacheManagerBuilder::backend`]).
//! - [`cache_config_provider`]: a function contributing a [`ConfigLayer`].
//! - [`CacheManager`]: every region's entries at run time, over the memory
//!   (moka), disk, Redis (feature `redis`), named-backend and hybrid
//!   (memory over a second level) tiers, with typed [`RegionHandle`]s,
//!   single-flight loads, policies, statistics that mean the same on every
//!   tier, events, and dynamic configuration (layers, validation, audit,
//!   rollback).
//!
//! The root holds what almost every program touches; the rest lives in
//! modules by concept:
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | options and settings, configuration layers, changes, audit, problems |
//! | [`manager`] | what a handle's operations take and return: entry pages, events, codecs |
//! | [`stats`] | statistics: snapshots, windows, latency, the registry and worker that export them |
//! | [`backend`] | the [`Backend`](backend::Backend) trait, its conformance suite, the versioned envelope |
//! | [`disk`] | the disk tier's store, its backend form, glob patterns |
//! | [`redis`] | the Redis tier's configuration, health, and its backend form |
//! | [`registry`](mod@registry) | descriptors, sites, hand-registered regions, link checks |
//! | [`discovery`] | [`RegistryCache`](discovery::RegistryCache), the discovery cache on disk |
//!
//! See the repository README for the option reference and the one pitfall of
//! link-time collection (a library nothing references is dropped).

#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets this crate's own tests and doctests use the macros, whose expansion
// names `::cache_runtime`.
extern crate self as cache_runtime;

pub mod backend;
mod block_on;
mod builder;
pub mod config;
mod descriptor;
mod discovery_cache;
pub mod disk;
mod envelope;
mod future;
mod kit;
mod link_check;
pub mod manager;
mod policy;
mod provider;
#[cfg(feature = "redis")]
mod redis_tier;
#[cfg(not(feature = "redis"))]
#[path = "redis_tier_off.rs"]
mod redis_tier;
mod region;
pub mod registry;
mod site;
pub mod stats;
#[cfg(test)]
mod test_support;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// `__private` again, under the name a `crate = path` expansion imports: a
/// path that is not cache-runtime then fails with this name in the error.
#[doc(hidden)]
pub use __private as crate_path_must_name_cache_runtime;

pub use cache_macros::{cache_config_provider, cache_region, custom_cache_region};
pub use config::ConfigLayer;
pub use descriptor::RegionDescriptor;
pub use manager::{CacheError, CacheManager, CacheManagerBuilder, RegionHandle};
pub use policy::CachePolicy;
pub use region::CacheRegion;
pub use registry::{Registry, registry, try_registry};

/// The discovery cache: [`RegistryCache`](discovery::RegistryCache), a
/// versioned, age- and mtime-checked cache on disk for any expensive
/// discovery a program does (plugin folders, remote model lists).
pub mod discovery {
    pub use crate::discovery_cache::{
        DEFAULT_MAX_AGE, DISABLE_ENV_VAR, FileNameProblem, Lookup, MAX_FILE_NAME_LEN, MissReason,
        Outcome, RegistryCache, RegistryCacheBuilder, RegistryCacheError, WriteStatus,
    };
}

/// The Redis tier (feature `redis`): how a manager reaches Redis
/// ([`RedisConfig`](redis::RedisConfig)), its health and fleet figures, and
/// a Redis server as a named storage backend
/// ([`RedisConnection`](redis::RedisConnection)).
pub mod redis {
    pub use crate::redis_tier::RedisError;
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub use crate::redis_tier::{
        BackplaneStats, FleetAnswer, FleetClear, FleetStats, Member, RedisBackend, RedisConfig,
        RedisConnection, RedisHealth, SharedDocument, SharedDocuments,
    };
}

/// The fingerprint of the calling package's sources, computed by
/// `cache-build` in its build script: `Some(hex)`, or `None` without one.
///
/// ```
/// let fingerprint: Option<&'static str> = cache_runtime::build_fingerprint!();
/// ```
#[macro_export]
macro_rules! build_fingerprint {
    () => {
        ::core::option_env!("CACHE_BUILD_FINGERPRINT")
    };
}

/// The build manifest `cache-build` wrote for the calling package, embedded
/// at compile time: `Result<BuildManifest, ManifestError>`. Needs
/// `cache-build` in the package's build script.
#[macro_export]
macro_rules! build_manifest {
    () => {
        $crate::registry::BuildManifest::from_json(::core::include_str!(::core::env!(
            "CACHE_BUILD_MANIFEST",
            "build_manifest!() and check_linked!() need cache-build: add `cache-build` to [build-dependencies] and `fn main() { cache_build::emit(); }` to build.rs"
        )))
    };
}

/// Checks that every region and config provider declared in source (as
/// `cache-build` found them in this package and its dependencies) is linked
/// into this program, and that the registry has no duplicate names.
/// Returns a [`LinkReport`](registry::LinkReport); its `Display` is one readable message naming
/// each missing region and the `use that_crate as _;` line that fixes it.
///
/// ```ignore
/// let report = cache_runtime::check_linked!();
/// if !report.is_ok() {
///     eprintln!("{report}");
/// }
/// ```
#[macro_export]
macro_rules! check_linked {
    () => {
        $crate::__private::check_linked(
            ::core::include_str!(::core::env!(
                "CACHE_BUILD_MANIFEST",
                "check_linked!() needs cache-build: add `cache-build` to [build-dependencies] and `fn main() { cache_build::emit(); }` to build.rs"
            )),
            ::core::env!("CARGO_CRATE_NAME"),
        )
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
