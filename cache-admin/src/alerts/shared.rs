//! The fleet's alerting state in Redis: one shared document (rules,
//! silences, alert states and history, as the state file holds them) that
//! every instance reads and changes with compare-and-set, and a lease that
//! makes one instance the fleet's notifier: it evaluates and notifies,
//! writing what it notified into the shared state before sending, so that
//! neither a second instance nor a restart pages again.

#[cfg(feature = "redis")]
mod on {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    use cache_runtime::CacheManager;
    use cache_runtime::redis::SharedDocuments;

    use super::super::Doc;
    use super::super::store::Saved;

    /// The shared document's name (`{prefix}:shared:alerts`).
    const DOCUMENT: &str = "alerts";
    /// The notifier lease's name (`{prefix}:lease:alerts-notifier`).
    const LEASE: &str = "alerts-notifier";
    /// The group of instances sharing the state (`{prefix}:members:alerts`).
    const GROUP: &str = "alerts";
    /// A member not heard from for this long is forgotten (its alert
    /// resolves): it is gone for good.
    const FORGET_AFTER: Duration = Duration::from_secs(86_400);
    /// The state format in the document.
    const FORMAT: u32 = 1;

    /// This instance's handle on the fleet's state.
    pub(crate) struct Shared {
        documents: SharedDocuments,
        /// The newest revision this instance took.
        seen: AtomicU64,
        /// This instance evaluated on its own while Redis failed.
        local: AtomicBool,
    }

    impl Shared {
        /// The fleet's state, when the manager has Redis.
        pub(crate) fn of(manager: &CacheManager) -> Option<Shared> {
            manager.shared_documents().map(|documents| Shared {
                documents,
                seen: AtomicU64::new(0),
                local: AtomicBool::new(false),
            })
        }

        /// This instance's id as the notifier.
        pub(crate) fn holder(&self) -> &str {
            self.documents.holder()
        }

        /// Takes or renews the notifier lease: three evaluation intervals,
        /// at least 2 s, so a notifier that stops is replaced soon after.
        pub(crate) async fn lease(&self, every: Duration) -> Result<bool, String> {
            let ttl = (every * 3).max(Duration::from_secs(2));
            self.documents
                .hold_lease(LEASE, ttl)
                .await
                .map_err(|error| error.to_string())
        }

        /// The shared state: its revision (0: never written), the document
        /// (`local()` when none was written, or when it cannot be read:
        /// the next write replaces it), and when it was last evaluated.
        pub(crate) async fn load(
            &self,
            local: impl FnOnce() -> Doc,
        ) -> Result<(u64, Doc, u64), String> {
            let stored = self
                .documents
                .get(DOCUMENT)
                .await
                .map_err(|error| error.to_string())?;
            let Some(stored) = stored else {
                return Ok((0, local(), 0));
            };
            match serde_json::from_str::<Saved>(&stored.body) {
                Ok(saved) if saved.format == FORMAT && saved.rules.check().is_empty() => Ok((
                    stored.revision,
                    Doc {
                        version: saved.version,
                        rules: saved.rules,
                        engine: saved.state,
                    },
                    saved.evaluated_at_ms,
                )),
                Ok(_) | Err(_) => {
                    tracing::error!(
                        target: "cache_admin::alerts",
                        revision = stored.revision,
                        "the fleet's alerting state in Redis is not readable by this version; it is replaced by this instance's"
                    );
                    Ok((stored.revision, local(), 0))
                }
            }
        }

        /// Writes `doc` over revision `revision`; the new revision, or
        /// `None` when another instance wrote first.
        pub(crate) async fn store(
            &self,
            revision: u64,
            doc: &Doc,
            evaluated_at_ms: u64,
        ) -> Result<Option<u64>, String> {
            let body = serde_json::to_string(&Saved {
                format: FORMAT,
                version: doc.version,
                rules: doc.rules.clone(),
                state: doc.engine.clone(),
                evaluated_at_ms,
                notifier: Some(self.holder().to_owned()),
            })
            .map_err(|error| error.to_string())?;
            self.documents
                .put(DOCUMENT, revision, &body)
                .await
                .map_err(|error| error.to_string())
        }

        /// Says this instance is there.
        pub(crate) async fn beat(&self) {
            let _ = self.documents.beat(GROUP).await;
        }

        /// The other instances and how many seconds ago each was last
        /// heard from; members silent for a day are forgotten.
        pub(crate) async fn members(&self) -> Vec<(String, f64)> {
            let Ok(members) = self.documents.members(GROUP).await else {
                return Vec::new();
            };
            let mut heard = Vec::with_capacity(members.len());
            for member in members {
                if member.age > FORGET_AFTER {
                    let _ = self.documents.forget(GROUP, &member.holder).await;
                } else if member.holder != self.holder() {
                    heard.push((member.holder, member.age.as_secs_f64()));
                }
            }
            heard
        }

        /// Leaves the group and gives the lease up (a clean stop: no
        /// instance-missing alert, and another instance notifies at once).
        pub(crate) fn leave(
            &self,
            notifying: bool,
        ) -> impl std::future::Future<Output = ()> + Send + 'static {
            let documents = self.documents.clone();
            async move {
                let _ = documents.leave(GROUP).await;
                if notifying {
                    let _ = documents.release_lease(LEASE).await;
                }
            }
        }

        /// Whether `revision` is newer than the one this instance took.
        pub(crate) fn newer(&self, revision: u64) -> bool {
            revision > self.seen.load(Ordering::Acquire)
        }

        /// Notes that this instance took `revision`.
        pub(crate) fn seen(&self, revision: u64) {
            self.seen.fetch_max(revision, Ordering::AcqRel);
        }

        /// Notes a round evaluated locally (Redis failing).
        pub(crate) fn went_local(&self) {
            self.local.store(true, Ordering::Release);
        }

        /// Whether rounds were evaluated locally since the last call.
        pub(crate) fn take_local(&self) -> bool {
            self.local.swap(false, Ordering::AcqRel)
        }
    }
}

#[cfg(feature = "redis")]
pub(crate) use on::Shared;

/// Without the `redis` feature there is no fleet state: every instance
/// alerts on its own.
#[cfg(not(feature = "redis"))]
pub(crate) enum Shared {}

#[cfg(not(feature = "redis"))]
impl Shared {
    pub(crate) fn of(_: &cache_runtime::CacheManager) -> Option<Shared> {
        None
    }

    pub(crate) fn holder(&self) -> &str {
        match *self {}
    }

    pub(crate) async fn lease(&self, _: std::time::Duration) -> Result<bool, String> {
        match *self {}
    }

    pub(crate) async fn load(
        &self,
        _: impl FnOnce() -> super::Doc,
    ) -> Result<(u64, super::Doc, u64), String> {
        match *self {}
    }

    pub(crate) async fn store(
        &self,
        _: u64,
        _: &super::Doc,
        _: u64,
    ) -> Result<Option<u64>, String> {
        match *self {}
    }

    pub(crate) fn newer(&self, _: u64) -> bool {
        match *self {}
    }

    pub(crate) async fn beat(&self) {
        match *self {}
    }

    pub(crate) async fn members(&self) -> Vec<(String, f64)> {
        match *self {}
    }

    pub(crate) fn leave(&self, _: bool) -> std::future::Ready<()> {
        match *self {}
    }

    pub(crate) fn seen(&self, _: u64) {
        match *self {}
    }

    pub(crate) fn went_local(&self) {
        match *self {}
    }

    pub(crate) fn take_local(&self) -> bool {
        match *self {}
    }
}
