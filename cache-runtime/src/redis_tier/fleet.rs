//! Fleet-wide statistics: every instance adds what its regions counted
//! since its last flush to one Redis hash per region,
//! `{prefix}:fleet:{region}`, so a dashboard reads a fleet's hit rate
//! from any instance.
//!
//! A flush sends the deltas of one instance in one `MULTI`/`EXEC` of
//! `HINCRBY`s: either all of them count or none does, and a failed flush's
//! deltas are sent by the next one, so nothing is lost or counted twice.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::error::RedisError;
use super::link::RedisLink;
use crate::stats::StatsSnapshot;

/// The counters summed across instances.
const FIELDS: [&str; 10] = [
    "hits",
    "misses",
    "inserts",
    "removals",
    "loads_succeeded",
    "loads_failed",
    "l2_hits",
    "l2_errors",
    "l2_writes_skipped",
    "stale_served",
];

fn counts(snapshot: &StatsSnapshot) -> [u64; 10] {
    let tiers = snapshot.tiers.unwrap_or_default();
    [
        snapshot.hits,
        snapshot.misses,
        snapshot.inserts,
        snapshot.removals,
        snapshot.loads_succeeded,
        snapshot.loads_failed,
        tiers.l2_hits,
        tiers.l2_errors,
        tiers.l2_writes_skipped,
        tiers.stale_served,
    ]
}

/// A region's counters summed over every instance that flushed them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FleetStats {
    /// The region.
    pub region: String,
    /// Gets that found a value, on every instance.
    pub hits: u64,
    /// Gets that found none.
    pub misses: u64,
    /// `hits / (hits + misses)`; `None` without gets.
    pub hit_rate: Option<f64>,
    /// Values stored.
    pub inserts: u64,
    /// Entries removed on request.
    pub removals: u64,
    /// Loads that succeeded.
    pub loads_succeeded: u64,
    /// Loads that failed.
    pub loads_failed: u64,
    /// Gets answered by Redis.
    pub l2_hits: u64,
    /// Redis operations that failed.
    pub l2_errors: u64,
    /// Writes that could not reach Redis.
    pub l2_writes_skipped: u64,
    /// Expired values served by the fail-safe.
    pub stale_served: u64,
}

/// What one instance already flushed, per region.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    flushed: Mutex<HashMap<String, [u64; 10]>>,
    /// One flush at a time (the periodic one and an explicit one).
    flushing: tokio::sync::Mutex<()>,
}

impl Fleet {
    fn key(link: &RedisLink, region: &str) -> String {
        format!("{}:fleet:{region}", link.config().prefix)
    }

    /// Adds what `snapshots` counted since the last flush to the fleet's
    /// hashes. Awaited in the I/O context.
    ///
    /// # Errors
    ///
    /// Redis failed: the deltas are sent by the next flush.
    pub(crate) async fn flush(
        &self,
        link: &RedisLink,
        snapshots: &[StatsSnapshot],
    ) -> Result<(), RedisError> {
        let _one = self.flushing.lock().await;
        let now: Vec<(String, [u64; 10])> = snapshots
            .iter()
            .map(|snapshot| (snapshot.region.clone(), counts(snapshot)))
            .collect();
        // One transaction per region (its hash): on a cluster, regions'
        // hashes live in different slots.
        let mut pipelines = Vec::new();
        {
            let flushed = self
                .flushed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (region, counts) in &now {
                let before = flushed.get(region).copied().unwrap_or_default();
                let mut pipe = redis::pipe();
                pipe.atomic();
                let mut any = false;
                for ((field, now), before) in FIELDS.iter().zip(counts).zip(before) {
                    // Counters only grow; a smaller one (restored stats
                    // replaced) contributes nothing.
                    let delta = now.saturating_sub(before);
                    if delta > 0 {
                        pipe.cmd("HINCRBY")
                            .arg(Fleet::key(link, region))
                            .arg(*field)
                            .arg(delta)
                            .ignore();
                        any = true;
                    }
                }
                if any {
                    pipelines.push((region.clone(), *counts, pipe));
                }
            }
        }
        if pipelines.is_empty() {
            return Ok(());
        }
        let regions = pipelines.len();
        // The regions whose deltas reached Redis.
        let mut done: Vec<(String, [u64; 10])> = Vec::with_capacity(regions);
        let done_here = &mut done;
        let outcome = link
            .call(
                "HINCRBY (fleet statistics)",
                || format!("{regions} regions"),
                |connection| async move {
                    let (flushed_now, pipelines): (Vec<(String, [u64; 10])>, Vec<redis::Pipeline>) =
                        pipelines
                            .into_iter()
                            .map(|(region, counts, pipe)| ((region, counts), pipe))
                            .unzip();
                    if !connection.is_cluster() {
                        // One round trip: every region's increments in one
                        // transaction.
                        let mut all = redis::pipe();
                        for pipe in &pipelines {
                            for command in pipe.cmd_iter() {
                                all.add_command(command.clone()).ignore();
                            }
                        }
                        let mut connection = connection;
                        all.atomic().query_async::<()>(&mut connection).await?;
                        done_here.extend(flushed_now);
                        return Ok(());
                    }
                    let answers = connection.query_all::<()>(pipelines).await;
                    let mut first_failure = None;
                    for (region, answer) in flushed_now.into_iter().zip(answers) {
                        match answer {
                            Ok(()) => done_here.push(region),
                            Err(error) => {
                                first_failure.get_or_insert(error);
                            }
                        }
                    }
                    first_failure.map_or(Ok(()), Err)
                },
            )
            .await;
        self.flushed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(done);
        outcome
    }

    /// The fleet's counters for `region`. Awaited in the I/O context.
    ///
    /// # Errors
    ///
    /// Redis failed.
    pub(crate) async fn read(link: &RedisLink, region: &str) -> Result<FleetStats, RedisError> {
        let key = Fleet::key(link, region);
        let key = &key;
        let outcome = link
            .call(
                "HGETALL",
                || format!("key `{key}`"),
                |mut connection| async move {
                    redis::cmd("HGETALL")
                        .arg(key.as_str())
                        .query_async::<HashMap<String, u64>>(&mut connection)
                        .await
                },
            )
            .await;
        let fields = outcome?;
        let get = |name: &str| fields.get(name).copied().unwrap_or(0);
        let (hits, misses) = (get("hits"), get("misses"));
        Ok(FleetStats {
            region: region.to_owned(),
            hits,
            misses,
            hit_rate: (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64),
            inserts: get("inserts"),
            removals: get("removals"),
            loads_succeeded: get("loads_succeeded"),
            loads_failed: get("loads_failed"),
            l2_hits: get("l2_hits"),
            l2_errors: get("l2_errors"),
            l2_writes_skipped: get("l2_writes_skipped"),
            stale_served: get("stale_served"),
        })
    }
}
