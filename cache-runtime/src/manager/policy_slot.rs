//! The region's current [`CachePolicy`], replaceable at run time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::policy::CachePolicy;

/// A region's policy: the custom region's declared one, or one set with
/// [`RegionHandle::set_policy`](super::RegionHandle::set_policy) or
/// [`RegionHandle::cache_if`](super::RegionHandle::cache_if). Without one,
/// every call returns at the cost of one atomic load.
pub(crate) struct PolicySlot<K, V> {
    present: AtomicBool,
    policy: RwLock<Option<Arc<dyn CachePolicy<K, V>>>>,
}

impl<K: 'static, V: 'static> PolicySlot<K, V> {
    pub(crate) fn new(policy: Option<Arc<dyn CachePolicy<K, V>>>) -> PolicySlot<K, V> {
        PolicySlot {
            present: AtomicBool::new(policy.is_some()),
            policy: RwLock::new(policy),
        }
    }

    pub(crate) fn set(&self, policy: Option<Arc<dyn CachePolicy<K, V>>>) {
        let mut slot = self.policy.write().unwrap_or_else(PoisonError::into_inner);
        self.present.store(policy.is_some(), Ordering::Release);
        *slot = policy;
    }

    /// The policy now (one atomic load when there is none).
    pub(crate) fn current(&self) -> Option<Arc<dyn CachePolicy<K, V>>> {
        if !self.present.load(Ordering::Acquire) {
            return None;
        }
        self.policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The policy's weight for this entry.
    pub(crate) fn weigh(&self, key: &K, value: &V) -> Option<u32> {
        self.current().and_then(|policy| policy.weigh(key, value))
    }
}

/// A policy made of a predicate: conditional caching.
pub(crate) struct Predicate<F>(pub(crate) F);

impl<K, V, F> CachePolicy<K, V> for Predicate<F>
where
    F: Fn(&K, &V) -> bool + Send + Sync + 'static,
{
    fn admit(&self, key: &K, value: &V) -> bool {
        (self.0)(key, value)
    }
}
