//! Without the `redis` feature: no Redis connection, so no backplane to
//! announce on; the types exist so the store's code is the same in every
//! build, and their paths compile to nothing.

use std::convert::Infallible;

use super::second::Announce;
use crate::stats::RegionStats;

/// Never made without the `redis` feature.
#[derive(Clone, Debug)]
pub(crate) struct RedisShared(Infallible);

/// Never made without the `redis` feature.
#[derive(Clone, Debug)]
pub(crate) struct Announcer(Infallible);

impl Announcer {
    pub(crate) fn for_region(_: Option<&RedisShared>, _: bool, _: bool) -> Option<Announcer> {
        None
    }

    pub(crate) async fn announce(&self, _: &str, _: Announce, _: &RegionStats) {
        match self.0 {}
    }
}

pub(crate) fn tier_backend(
    shared: &RedisShared,
    _: &str,
) -> std::sync::Arc<dyn crate::backend::Backend> {
    match shared.0 {}
}

/// Nothing to attach without the `redis` feature.
pub(crate) fn attach_backplane<K, V>(_: &std::sync::Arc<super::store::RegionStore<K, V>>) {}
