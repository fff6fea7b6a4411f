//! [`AdminState`]: what every handler shares — the manager, the
//! configuration, the operation log and the per-token rate limiter.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cache_runtime::CacheManager;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::alerts::Alerting;
use crate::audit::{Operation, OperationLog};
use crate::auth::Caller;
use crate::config::AdminConfig;
use crate::error::ApiError;

/// The admin API's shared state (cheap to clone).
#[derive(Clone)]
pub(crate) struct AdminState {
    inner: Arc<Inner>,
}

struct Inner {
    manager: CacheManager,
    config: AdminConfig,
    log: OperationLog,
    limiter: DefaultKeyedRateLimiter<String>,
    closing: AtomicBool,
    alerting: Arc<Alerting>,
}

impl AdminState {
    pub(crate) fn new(manager: CacheManager, config: AdminConfig) -> AdminState {
        let quota = Quota::per_minute(config.mutations_per_minute);
        let alerting = Arc::new(Alerting::new(config.alerts.clone(), &manager));
        Alerting::start(&alerting, manager.clone());
        AdminState {
            inner: Arc::new(Inner {
                log: OperationLog::new(config.audit_capacity),
                limiter: DefaultKeyedRateLimiter::keyed(quota),
                manager,
                config,
                closing: AtomicBool::new(false),
                alerting,
            }),
        }
    }

    pub(crate) fn manager(&self) -> &CacheManager {
        &self.inner.manager
    }

    pub(crate) fn config(&self) -> &AdminConfig {
        &self.inner.config
    }

    pub(crate) fn alerting(&self) -> &Arc<Alerting> {
        &self.inner.alerting
    }

    pub(crate) fn log(&self) -> &OperationLog {
        &self.inner.log
    }

    pub(crate) fn closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
    }

    /// Counts a mutation against `caller`'s quota: 429 with the seconds to
    /// wait when it is spent.
    pub(crate) fn allow_mutation(&self, caller: &Caller) -> Result<(), ApiError> {
        match self.inner.limiter.check_key(&caller.name) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::too_many(wait.as_secs().max(1)))
            }
        }
    }

    /// Runs a mutation: rate limited, then recorded in the operation log
    /// with its outcome.
    pub(crate) async fn mutate<T, F>(&self, operation: Operation<'_>, run: F) -> Result<T, ApiError>
    where
        F: std::future::Future<Output = Result<(T, Option<u64>), ApiError>>,
    {
        let result = run.await;
        match &result {
            Ok((_, version)) => self.log().record(operation, Ok(*version)),
            Err(error) => {
                let code = error.code();
                self.log().record(operation, Err(code));
            }
        }
        result.map(|(value, _)| value)
    }
}
