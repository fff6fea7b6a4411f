//! [`StatsWorker`]: a std thread that ticks every region once a second (for
//! the windows and the last access) and saves the statistics periodically
//! and once more when stopped.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::StatsRegistry;

/// The shortest interval the worker accepts, so that a zero does not spin.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// A background thread (named `cache-stats`) that keeps a [`StatsRegistry`]'s
/// windows current and, with [`save_to`](StatsWorkerBuilder::save_to), saves
/// it every [`save_every`](StatsWorkerBuilder::save_every) and once more on
/// [`shutdown`](StatsWorker::shutdown) or drop. No async runtime involved.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use cache_runtime::stats::{StatsRegistry, StatsWorker};
///
/// # let folder = std::env::temp_dir().join(format!("stats-worker-doc-{}", std::process::id()));
/// let path = folder.join("stats.json");
/// let stats = Arc::new(StatsRegistry::new(["users"]));
/// println!("{}", stats.restore(&path, Duration::from_secs(24 * 3600)));
/// let worker = StatsWorker::builder(Arc::clone(&stats))
///     .save_to(&path)
///     .save_every(Duration::from_secs(60))
///     .spawn()?;
/// stats.get(0).expect("users").hit();
/// worker.shutdown()?; // saves once more
/// assert!(path.exists());
/// # std::fs::remove_dir_all(&folder)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct StatsWorker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct Progress {
    saves: AtomicU64,
    failed_saves: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl StatsWorker {
    /// A builder for a worker over `stats`.
    pub fn builder(stats: Arc<StatsRegistry>) -> StatsWorkerBuilder {
        StatsWorker::following(Arc::new(move || Arc::clone(&stats)))
    }

    /// A builder for a worker over whatever registry `current` returns at
    /// each tick and save (a manager's, which grows as regions are added).
    pub(crate) fn following(current: StatsSource) -> StatsWorkerBuilder {
        StatsWorkerBuilder {
            stats: current,
            save_to: None,
            save_every: Duration::from_secs(60),
            tick_every: Duration::from_secs(1),
            gauges: None,
        }
    }

    /// Periodic saves that succeeded so far (not counting the final one).
    pub fn saves(&self) -> u64 {
        self.progress.saves.load(Ordering::Relaxed)
    }

    /// Periodic saves that failed so far; each is retried at the next period.
    pub fn failed_saves(&self) -> u64 {
        self.progress.failed_saves.load(Ordering::Relaxed)
    }

    /// The message of the last failed periodic save, if any failed.
    pub fn last_error(&self) -> Option<String> {
        self.progress
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the thread and saves once more (with a save path).
    ///
    /// # Errors
    ///
    /// The final save's I/O error, or `Other` if the thread panicked.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        // Dropping the sender wakes the thread at once.
        drop(self.stop.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the statistics worker panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for StatsWorker {
    /// Stops the thread and saves once more, ignoring a failure (use
    /// [`shutdown`](StatsWorker::shutdown) to see it).
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

impl fmt::Debug for StatsWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsWorker")
            .field("running", &self.thread.is_some())
            .field("saves", &self.saves())
            .field("failed_saves", &self.failed_saves())
            .finish()
    }
}

/// Where a worker finds the registry to tick and save, each time.
pub(crate) type StatsSource = Arc<dyn Fn() -> Arc<StatsRegistry> + Send + Sync>;

/// Builds a [`StatsWorker`]: where and how often to save, how often to tick.
#[must_use]
pub struct StatsWorkerBuilder {
    stats: StatsSource,
    save_to: Option<PathBuf>,
    save_every: Duration,
    tick_every: Duration,
    /// Sets the regions' gauges before a tick, at most this often.
    gauges: Option<(GaugeRefresh, Duration)>,
}

/// Sets the entry and byte gauges of every region (the manager's).
pub(crate) type GaugeRefresh = Arc<dyn Fn() + Send + Sync>;

impl fmt::Debug for StatsWorkerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsWorkerBuilder")
            .field("save_to", &self.save_to)
            .field("save_every", &self.save_every)
            .field("tick_every", &self.tick_every)
            .finish_non_exhaustive()
    }
}

impl StatsWorkerBuilder {
    /// Saves to `path` (see [`StatsRegistry::save`]) periodically and on
    /// shutdown. Without it the worker only ticks.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use cache_runtime::stats::{StatsRegistry, StatsWorker};
    /// # let stats = Arc::new(StatsRegistry::new(["users"]));
    /// let builder = StatsWorker::builder(stats).save_to("/var/lib/app/cache-stats.json");
    /// ```
    pub fn save_to(mut self, path: impl Into<PathBuf>) -> StatsWorkerBuilder {
        self.save_to = Some(path.into());
        self
    }

    /// How often to save; default 60 s.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use cache_runtime::stats::{StatsRegistry, StatsWorker};
    /// # let stats = Arc::new(StatsRegistry::new(["users"]));
    /// let builder = StatsWorker::builder(stats)
    ///     .save_to("cache-stats.json")
    ///     .save_every(Duration::from_secs(300));
    /// ```
    pub fn save_every(mut self, every: Duration) -> StatsWorkerBuilder {
        self.save_every = every.max(MIN_INTERVAL);
        self
    }

    /// How often to tick every region; default 1 s, the windows'
    /// resolution. Activity is dated by the tick that sees it, so a longer
    /// interval blurs the windows.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use cache_runtime::stats::{StatsRegistry, StatsWorker};
    /// # let stats = Arc::new(StatsRegistry::new(["users"]));
    /// let builder = StatsWorker::builder(stats).tick_every(Duration::from_millis(500));
    /// ```
    pub fn tick_every(mut self, every: Duration) -> StatsWorkerBuilder {
        self.tick_every = every.max(MIN_INTERVAL);
        self
    }

    /// Sets the regions' gauges with `refresh` before a tick, every
    /// `every`, so that the history's points carry them.
    pub(crate) fn refresh_gauges(mut self, refresh: GaugeRefresh, every: Duration) -> Self {
        self.gauges = Some((refresh, every.max(MIN_INTERVAL)));
        self
    }

    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// The operating system refused to create a thread.
    pub fn spawn(self) -> io::Result<StatsWorker> {
        let (stop, stopped) = mpsc::channel::<()>();
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name(String::from("cache-stats"))
            .spawn(move || self.run(&stopped, &shared))?;
        Ok(StatsWorker {
            stop: Some(stop),
            thread: Some(thread),
            progress,
        })
    }

    fn run(self, stopped: &mpsc::Receiver<()>, progress: &Progress) -> io::Result<()> {
        let start = Instant::now();
        let mut next_tick = start + self.tick_every;
        let mut next_save = start + self.save_every;
        let mut next_gauges = start;
        loop {
            let wake = match self.save_to {
                Some(_) => next_tick.min(next_save),
                None => next_tick,
            };
            match stopped.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            if now >= next_tick {
                if let Some((refresh, every)) = &self.gauges
                    && now >= next_gauges
                {
                    refresh();
                    next_gauges = now + *every;
                }
                (self.stats)().tick();
                next_tick += self.tick_every;
                if next_tick <= now {
                    next_tick = now + self.tick_every;
                }
            }
            if let Some(path) = &self.save_to
                && now >= next_save
            {
                match (self.stats)().save(path) {
                    Ok(()) => {
                        progress.saves.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        progress.failed_saves.fetch_add(1, Ordering::Relaxed);
                        *progress
                            .last_error
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner) =
                            Some(format!("{}: {error}", path.display()));
                    }
                }
                next_save = now + self.save_every;
            }
        }
        match &self.save_to {
            Some(path) => (self.stats)().save(path),
            None => {
                (self.stats)().tick();
                Ok(())
            }
        }
    }
}
