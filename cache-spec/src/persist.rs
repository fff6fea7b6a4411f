//! Writing files so that a crash or a concurrent writer never leaves a torn
//! one: a temporary file in the same folder, written and synced, renamed over
//! the target, then the folder synced so the rename itself is durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The prefix of temporary files, so cleanup can recognise orphans.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Replaces `path` with `bytes` atomically: readers see the old content or
/// the new, never a mix, even with several writers racing (the last rename
/// wins). Creates the parent folder when missing.
///
/// # Errors
///
/// Any I/O error; the temporary file is removed on failure and `path` keeps
/// its old content.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    fs::create_dir_all(folder)?;
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no file name", path.display()),
        )
    })?;
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = folder.join(format!(
        "{TEMP_PREFIX}{}-{}-{unique}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        sync_folder(folder)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes the temporary files [`atomic_write`] left beside `path` (a
/// writer that crashed or was killed between creating and renaming one);
/// how many. Call it only where no writer of `path` can be running (under
/// the lock that orders them): a live writer's temporary file would go too.
///
/// # Errors
///
/// The first I/O error listing the folder; files that cannot be removed
/// are skipped.
pub fn remove_orphans(path: &Path) -> io::Result<u64> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let Some(file_name) = path.file_name() else {
        return Ok(0);
    };
    let prefix = format!("{TEMP_PREFIX}{}-", file_name.to_string_lossy());
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix)
            && entry.file_type().is_ok_and(|kind| kind.is_file())
            && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Makes a rename in `folder` durable. Folders cannot be opened for syncing
/// on every platform; there it is a no-op.
fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cache-spec-persist-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = scratch("replace");
        let path = dir.join("nested").join("file.json");
        atomic_write(&path, b"first").expect("write");
        atomic_write(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        let leftovers: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(leftovers.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn concurrent_writers_never_tear_the_file() {
        let dir = scratch("race");
        let path = dir.join("shared.txt");
        let writers: Vec<_> = (0..8u8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let body = vec![b'a' + i; 64 * 1024];
                    for _ in 0..20 {
                        atomic_write(&path, &body).expect("write");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        let body = fs::read(&path).expect("read");
        assert_eq!(body.len(), 64 * 1024);
        assert!(
            body.iter().all(|b| *b == body[0]),
            "one writer's content, whole"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
