//! [`CacheError`]: what a manager operation can fail with.

use std::any::type_name;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::provider::BoxError;

use crate::disk::DiskError;

/// Why a [`CacheManager`](super::CacheManager) operation failed. Misses,
/// expired entries and damaged persisted entries are not errors (they are
/// counted misses); these are the failures a caller has to act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// No region has this name in the manager.
    #[error("no cache region is named {name:?}{}", suggestion_text(.suggestion))]
    UnknownRegion {
        /// The name asked for.
        name: String,
        /// The closest known name, if one is close.
        suggestion: Option<String>,
    },
    /// A region was opened with other key or value types than it holds.
    #[error(
        "region {region:?} holds keys `{declared_key}` and values `{declared_value}`, not `{asked_key}` and `{asked_value}`"
    )]
    TypeMismatch {
        /// The region.
        region: String,
        /// The key type the region was declared or first opened with.
        declared_key: String,
        /// The value type the region was declared or first opened with.
        declared_value: String,
        /// The key type asked for.
        asked_key: &'static str,
        /// The value type asked for.
        asked_value: &'static str,
    },
    /// The region's entries are sensitive: they are never listed or shown.
    #[error("region {region:?} is sensitive: its entries cannot be {action}")]
    Sensitive {
        /// The region.
        region: String,
        /// What was refused (`listed`, `read by name`...).
        action: &'static str,
    },
    /// Untyped access needs serde for the region's key or value type.
    #[error(
        "region {region:?}: {what} `{type_name}` does not implement serde's {needs}, so {action} is not available for it"
    )]
    NotSerializable {
        /// The region.
        region: String,
        /// `key type` or `value type`.
        what: &'static str,
        /// The type as declared.
        type_name: String,
        /// The trait(s) missing.
        needs: &'static str,
        /// What cannot be done.
        action: &'static str,
    },
    /// A key given as JSON does not fit the region's key type.
    #[error("region {region:?}: the key {key} is not a valid `{key_type}`: {reason}")]
    BadKey {
        /// The region.
        region: String,
        /// The key as given.
        key: String,
        /// The region's key type.
        key_type: String,
        /// What serde said.
        reason: String,
    },
    /// A browsing cursor is not one this region handed out.
    #[error("region {region:?}: the cursor {cursor:?} was not returned by this region's entries()")]
    BadCursor {
        /// The region.
        region: String,
        /// The cursor as given.
        cursor: String,
    },
    /// The disk tier failed (I/O on the region's folder).
    #[error("region {region:?}: {source}")]
    Disk {
        /// The region.
        region: String,
        /// The disk error, with the path.
        #[source]
        source: DiskError,
    },
    /// A region cannot be added: its declaration is invalid or its name is taken.
    #[error("cannot add region {region:?}: {reason}")]
    Register {
        /// The region.
        region: String,
        /// Why.
        reason: String,
    },
    /// The configuration (providers, config file, environment, saved
    /// run-time overrides) is invalid or could not be read.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// [`RegionHandle::get_or_load`](super::RegionHandle::get_or_load) on a
    /// region without a loader.
    #[error("region {region:?} has no loader: register one with RegionHandle::set_loader")]
    NoLoader {
        /// The region.
        region: String,
    },
    /// The region's loader failed.
    #[error("region {region:?}: the loader failed: {source}")]
    Load {
        /// The region.
        region: String,
        /// The loader's error (shared by every caller that waited on it).
        #[source]
        source: Arc<BoxError>,
    },
    /// The region's backend (declared, or set by configuration) is not
    /// registered on this manager.
    #[error(
        "region {region:?} keeps its entries in backend {backend:?}, which this manager does not have ({registered}); register it with CacheManagerBuilder::backend({backend:?}, factory), or move the region to a tier by configuration (tier = \"memory\", backend = \"none\")"
    )]
    UnknownBackend {
        /// The region.
        region: String,
        /// The backend's name.
        backend: String,
        /// The registered names, in words.
        registered: String,
    },
    /// The region's backend failed (or its factory could not make it).
    #[error("region {region:?}: backend {backend:?}: {source}")]
    Backend {
        /// The region.
        region: String,
        /// The backend's name.
        backend: String,
        /// What the backend said.
        #[source]
        source: crate::backend::BackendError,
    },
    /// Redis could not be reached or refused an operation (a timeout, a
    /// broken connection, the circuit breaker open). Hybrid regions serve
    /// from memory instead; Redis-only regions report it.
    #[error("region {region:?}: {source}")]
    Redis {
        /// The region.
        region: String,
        /// What Redis did.
        #[source]
        source: crate::redis_tier::RedisError,
    },
    /// The manager's Redis connection could not be set up.
    #[error("cannot set up the Redis connection: {source}")]
    RedisSetup {
        /// Why.
        #[source]
        source: crate::redis_tier::RedisError,
    },
    /// The final statistics save failed.
    #[error("cannot save cache statistics to {}: {source}", path.display())]
    StatsSave {
        /// The statistics file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The region's tier is not available in this manager (for instance a
    /// Redis region in a build without the `redis` feature).
    #[error("region {region:?} uses the {tier} tier, which {reason}")]
    TierUnavailable {
        /// The region.
        region: String,
        /// The tier.
        tier: &'static str,
        /// Why it is unavailable and what to do.
        reason: &'static str,
    },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(name) => format!(" (did you mean {name:?}?)"),
        None => String::new(),
    }
}

impl CacheError {
    pub(crate) fn type_mismatch<K, V>(region: &str, key: &str, value: &str) -> CacheError {
        CacheError::TypeMismatch {
            region: region.to_owned(),
            declared_key: key.to_owned(),
            declared_value: value.to_owned(),
            asked_key: type_name::<K>(),
            asked_value: type_name::<V>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_region_and_what_to_do() {
        let error = CacheError::UnknownRegion {
            name: "model-metdata".into(),
            suggestion: Some("model-metadata".into()),
        };
        assert_eq!(
            error.to_string(),
            "no cache region is named \"model-metdata\" (did you mean \"model-metadata\"?)"
        );
        let error = CacheError::type_mismatch::<u32, String>("users", "String", "User");
        assert_eq!(
            error.to_string(),
            "region \"users\" holds keys `String` and values `User`, not `u32` and `alloc::string::String`"
        );
    }
}
