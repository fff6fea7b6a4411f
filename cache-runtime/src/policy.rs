//! Custom policies for `#[custom_cache_region(policy = ...)]`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A region's own rules for what to cache, for how long, and how much each
/// entry weighs. Every method has a default, so a policy overrides only what
/// it cares about, and new hooks added later break nobody.
///
/// ```
/// use std::time::Duration;
/// use cache_runtime::CachePolicy;
///
/// /// Never caches empty lists; keeps long lists twice as long.
/// #[derive(Default)]
/// struct NonEmpty;
///
/// impl CachePolicy<String, Vec<u32>> for NonEmpty {
///     fn admit(&self, _key: &String, value: &Vec<u32>) -> bool {
///         !value.is_empty()
///     }
///     fn expire_after(&self, _key: &String, value: &Vec<u32>) -> Option<Duration> {
///         (value.len() > 100).then(|| Duration::from_secs(600))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cache policy for keys `{K}` and values `{V}`",
    label = "this policy does not implement `CachePolicy<{K}, {V}>`",
    note = "add `impl cache_runtime::CachePolicy<{K}, {V}> for {Self} {{}}`; every method has a default"
)]
pub trait CachePolicy<K, V>: Send + Sync + 'static {
    /// Whether a value may be cached at all (conditional caching). Default:
    /// always.
    fn admit(&self, key: &K, value: &V) -> bool {
        let _ = (key, value);
        true
    }

    /// A time to live for this entry, overriding the region's. Default: the
    /// region's.
    fn expire_after(&self, key: &K, value: &V) -> Option<Duration> {
        let _ = (key, value);
        None
    }

    /// This entry's weight in bytes for a `max_bytes` limit. Default: the
    /// region's weigher.
    fn weigh(&self, key: &K, value: &V) -> Option<u32> {
        let _ = (key, value);
        None
    }
}

/// The policy type of a custom region, kept untyped in its descriptor so the
/// registry can hold every region in one list.
#[derive(Clone, Copy)]
pub struct PolicyInfo {
    type_name: &'static str,
    make: fn() -> Box<dyn Any + Send + Sync>,
}

fn make_policy<P, K, V>() -> Box<dyn Any + Send + Sync>
where
    P: CachePolicy<K, V> + Default,
    K: 'static,
    V: 'static,
{
    let policy: Arc<dyn CachePolicy<K, V>> = Arc::new(P::default());
    Box::new(policy)
}

impl PolicyInfo {
    /// The policy `P` for keys `K` and values `V`, built with `P::default()`;
    /// `type_name` is how the declaration spells `P`.
    pub const fn of<P, K, V>(type_name: &'static str) -> PolicyInfo
    where
        P: CachePolicy<K, V> + Default,
        K: 'static,
        V: 'static,
    {
        PolicyInfo {
            type_name,
            make: make_policy::<P, K, V>,
        }
    }

    /// The policy type as written in the declaration.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// A new instance of the policy, for keys `K` and values `V`; `None`
    /// when the region's key or value type is not `K` or `V`.
    pub fn instantiate<K: 'static, V: 'static>(&self) -> Option<Arc<dyn CachePolicy<K, V>>> {
        (self.make)()
            .downcast::<Arc<dyn CachePolicy<K, V>>>()
            .ok()
            .map(|policy| *policy)
    }
}

impl fmt::Debug for PolicyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyInfo")
            .field("type_name", &self.type_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct NoEmpty;

    impl CachePolicy<String, String> for NoEmpty {
        fn admit(&self, _: &String, value: &String) -> bool {
            !value.is_empty()
        }
    }

    #[test]
    fn instantiates_for_its_own_types_only() {
        const INFO: PolicyInfo = PolicyInfo::of::<NoEmpty, String, String>("NoEmpty");
        let policy = INFO.instantiate::<String, String>().expect("same types");
        assert!(!policy.admit(&"k".into(), &String::new()));
        assert!(policy.admit(&"k".into(), &"v".into()));
        assert_eq!(policy.expire_after(&"k".into(), &"v".into()), None);
        assert!(INFO.instantiate::<String, u32>().is_none());
        assert_eq!(INFO.type_name(), "NoEmpty");
    }
}
