//! Without the `redis` feature: a Redis level that cannot exist, so the
//! store's code is the same in every build and its Redis paths compile to
//! nothing.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::time::Duration;

use crate::disk::Glob;
use crate::redis_tier::RedisError;

/// Never made without the `redis` feature.
#[derive(Clone, Debug)]
pub(crate) struct RedisShared(Infallible);

pub(crate) struct RemoteHit<V> {
    pub(crate) value: V,
    pub(crate) remaining: Option<Duration>,
}

pub(crate) struct RemoteWrite(Infallible);

pub(crate) struct RemotePage {
    pub(crate) entries: Vec<(String, crate::envelope::Decoded)>,
    pub(crate) next: u64,
}

pub(crate) struct RemoteLevel<K, V>(Infallible, PhantomData<fn() -> (K, V)>);

impl<K, V> RemoteLevel<K, V> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shared: &RedisShared,
        _: &std::sync::Arc<str>,
        _: crate::envelope::Schema,
        _: cache_spec::Compression,
        _: fn(&K) -> String,
        _: super::kit::SerdeFns<V>,
        _: Option<Duration>,
        _: &std::sync::Arc<crate::stats::RegionStats>,
        _: bool,
    ) -> RemoteLevel<K, V> {
        match shared.0 {}
    }

    pub(crate) fn key_text(&self, _: &K) -> String {
        match self.0 {}
    }

    pub(crate) fn set_ttl(&self, _: Option<Duration>) {
        match self.0 {}
    }

    pub(crate) fn set_compression(&self, _: cache_spec::Compression) {
        match self.0 {}
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, _: F) -> F::Output {
        match self.0 {}
    }

    pub(crate) async fn read(&self, _: &K) -> Result<Option<RemoteHit<V>>, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn read_many(
        &self,
        _: &[&K],
    ) -> Result<Vec<Option<RemoteHit<V>>>, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn write_many(&self, _: Vec<RemoteWrite>) -> Result<(), RedisError> {
        match self.0 {}
    }

    pub(crate) fn skipped(&self) {
        match self.0 {}
    }

    pub(crate) fn prepare(&self, _: &K, _: &V, _: Option<Duration>) -> Option<RemoteWrite> {
        match self.0 {}
    }

    pub(crate) async fn write(&self, write: RemoteWrite) -> Result<(), RedisError> {
        match write.0 {}
    }

    pub(crate) async fn remove(&self, _: String) -> Result<bool, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn clear(&self) -> Result<u64, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn clear_matching(&self, _: &Glob, _: &str) -> Result<u64, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn page(
        &self,
        _: Option<&Glob>,
        _: u64,
        _: usize,
    ) -> Result<RemotePage, RedisError> {
        match self.0 {}
    }

    pub(crate) async fn key_texts(&self) -> Result<Vec<String>, RedisError> {
        match self.0 {}
    }

    pub(crate) fn json(
        &self,
        _: &[u8],
        _: fn(&V) -> Result<serde_json::Value, serde_json::Error>,
    ) -> Option<serde_json::Value> {
        match self.0 {}
    }
}

/// Nothing to attach without the `redis` feature.
pub(crate) fn attach_backplane<K, V>(_: &std::sync::Arc<super::store::RegionStore<K, V>>) {}
