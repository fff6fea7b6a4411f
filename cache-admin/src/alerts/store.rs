//! The alerting state file: rules (with their secrets), silences, alert
//! states and history, written atomically and readable only by the owner.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::engine::Engine;
use super::rules::AlertRules;

/// The format this version writes and reads.
const FORMAT: u32 = 1;

/// What the file holds.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    pub format: u32,
    /// The rules document's version.
    pub version: u64,
    pub rules: AlertRules,
    pub state: Engine,
    /// When the state was last evaluated, Unix ms (the shared state).
    #[serde(default)]
    pub evaluated_at_ms: u64,
    /// Which instance evaluated it (the shared state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifier: Option<String>,
}

/// What reading the file found.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// No file yet.
    Missing,
    /// The saved rules and state.
    Found(Saved),
    /// A file that could not be used; it was moved to `moved_to` so that
    /// nothing overwrites it, and the engine starts from the defaults.
    Unusable {
        reason: String,
        moved_to: Option<PathBuf>,
    },
}

/// Reads the state file at `path`.
pub(crate) fn load(path: &Path) -> Loaded {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Loaded::Missing,
        Err(error) => {
            return Loaded::Unusable {
                reason: format!("{}: {error}", path.display()),
                moved_to: None,
            };
        }
    };
    let reason = match serde_json::from_slice::<Saved>(&bytes) {
        Ok(saved) if saved.format == FORMAT => {
            let problems = saved.rules.check();
            if problems.is_empty() {
                return Loaded::Found(saved);
            }
            format!(
                "its rules do not pass the checks: {}",
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
        Ok(saved) => format!("format {} (this version reads {FORMAT})", saved.format),
        Err(error) => format!("not an alerting state file: {error}"),
    };
    let aside = path.with_extension(format!("unusable-{}", super::now_ms()));
    let moved_to = fs::rename(path, &aside).ok().map(|()| aside);
    Loaded::Unusable {
        reason: format!("{}: {reason}", path.display()),
        moved_to,
    }
}

/// Writes `saved` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one; owner-only on Unix (it holds
/// channel secrets).
pub(crate) fn save(
    path: &Path,
    version: u64,
    rules: &AlertRules,
    state: &Engine,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct SavedRef<'a> {
        format: u32,
        version: u64,
        rules: &'a AlertRules,
        state: &'a Engine,
    }
    let bytes = serde_json::to_vec_pretty(&SavedRef {
        format: FORMAT,
        version,
        rules,
        state,
    })
    .map_err(io::Error::other)?;
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(folder)?;
    }
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(&bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("alerts-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder
    }

    #[test]
    fn round_trips_and_sets_unusable_files_aside() {
        let folder = scratch("round-trip");
        let path = folder.join("alerts.json");
        assert!(matches!(load(&path), Loaded::Missing));
        let rules = AlertRules::default();
        save(&path, 4, &rules, &Engine::default()).expect("save");
        match load(&path) {
            Loaded::Found(saved) => {
                assert_eq!((saved.version, saved.rules), (4, rules));
            }
            other => panic!("{other:?}"),
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(&path, b"{ not json").expect("write");
        match load(&path) {
            Loaded::Unusable { reason, moved_to } => {
                assert!(reason.contains("not an alerting state file"), "{reason}");
                let moved = moved_to.expect("moved aside");
                assert_eq!(fs::read(moved).expect("kept"), b"{ not json");
            }
            other => panic!("{other:?}"),
        }
        assert!(!path.exists());
        let _ = fs::remove_dir_all(&folder);
    }
}
