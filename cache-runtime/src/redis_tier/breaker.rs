//! [`Breaker`]: a circuit breaker that stops a dead or stalled Redis from
//! costing every caller a timeout.
//!
//! Closed, every operation goes to Redis. After `threshold` consecutive
//! failures (timeouts, broken connections) it opens: operations fail at once
//! with the time left before the next try. When that time is up, one caller
//! is let through as a probe (the others keep failing fast); its success
//! closes the breaker, its failure opens it again for twice as long, up to
//! `max_open` (2 s by default, so Redis is tried again within 2 s of
//! answering). Each opening is shortened by up to a quarter at random, so
//! the instances of a fleet do not probe a recovering server in step. A
//! success at any time resets the count.
//!
//! The closed path is one relaxed atomic load, so a healthy tier pays
//! nothing for it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When to open and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub(crate) threshold: u32,
    /// How long it stays open the first time.
    pub(crate) open_for: Duration,
    /// The longest it stays open (the time doubles with each failed probe).
    pub(crate) max_open: Duration,
}

impl Default for BreakerSettings {
    /// Open after 3 failures, for 500 ms, then up to 2 s.
    fn default() -> BreakerSettings {
        BreakerSettings {
            threshold: 3,
            open_for: Duration::from_millis(500),
            max_open: Duration::from_secs(2),
        }
    }
}

/// The breaker's state, shared by every caller of one server.
#[derive(Debug)]
pub(crate) struct Breaker {
    settings: BreakerSettings,
    origin: Instant,
    /// Consecutive failures.
    failures: AtomicU32,
    /// Milliseconds since `origin` until which the breaker is open; 0 when
    /// closed.
    open_until: AtomicU64,
    /// How many times it opened.
    opened: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings: BreakerSettings {
                threshold: settings.threshold.max(1),
                ..settings
            },
            origin: Instant::now(),
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            opened: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        // +1 so that 0 always means "closed".
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Whether an operation may go to Redis now; when not, how long until
    /// the next probe.
    pub(crate) fn admit(&self) -> Result<(), Duration> {
        let until = self.open_until.load(Ordering::Relaxed);
        if until == 0 {
            return Ok(());
        }
        let now = self.now_ms();
        if now < until {
            return Err(Duration::from_millis(until - now));
        }
        // Half open: the caller that moves the deadline is the probe; it
        // gets as long as the first opening to report back.
        let probe_deadline = now + duration_ms(self.settings.open_for);
        match self.open_until.compare_exchange(
            until,
            probe_deadline,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => Ok(()),
            Err(0) => Ok(()),
            Err(other) => Err(Duration::from_millis(other.saturating_sub(now))),
        }
    }

    /// Records a success: closes the breaker.
    #[inline]
    pub(crate) fn success(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.open_until.load(Ordering::Relaxed) != 0 {
            self.open_until.store(0, Ordering::Release);
        }
    }

    /// Records a failure: opens the breaker after `threshold` in a row.
    pub(crate) fn failure(&self) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures < self.settings.threshold {
            return;
        }
        // 1x, 2x, 4x ... the first opening, up to the maximum.
        let doublings = (failures - self.settings.threshold).min(16);
        let open_for = self
            .settings
            .open_for
            .saturating_mul(1 << doublings)
            .min(self.settings.max_open.max(self.settings.open_for));
        self.open_until.store(
            self.now_ms() + duration_ms(jittered(open_for)).max(1),
            Ordering::Release,
        );
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether operations are being refused now.
    pub(crate) fn is_open(&self) -> bool {
        let until = self.open_until.load(Ordering::Relaxed);
        until != 0 && self.now_ms() < until
    }

    /// How many times the breaker opened.
    pub(crate) fn times_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }
}

/// `duration` shortened by a random 0-25 %, so that many waiters (the
/// instances of a fleet, a process's connections) do not retry in step.
pub(crate) fn jittered(duration: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    // 0..=255, as a share of a quarter.
    let roll = u32::from(hasher.finish().to_le_bytes()[0]);
    duration.saturating_sub(duration.mul_f64(f64::from(roll) / 1024.0))
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(open_for_ms: u64) -> Breaker {
        Breaker::new(BreakerSettings {
            threshold: 3,
            open_for: Duration::from_millis(open_for_ms),
            max_open: Duration::from_millis(open_for_ms * 4),
        })
    }

    #[test]
    fn opens_after_the_threshold_and_not_before() {
        let breaker = breaker(60_000);
        breaker.failure();
        breaker.failure();
        assert!(breaker.admit().is_ok());
        breaker.failure();
        let retry_in = breaker.admit().expect_err("open");
        // 60 s less up to a quarter of jitter.
        assert!(retry_in <= Duration::from_secs(60) && retry_in > Duration::from_secs(44));
        assert!(breaker.is_open());
        assert_eq!(breaker.times_opened(), 1);
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = breaker(60_000);
        breaker.failure();
        breaker.failure();
        breaker.success();
        breaker.failure();
        breaker.failure();
        assert!(breaker.admit().is_ok());
    }

    #[test]
    fn one_probe_when_the_time_is_up_and_its_success_closes() {
        let breaker = breaker(20);
        for _ in 0..3 {
            breaker.failure();
        }
        assert!(breaker.admit().is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.admit().is_ok(), "the probe");
        assert!(breaker.admit().is_err(), "others wait for the probe");
        breaker.success();
        assert!(breaker.admit().is_ok());
        assert!(breaker.admit().is_ok());
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_failed_probe_opens_for_longer_up_to_the_maximum() {
        let breaker = breaker(20);
        for _ in 0..3 {
            breaker.failure();
        }
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.admit().is_ok());
        breaker.failure();
        let second = breaker.admit().expect_err("open again");
        assert!(second > Duration::from_millis(20), "{second:?}");
        for _ in 0..10 {
            breaker.failure();
        }
        let capped = breaker.admit().expect_err("open");
        assert!(capped <= Duration::from_millis(80), "{capped:?}");
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter_and_varies() {
        let base = Duration::from_secs(2);
        let rolls: Vec<Duration> = (0..200).map(|_| jittered(base)).collect();
        assert!(rolls.iter().all(|d| *d <= base && *d >= base * 3 / 4));
        let first = rolls[0];
        assert!(rolls.iter().any(|d| *d != first), "not all in step");
    }
}
