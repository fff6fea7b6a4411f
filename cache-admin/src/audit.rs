//! [`OperationLog`]: the admin API's own audit trail: every mutation made
//! through it (configuration and operations alike), who made it (the
//! token's name), when, why, what it touched and how it ended.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

/// One mutation made through the admin API.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OperationRecord {
    /// Its position in this instance's trail, from 1.
    pub id: u64,
    /// When, Unix milliseconds.
    pub at_unix_ms: u64,
    /// The token's name.
    pub actor: String,
    /// What was asked: `clear`, `configure`, `policy`, `refresh`,
    /// `rollback`, `delete_entry`.
    pub action: String,
    /// The region, for a region's operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Why, as the caller said (empty when they did not).
    pub reason: String,
    /// What it changed or asked for, in words (never a key or value of a
    /// sensitive region).
    pub detail: String,
    /// `ok`, or the error's code.
    pub result: String,
    /// The configuration version it produced, for a configuration change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_version: Option<u64>,
}

/// The bounded in-memory trail of this instance.
#[derive(Debug)]
pub(crate) struct OperationLog {
    records: Mutex<(u64, VecDeque<OperationRecord>)>,
    capacity: usize,
}

/// What an operation was, before it is recorded.
pub(crate) struct Operation<'a> {
    pub(crate) actor: &'a str,
    pub(crate) action: &'static str,
    pub(crate) region: Option<&'a str>,
    pub(crate) reason: &'a str,
    pub(crate) detail: String,
}

impl OperationLog {
    pub(crate) fn new(capacity: usize) -> OperationLog {
        OperationLog {
            records: Mutex::new((0, VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// Records `operation` with its outcome (`Ok(version)` or the error's
    /// code).
    pub(crate) fn record(&self, operation: Operation<'_>, result: Result<Option<u64>, &str>) {
        let mut guard = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0 += 1;
        let record = OperationRecord {
            id: guard.0,
            at_unix_ms: now_ms(),
            actor: operation.actor.to_owned(),
            action: operation.action.to_owned(),
            region: operation.region.map(str::to_owned),
            reason: operation.reason.to_owned(),
            detail: operation.detail,
            result: match result {
                Ok(_) => String::from("ok"),
                Err(code) => code.to_owned(),
            },
            config_version: result.ok().flatten(),
        };
        if guard.1.len() == self.capacity {
            guard.1.pop_front();
        }
        guard.1.push_back(record);
    }

    /// The records, oldest first, optionally only `region`'s.
    pub(crate) fn list(&self, region: Option<&str>) -> Vec<OperationRecord> {
        let guard = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .1
            .iter()
            .filter(|record| region.is_none_or(|region| record.region.as_deref() == Some(region)))
            .cloned()
            .collect()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
