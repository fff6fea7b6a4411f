//! Fleet-wide clears: one instance asks every instance sharing its Redis
//! to clear a region (or the keys matching a pattern) and counts who
//! answered.
//!
//! The request is published on `{prefix}:fleet:clear` as
//! `{"id", "from", "region", "pattern"}`; `PUBLISH` answers how many
//! subscribers received it, so the asker knows how many answers to wait
//! for (every subscriber but its own). Each other instance's backplane
//! subscriber runs the clear on its own manager and publishes
//! `{"id", "from", "removed" | "error"}` on `{prefix}:fleet:cleared`; the
//! asker collects the answers for its request until all came or its wait
//! ran out. Instances that were not subscribed at that moment (Redis
//! unreachable, still starting) are neither reached nor counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::future::BoxFuture;

/// Runs a clear asked for by another instance on this one: the region and
/// the pattern (`None`: the whole region); how many entries it removed, or
/// why it could not.
pub(crate) type ClearHandler =
    Arc<dyn Fn(String, Option<String>) -> BoxFuture<'static, Result<u64, String>> + Send + Sync>;

/// A clear asked of every instance.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) id: String,
    pub(crate) from: String,
    pub(crate) region: String,
    pub(crate) pattern: Option<String>,
}

/// One instance's answer to a [`Request`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub(crate) id: String,
    pub(crate) from: String,
    #[serde(default)]
    pub(crate) removed: Option<u64>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// One other instance's answer to a fleet clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FleetAnswer {
    /// The answering instance's id (random per manager).
    pub instance: String,
    /// Entries it removed (its memory level, and its second level where
    /// that is not shared with the asker).
    pub removed: Option<u64>,
    /// Why it could not clear (e.g. it has no such region).
    pub error: Option<String>,
}

/// What a fleet clear did: on this instance, and on the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FleetClear {
    /// The region.
    pub region: String,
    /// The pattern, or `None` for the whole region.
    pub pattern: Option<String>,
    /// This instance's id.
    pub instance: String,
    /// Entries removed on this instance (a shared Redis level included).
    pub removed: u64,
    /// Other instances the request reached (subscribers of the fleet
    /// channel other than this one).
    pub reached: u64,
    /// Their answers, in the order they came; fewer than `reached` when
    /// some did not answer within the wait.
    pub answers: Vec<FleetAnswer>,
}

/// The fleet-clear side of a backplane: its channels, this instance's
/// handler, and the requests waiting for answers.
pub(crate) struct FleetClears {
    pub(crate) request_channel: String,
    pub(crate) reply_channel: String,
    handler: RwLock<Option<ClearHandler>>,
    waiting: Mutex<HashMap<String, mpsc::UnboundedSender<FleetAnswer>>>,
}

impl FleetClears {
    pub(crate) fn new(prefix: &str) -> FleetClears {
        FleetClears {
            request_channel: format!("{prefix}:fleet:clear"),
            reply_channel: format!("{prefix}:fleet:cleared"),
            handler: RwLock::new(None),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn set_handler(&self, handler: ClearHandler) {
        *self.handler.write().unwrap_or_else(PoisonError::into_inner) = Some(handler);
    }

    pub(crate) fn handler(&self) -> Option<ClearHandler> {
        self.handler
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts waiting for the answers to request `id`; dropping the
    /// [`Waiting`] stops.
    pub(crate) fn wait_for(self: &Arc<Self>, id: &str) -> Waiting {
        let (sender, answers) = mpsc::unbounded_channel();
        self.lock().insert(id.to_owned(), sender);
        Waiting {
            clears: Arc::clone(self),
            id: id.to_owned(),
            answers,
        }
    }

    /// Hands an answer to the request waiting for it (answers to requests
    /// nobody here waits for are other instances' business).
    pub(crate) fn deliver_reply(&self, reply: Reply) {
        if let Some(sender) = self.lock().get(&reply.id) {
            let _ = sender.send(FleetAnswer {
                instance: reply.from,
                removed: reply.removed,
                error: reply.error,
            });
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<FleetAnswer>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request's answers as they come.
pub(crate) struct Waiting {
    clears: Arc<FleetClears>,
    id: String,
    pub(crate) answers: mpsc::UnboundedReceiver<FleetAnswer>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.clears.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_reach_only_the_request_waiting_for_them() {
        let clears = Arc::new(FleetClears::new("app"));
        assert_eq!(clears.request_channel, "app:fleet:clear");
        let mut waiting = clears.wait_for("r1");
        let reply = |id: &str| Reply {
            id: id.into(),
            from: "b".into(),
            removed: Some(3),
            error: None,
        };
        clears.deliver_reply(reply("other"));
        clears.deliver_reply(reply("r1"));
        let answer = waiting.answers.try_recv().expect("an answer");
        assert_eq!((answer.instance.as_str(), answer.removed), ("b", Some(3)));
        assert!(waiting.answers.try_recv().is_err());
        drop(waiting);
        assert!(clears.lock().is_empty(), "a finished request stops waiting");
    }

    #[test]
    fn messages_read_back_as_written() {
        let request = Request {
            id: "r".into(),
            from: "a".into(),
            region: "users".into(),
            pattern: Some("user:*".into()),
        };
        let text = serde_json::to_string(&request).expect("json");
        let back: Request = serde_json::from_str(&text).expect("parse");
        assert_eq!(
            (back.region.as_str(), back.pattern.as_deref()),
            ("users", Some("user:*"))
        );
        let reply: Reply =
            serde_json::from_str(r#"{"id":"r","from":"b","error":"no region"}"#).expect("parse");
        assert_eq!(
            (reply.removed, reply.error.as_deref()),
            (None, Some("no region"))
        );
    }
}
