//! [`TierStats`]: what a region with a second level (Redis) counts per
//! level, on top of its overall hits and misses.
//!
//! An L1 hit costs nothing extra: L1 hits are derived (`hits - l2_hits -
//! stale_served`), so the memory path records only the overall hit. The
//! L2 path, which waits on the network, records its own counters and a
//! latency histogram (plain relaxed atomics: microseconds away from a
//! round trip, contention does not show).

// Without the Redis tier, only the fail-safe counter is recorded.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::histogram::{Histogram, HistogramReading};
use super::snapshot::LatencySummary;

/// The per-level counters of one region.
#[derive(Default)]
pub(crate) struct TierStats {
    /// Set once the region opens a second level: snapshots report tiers.
    enabled: AtomicBool,
    l2_hits: AtomicU64,
    l2_misses: AtomicU64,
    l2_rejected: AtomicU64,
    l2_errors: AtomicU64,
    l2_writes: AtomicU64,
    l2_writes_skipped: AtomicU64,
    stale_served: AtomicU64,
    backplane_sent: AtomicU64,
    backplane_received: AtomicU64,
    backplane_deferred: AtomicU64,
    l2_latency: Histogram,
}

/// What an L2 lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L2Outcome {
    Hit,
    Miss,
    /// A value that was not usable (old, corrupt, foreign): a miss too.
    Rejected,
    /// Redis could not answer.
    Error,
}

/// The outcomes of a batch of L2 lookups, counted locally and recorded
/// with one update per outcome ([`LookupTally::record`]).
#[derive(Default)]
pub(crate) struct LookupTally([u64; 4]);

impl LookupTally {
    pub(crate) fn add(&mut self, outcome: L2Outcome) {
        self.0[outcome as usize] += 1;
    }

    /// Records the batch, each lookup taking `latency_ns`.
    pub(crate) fn record(&self, tiers: &TierStats, latency_ns: u64) {
        for outcome in [
            L2Outcome::Hit,
            L2Outcome::Miss,
            L2Outcome::Rejected,
            L2Outcome::Error,
        ] {
            tiers.lookups(outcome, self.0[outcome as usize], latency_ns);
        }
    }
}

/// A counter of [`TierStats`] without an outcome of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TierEvent {
    Write,
    WriteSkipped,
    StaleServed,
    BackplaneSent,
    BackplaneReceived,
    BackplaneDeferred,
}

impl TierStats {
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Records an L2 lookup and how long it took.
    pub(crate) fn lookup(&self, outcome: L2Outcome, latency_ns: u64) {
        self.lookups(outcome, 1, latency_ns);
    }

    /// Records `count` L2 lookups with one outcome, each taking
    /// `latency_ns` (a batch's share): one update of each counter.
    pub(crate) fn lookups(&self, outcome: L2Outcome, count: u64, latency_ns: u64) {
        if count == 0 {
            return;
        }
        let counter = match outcome {
            L2Outcome::Hit => &self.l2_hits,
            L2Outcome::Miss => &self.l2_misses,
            L2Outcome::Rejected => &self.l2_rejected,
            L2Outcome::Error => &self.l2_errors,
        };
        counter.fetch_add(count, Ordering::Relaxed);
        self.l2_latency.record_n(latency_ns, count);
    }

    /// Counts a failed L2 operation other than a lookup.
    pub(crate) fn error(&self) {
        self.l2_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count(&self, event: TierEvent) {
        let counter = match event {
            TierEvent::Write => &self.l2_writes,
            TierEvent::WriteSkipped => &self.l2_writes_skipped,
            TierEvent::StaleServed => &self.stale_served,
            TierEvent::BackplaneSent => &self.backplane_sent,
            TierEvent::BackplaneReceived => &self.backplane_received,
            TierEvent::BackplaneDeferred => &self.backplane_deferred,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters and the second level's lookup latency histogram, given
    /// the region's overall hits; `None` for a region without a second
    /// level.
    pub(crate) fn reading(&self, hits: u64) -> Option<(TierSnapshot, HistogramReading)> {
        let snapshot = self.snapshot(hits)?;
        Some((snapshot, self.l2_latency.read()))
    }

    /// The counters, given the region's overall hits; `None` for a region
    /// without a second level.
    pub(crate) fn snapshot(&self, hits: u64) -> Option<TierSnapshot> {
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let l2_hits = read(&self.l2_hits);
        let stale_served = read(&self.stale_served);
        Some(TierSnapshot {
            l1_hits: hits.saturating_sub(l2_hits).saturating_sub(stale_served),
            l2_hits,
            l2_misses: read(&self.l2_misses),
            l2_rejected: read(&self.l2_rejected),
            l2_errors: read(&self.l2_errors),
            l2_writes: read(&self.l2_writes),
            l2_writes_skipped: read(&self.l2_writes_skipped),
            stale_served,
            backplane_sent: read(&self.backplane_sent),
            backplane_received: read(&self.backplane_received),
            backplane_deferred: read(&self.backplane_deferred),
            l2_latency: LatencySummary::from_reading(&self.l2_latency.read()),
        })
    }
}

/// A region's activity per level, in a [`StatsSnapshot`](super::StatsSnapshot)
/// of a region with a Redis level (Redis-only regions have no L1 hits).
/// Not persisted across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TierSnapshot {
    /// Gets answered by the memory level.
    pub l1_hits: u64,
    /// Gets answered by the second level (Redis, or a named backend).
    pub l2_hits: u64,
    /// Second-level lookups that found nothing.
    pub l2_misses: u64,
    /// Second-level values that were unusable (old schema, corrupt,
    /// another key's): counted misses.
    pub l2_rejected: u64,
    /// Second-level operations that failed (timeout, connection, open
    /// breaker).
    pub l2_errors: u64,
    /// Values written to Redis.
    pub l2_writes: u64,
    /// Writes that could not reach Redis (kept in memory only).
    pub l2_writes_skipped: u64,
    /// Expired memory values served because Redis or the loader failed
    /// (fail-safe).
    pub stale_served: u64,
    /// Invalidations this instance published for the region.
    pub backplane_sent: u64,
    /// Invalidations from other instances applied to the region.
    pub backplane_received: u64,
    /// Invalidations kept for later because Redis was unreachable.
    pub backplane_deferred: u64,
    /// Redis lookups' latency.
    pub l2_latency: LatencySummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_tally_records_what_single_lookups_would() {
        let single = TierStats::default();
        let batched = TierStats::default();
        single.enable();
        batched.enable();
        let outcomes = [
            L2Outcome::Hit,
            L2Outcome::Hit,
            L2Outcome::Miss,
            L2Outcome::Rejected,
            L2Outcome::Hit,
        ];
        let mut tally = LookupTally::default();
        for outcome in outcomes {
            single.lookup(outcome, 1_500);
            tally.add(outcome);
        }
        tally.record(&batched, 1_500);
        assert_eq!(single.snapshot(10), batched.snapshot(10));
        let (single, batched) = (single.l2_latency.read(), batched.l2_latency.read());
        assert_eq!(single.buckets, batched.buckets);
        assert_eq!((single.sum, single.max), (batched.sum, batched.max));
        assert_eq!(batched.sum, 5 * 1_500);
    }
}
