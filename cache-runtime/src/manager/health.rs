//! [`LevelHealth`]: whether the second levels the open regions use answer
//! (the disk tier's folders, Redis, named backends), for readiness checks.

use std::sync::Arc;
use std::time::Instant;

use super::CacheManager;
use crate::backend::{Backend, BackendError};

/// How one kind of second level answered a health check.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LevelHealth {
    /// The level: `disk`, `redis` or a backend's registered name.
    pub level: &'static str,
    /// The open region whose level was asked (one per kind of level).
    pub region: String,
    /// How many open regions use this kind of level.
    pub regions: usize,
    /// What answered and how fast, or why it did not.
    pub outcome: Result<crate::backend::Health, String>,
}

impl CacheManager {
    /// Asks each kind of second level that the open regions use whether it
    /// answers: one region's backend per kind (`disk`, `redis`, each named
    /// backend), one after the other. Regions not opened yet are not asked
    /// (nothing of theirs is in use). In the order the levels were first
    /// found, region by region.
    ///
    /// Each check is bounded by its backend (the Redis tier's response
    /// timeout, a file system call for the disk); a caller that must
    /// answer within a deadline wraps the whole call in its own timeout.
    pub async fn level_health(&self) -> Vec<LevelHealth> {
        let mut kinds: Vec<(&'static str, String, Arc<dyn Backend>, usize)> = Vec::new();
        let slots = self.inner.read().slots.clone();
        for slot in slots {
            let Some(store) = slot.store.get() else {
                continue;
            };
            let (Some(level), Some(backend)) = (store.second_name(), store.second_backend()) else {
                continue;
            };
            match kinds.iter_mut().find(|(known, ..)| *known == level) {
                Some((.., count)) => *count += 1,
                None => kinds.push((level, slot.name.to_string(), backend, 1)),
            }
        }
        let mut report = Vec::with_capacity(kinds.len());
        for (level, region, backend, regions) in kinds {
            let started = Instant::now();
            let outcome = match backend.health().await {
                // The whole check's time, unless the backend measured its own.
                Ok(health) if health.latency.is_zero() => Ok(health.latency(started.elapsed())),
                Ok(health) => Ok(health),
                Err(error) => Err(describe(&error)),
            };
            report.push(LevelHealth {
                level,
                region,
                regions,
                outcome,
            });
        }
        report
    }
}

fn describe(error: &BackendError) -> String {
    error.to_string()
}
