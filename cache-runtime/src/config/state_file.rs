//! [`FileState`]: run-time overrides and the audit trail in one JSON file,
//! where a manager without Redis keeps them.
//!
//! The document:
//!
//! ```json
//! { "format": 1, "version": 3, "overrides": {"users": {"ttl": "10m"}},
//!   "history": [{"version": 1, ...}, {"version": 2, ...}, {"version": 3, ...}] }
//! ```
//!
//! A commit re-reads the file under a lock that every process sharing the
//! file respects (an advisory exclusive lock, `File::lock`, on
//! `<file>.lock` beside it: the state file itself is replaced by a rename,
//! so it cannot carry the lock), checks that its version is still the one
//! the record follows, and replaces the file
//! atomically (`cache_spec::persist::atomic_write`: temporary file in the
//! same folder, written, synced, renamed, folder synced), so a crash leaves
//! the old document or the new one. A file that cannot be read or parsed
//! is an error, never an empty state: it is left as it is for someone to
//! look at.

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::audit::AuditRecord;
use super::error::ConfigError;
use super::patch::ConfigPatch;
use super::state::{Commit, SharedState, StateStore};
use crate::future::BoxFuture;
use crate::provider::BoxError;

/// The document format this version reads and writes.
const FORMAT: u64 = 1;

/// One commit at a time in this process (whatever the file); the lock file
/// orders processes.
static COMMITS: Mutex<()> = Mutex::new(());

/// The shared state in a JSON file.
#[derive(Debug)]
pub(crate) struct FileState {
    path: PathBuf,
    keep: usize,
}

/// The file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Document {
    format: u64,
    version: u64,
    overrides: ConfigPatch,
    history: Vec<AuditRecord>,
}

/// Just the format, read before the rest so that another format is
/// reported as such rather than as a shape error.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
}

impl FileState {
    /// The state kept in `path` (created, with its folders, on the first
    /// commit), with at most `keep` audit records (at least one).
    pub(crate) fn new(path: PathBuf, keep: usize) -> FileState {
        FileState {
            path,
            keep: keep.max(1),
        }
    }

    fn error(&self, action: &'static str, source: impl Into<BoxError>) -> ConfigError {
        ConfigError::State {
            location: self.location(),
            action,
            source: source.into(),
        }
    }

    /// The document in the file: the empty one when there is no file.
    fn read(&self) -> Result<Document, ConfigError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Document {
                    format: FORMAT,
                    ..Document::default()
                });
            }
            Err(error) => return Err(self.error("read", error)),
        };
        parse(&bytes).map_err(|problem| {
            self.error(
                "read",
                format!(
                    "{problem}; it was left as it is: fix it, or move it away to start with no run-time overrides and no history"
                ),
            )
        })
    }

    /// `<file>.lock`, locked exclusively until the returned file is
    /// dropped (closing it releases the lock, also when a process dies).
    fn lock_processes(&self) -> Result<std::fs::File, ConfigError> {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        let path = self.path.with_file_name(name);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|error| self.error("written", error))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| self.error("locked", error))?;
        file.lock().map_err(|error| self.error("locked", error))?;
        Ok(file)
    }

    fn commit_now(&self, record: &AuditRecord) -> Result<Commit, ConfigError> {
        let _one_at_a_time = COMMITS.lock().unwrap_or_else(PoisonError::into_inner);
        // The re-read, the version check and the write are one step for
        // every process sharing the file.
        let _processes = self.lock_processes()?;
        // No writer of this file runs now: any temporary file of it was
        // left by one that crashed.
        let _ = cache_spec::persist::remove_orphans(&self.path);
        let mut document = self.read()?;
        if document.version.checked_add(1) != Some(record.version) {
            return Ok(Commit::Conflict);
        }
        document.version = record.version;
        document.overrides = record.overrides.clone();
        document.history.push(record.clone());
        let excess = document.history.len().saturating_sub(self.keep);
        document.history.drain(..excess);
        let mut bytes = serde_json::to_vec_pretty(&document).map_err(|error| {
            self.error("written", format!("cannot encode the document: {error}"))
        })?;
        bytes.push(b'\n');
        cache_spec::persist::atomic_write(&self.path, &bytes)
            .map_err(|error| self.error("written", error))?;
        Ok(Commit::Done)
    }
}

/// The document in `bytes`, or what is wrong with them.
fn parse(bytes: &[u8]) -> Result<Document, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(String::from(
            "the file is empty (expected a JSON document with \"format\": 1)",
        ));
    }
    let starts_an_object = bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'{');
    if !starts_an_object {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => String::from("not a configuration state file: expected a JSON object"),
                Err(error) => format!("not valid JSON: {error}"),
            },
        );
    }
    let header: Header =
        serde_json::from_slice(bytes).map_err(|error| format!("not valid JSON: {error}"))?;
    match header.format {
        None => {
            return Err(String::from(
                "not a configuration state file: it has no \"format\" field",
            ));
        }
        Some(format) if format.as_u64() != Some(FORMAT) => {
            return Err(format!(
                "format {format} is not one this version reads (format {FORMAT} only): written by another version?"
            ));
        }
        Some(_) => {}
    }
    serde_json::from_slice(bytes)
        .map_err(|error| format!("corrupt format {FORMAT} document: {error}"))
}

impl StateStore for FileState {
    fn load(&self) -> BoxFuture<'_, Result<SharedState, ConfigError>> {
        Box::pin(async move {
            let document = self.read()?;
            Ok(SharedState {
                version: document.version,
                overrides: document.overrides,
            })
        })
    }

    fn commit<'a>(&'a self, record: &'a AuditRecord) -> BoxFuture<'a, Result<Commit, ConfigError>> {
        Box::pin(async move { self.commit_now(record) })
    }

    fn history(&self) -> BoxFuture<'_, Result<Vec<AuditRecord>, ConfigError>> {
        Box::pin(async move {
            // The newest `keep` (fewer than the file holds when `keep` was
            // lowered since it was written).
            let mut history = self.read()?.history;
            let excess = history.len().saturating_sub(self.keep);
            history.drain(..excess);
            Ok(history)
        })
    }

    fn location(&self) -> String {
        format!("file {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::block_on::block_on;
    use crate::test_support::Scratch;

    /// Version `version`, setting `users.ttl` to `ttl`.
    fn record(version: u64, ttl: &str) -> AuditRecord {
        crate::config::state::test_record(version, ttl, "test@host:1")
    }

    fn versions(history: &[AuditRecord]) -> Vec<u64> {
        history.iter().map(|record| record.version).collect()
    }

    #[test]
    fn commits_read_back_after_a_restart() {
        let scratch = Scratch::new("state-file-round-trip");
        let path = scratch.path().join("nested/folders/state.json");
        let state = FileState::new(path.clone(), 10);
        assert_eq!(block_on(state.load()).unwrap(), SharedState::default());
        assert!(block_on(state.history()).unwrap().is_empty());
        assert!(!path.exists(), "loading creates nothing");

        let first = record(1, "10m");
        assert_eq!(block_on(state.commit(&first)).unwrap(), Commit::Done);
        let second = record(2, "1h");
        assert_eq!(block_on(state.commit(&second)).unwrap(), Commit::Done);

        // Another store on the same file: what a restarted process sees.
        let again = FileState::new(path.clone(), 10);
        let loaded = block_on(again.load()).unwrap();
        assert_eq!(loaded.version, 2);
        assert_eq!(loaded.overrides, second.overrides);
        assert_eq!(block_on(again.history()).unwrap(), vec![first, second]);
        assert_eq!(again.location(), format!("file {}", path.display()));

        let text = fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["format"], 1);
        assert_eq!(json["version"], 2);
        assert_eq!(json["overrides"]["users"]["ttl"], "1h");
        assert_eq!(json["history"][0]["version"], 1);
    }

    #[test]
    fn a_stale_version_is_a_conflict_and_changes_nothing() {
        let scratch = Scratch::new("state-file-conflict");
        let path = scratch.path().join("state.json");
        let state = FileState::new(path.clone(), 10);
        assert_eq!(
            block_on(state.commit(&record(1, "10m"))).unwrap(),
            Commit::Done
        );
        let before = fs::read(&path).unwrap();
        for version in [0, 1, 3, u64::MAX] {
            assert_eq!(
                block_on(state.commit(&record(version, "1h"))).unwrap(),
                Commit::Conflict,
                "version {version}"
            );
        }
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(block_on(state.load()).unwrap().version, 1);
    }

    #[test]
    fn racing_writers_of_one_version_commit_once() {
        let scratch = Scratch::new("state-file-race");
        let path = scratch.path().join("state.json");
        let writers = 8;
        let barrier = Arc::new(Barrier::new(writers));
        let outcomes: Vec<Commit> = (0..writers)
            .map(|_| {
                let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let state = FileState::new(path, 10);
                    barrier.wait();
                    block_on(state.commit(&record(1, "10m"))).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|writer| writer.join().unwrap())
            .collect();
        let done = outcomes.iter().filter(|c| **c == Commit::Done).count();
        assert_eq!(done, 1, "{outcomes:?}");
        let state = FileState::new(path, 10);
        assert_eq!(versions(&block_on(state.history()).unwrap()), vec![1]);
    }

    /// Set in the children of [`racing_processes_lose_and_repeat_no_version`].
    const CHILD_STATE: &str = "CACHE_RUNTIME_TEST_CHILD_STATE";
    /// Commits each child process acknowledges.
    const CHILD_COMMITS: u64 = 25;

    /// A child's part: commit the next version, again on a conflict, until
    /// [`CHILD_COMMITS`] were acknowledged. Returns at once in a plain run.
    #[test]
    fn child_commits_in_a_loop() {
        let Some(path) = std::env::var_os(CHILD_STATE) else {
            return;
        };
        let state = FileState::new(PathBuf::from(path), 10_000);
        let mut acknowledged = 0;
        while acknowledged < CHILD_COMMITS {
            let next = block_on(state.load()).unwrap().version + 1;
            if block_on(state.commit(&record(next, "10m"))).unwrap() == Commit::Done {
                acknowledged += 1;
            }
        }
    }

    #[test]
    fn racing_processes_lose_and_repeat_no_version() {
        let scratch = Scratch::new("state-file-processes");
        let path = scratch.path().join("state.json");
        let children = 4;
        let exe = std::env::current_exe().unwrap();
        let running: Vec<std::process::Child> = (0..children)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "config::state_file::tests::child_commits_in_a_loop",
                        "--test-threads=1",
                        "--quiet",
                    ])
                    .env(CHILD_STATE, &path)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in running {
            assert!(child.wait().unwrap().success(), "a child failed");
        }
        // Every acknowledged commit is in the history, once, in order.
        let state = FileState::new(path, 10_000);
        let total = children * CHILD_COMMITS;
        assert_eq!(
            versions(&block_on(state.history()).unwrap()),
            (1..=total).collect::<Vec<_>>()
        );
        assert_eq!(block_on(state.load()).unwrap().version, total);
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error_and_is_left_untouched() {
        let scratch = Scratch::new("state-file-corrupt");
        let cases = [
            (
                "truncated.json",
                "{\"format\": 1, \"version\": 2, \"overr",
                "not valid JSON",
            ),
            ("empty.json", "", "empty"),
            ("array.json", "[1, 2]", "not a configuration state file"),
            ("no-format.json", "{\"version\": 1}", "no \"format\" field"),
            ("future.json", "{\"format\": 2, \"version\": 1}", "format 2"),
            (
                "bad-version.json",
                "{\"format\": 1, \"version\": \"one\", \"overrides\": {}, \"history\": []}",
                "corrupt format 1 document",
            ),
            (
                "bad-override.json",
                "{\"format\": 1, \"version\": 1, \"overrides\": {\"users\": {\"ttl\": \"soon\"}}, \"history\": []}",
                "region `users`, field `ttl`",
            ),
        ];
        for (name, content, expected) in cases {
            let path = scratch.write(name, content);
            let state = FileState::new(path.clone(), 10);
            let error = block_on(state.load()).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, ConfigError::State { action: "read", .. }),
                "{name}: {error:?}"
            );
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(expected), "{name}: {message}");
            assert!(block_on(state.history()).is_err(), "{name}");
            let error = block_on(state.commit(&record(1, "10m"))).unwrap_err();
            assert!(
                matches!(error, ConfigError::State { action: "read", .. }),
                "{name}: {error:?}"
            );
            assert_eq!(fs::read_to_string(&path).unwrap(), content, "{name}");
        }
    }

    #[test]
    fn an_unreadable_path_is_a_read_error() {
        let scratch = Scratch::new("state-file-unreadable");
        // A folder where the file should be.
        let path = scratch.dir("state.json");
        let state = FileState::new(path, 10);
        let error = block_on(state.load()).unwrap_err();
        assert!(
            matches!(error, ConfigError::State { action: "read", .. }),
            "{error:?}"
        );
        let error = block_on(state.commit(&record(1, "10m"))).unwrap_err();
        assert!(matches!(error, ConfigError::State { .. }), "{error:?}");
    }

    #[test]
    fn history_keeps_the_newest_records() {
        let scratch = Scratch::new("state-file-keep");
        let path = scratch.path().join("state.json");
        let state = FileState::new(path.clone(), 3);
        for version in 1..=5 {
            let ttl = format!("{version}m");
            assert_eq!(
                block_on(state.commit(&record(version, &ttl))).unwrap(),
                Commit::Done
            );
        }
        assert_eq!(versions(&block_on(state.history()).unwrap()), vec![3, 4, 5]);
        let loaded = block_on(state.load()).unwrap();
        assert_eq!(loaded.version, 5);
        assert_eq!(loaded.overrides, record(5, "5m").overrides);
        // The next version still follows the latest, not the history.
        assert_eq!(
            block_on(state.commit(&record(6, "6m"))).unwrap(),
            Commit::Done
        );
        // A lower limit applies at once to what is read.
        let fewer = FileState::new(path, 2);
        assert_eq!(versions(&block_on(fewer.history()).unwrap()), vec![5, 6]);
    }

    #[test]
    fn temporary_files_a_crashed_writer_left_are_removed() {
        let scratch = Scratch::new("state-file-orphans");
        let folder = scratch.dir("state");
        let orphan = folder.join(".tmp-state.json-4242-0");
        fs::write(&orphan, b"{\"format\": 1, \"vers").unwrap();
        let unrelated = folder.join(".tmp-other.json-4242-0");
        fs::write(&unrelated, b"not ours").unwrap();
        let state = FileState::new(folder.join("state.json"), 2);
        block_on(state.commit(&record(1, "10m"))).unwrap();
        assert!(!orphan.exists(), "an orphan of this file goes");
        assert!(unrelated.exists(), "another file's stays");
    }

    #[test]
    fn writes_leave_no_temporary_files() {
        let scratch = Scratch::new("state-file-temp");
        let folder = scratch.dir("state");
        let state = FileState::new(folder.join("state.json"), 2);
        for version in 1..=4 {
            block_on(state.commit(&record(version, "10m"))).unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // The state and its (empty, kept) lock file.
        assert_eq!(names, ["state.json", "state.json.lock"]);
    }
}
