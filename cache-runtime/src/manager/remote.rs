//! What the manager's Redis regions share: the link, the backplane and the
//! fleet ([`RedisShared`]); the [`Announcer`] that publishes a hybrid
//! region's second-level changes on the backplane; and the delivery of
//! other instances' invalidations to a region's memory level.

use std::sync::Arc;

use super::hybrid::Invalidated;
use super::second::Announce;
use crate::redis_tier::{Backplane, Invalidation, LocalLevel, RedisLink};
use crate::stats::{RegionStats, TierEvent};

/// What a region shares with the manager's other Redis regions.
#[derive(Clone, Debug)]
pub(crate) struct RedisShared {
    pub(crate) link: Arc<RedisLink>,
    pub(crate) backplane: Option<Arc<Backplane>>,
    pub(crate) fleet: Arc<crate::redis_tier::Fleet>,
    /// This manager's id as a lease holder.
    pub(crate) holder: String,
}

/// The Redis tier's backend for `region`, on the manager's connection.
pub(crate) fn tier_backend(shared: &RedisShared, region: &str) -> Arc<dyn crate::backend::Backend> {
    Arc::new(crate::redis_tier::RedisBackend::on(&shared.link, region))
}

/// Tells the other instances to drop what a region's second level changed
/// from their memory levels: the backplane of a hybrid region whose second
/// level is shared between processes.
#[derive(Clone, Debug)]
pub(crate) struct Announcer {
    link: Arc<RedisLink>,
    backplane: Arc<Backplane>,
}

impl Announcer {
    /// The announcer of a hybrid region (one with a memory level) over a
    /// shared second level, when the manager has a backplane.
    pub(crate) fn for_region(
        shared: Option<&RedisShared>,
        memory_level: bool,
        second_level_shared: bool,
    ) -> Option<Announcer> {
        let shared = shared?;
        let backplane = shared.backplane.as_ref()?;
        (memory_level && second_level_shared).then(|| Announcer {
            link: Arc::clone(&shared.link),
            backplane: Arc::clone(backplane),
        })
    }

    /// Publishes `what` for `region`; counted as sent or deferred.
    pub(crate) async fn announce(&self, region: &str, what: Announce, stats: &RegionStats) {
        let what = match what {
            Announce::Key(text) => Invalidation::Key(text),
            Announce::Keys(texts) => Invalidation::Keys(texts),
            Announce::Matching(pattern) => Invalidation::Matching(pattern),
            Announce::Region => Invalidation::Region,
        };
        let event = if self.link.enter(self.backplane.publish(region, what)).await {
            TierEvent::BackplaneSent
        } else {
            TierEvent::BackplaneDeferred
        };
        stats.tiers().count(event);
    }

    /// Delivers invalidations for `region` to `level`.
    pub(crate) fn register(&self, region: &str, level: std::sync::Weak<dyn LocalLevel>) {
        self.backplane.register(region, level);
    }
}

/// Delivers the backplane's invalidations for `store`'s region to its
/// memory level (hybrid regions over a shared second level).
pub(crate) fn attach_backplane<K, V>(store: &Arc<super::store::RegionStore<K, V>>)
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let Some(hybrid) = store.levels.hybrid() else {
        return;
    };
    if let Some(announcer) = hybrid.second().announcer() {
        let level: Arc<dyn LocalLevel> = store.clone();
        announcer.register(&store.name, Arc::downgrade(&level));
    }
}

impl<K, V> LocalLevel for super::store::RegionStore<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn invalidate_local(&self, what: &Invalidation, received: bool) {
        let Some(hybrid) = self.levels.hybrid() else {
            return;
        };
        match what {
            Invalidation::Key(text) => hybrid.invalidate(Invalidated::Key(text), received),
            Invalidation::Keys(texts) => hybrid.invalidate(Invalidated::Keys(texts), received),
            Invalidation::Matching(pattern) => {
                hybrid.invalidate(Invalidated::Matching(pattern), received);
            }
            Invalidation::Region => hybrid.invalidate(Invalidated::Region, received),
        }
    }
}
