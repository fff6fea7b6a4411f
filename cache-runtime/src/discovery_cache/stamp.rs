//! Dependency stamps: what a file or folder looked like when the cached value
//! was discovered, and whether it still does.
//!
//! Content is identity, the modification time a shortcut: with hashing on, a
//! stamp whose size or mtime changed is re-hashed, and an equal hash means the
//! dependency did not change (only its stamp needs refreshing). A folder's
//! "content" is its sorted list of entry names, so adding, removing or
//! renaming an entry changes it, editing an entry's content does not.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A file whose mtime lies this close to the moment its stamp was taken (or
/// later) could have been changed again within the same timestamp tick (a
/// few milliseconds on Linux, two seconds on FAT) without its mtime moving:
/// with hashing on, such a "racy" stamp is re-hashed even when size and
/// mtime still match (git's racy-clean rule).
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What a dependency path was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A regular file (after following symlinks).
    File,
    /// A folder.
    Dir,
    /// Nothing: a dependency may appear later (a plugin folder not created
    /// yet), which is a change.
    Missing,
    /// Something that could not be inspected (no permission, a socket...):
    /// never matches, so the value is rediscovered every time.
    Unknown,
}

/// One dependency as recorded in the cache file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// The path as configured.
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    /// Bytes (files) or the size the file system reports (folders).
    pub(crate) size: u64,
    /// Nanoseconds since the Unix epoch, when the platform reports one.
    pub(crate) mtime_ns: Option<i64>,
    /// blake3 of the content (files) or of the sorted entry names (folders),
    /// hex; only with hashing on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) blake3: Option<String>,
}

/// The verdict on a set of stored stamps.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Every dependency is as recorded.
    Fresh,
    /// Every dependency has the recorded content, but some size or mtime
    /// moved (or a racy stamp was verified): store these stamps instead.
    Refresh(Vec<Stamp>),
    /// This dependency changed (or was added to or removed from the list).
    Changed(PathBuf),
}

impl Stamp {
    /// Stamps `path` now, hashing its content when `hash` is set.
    pub(crate) fn take(path: &Path, hash: bool) -> Stamp {
        let (kind, metadata) = inspect(path);
        let mut stamp = Stamp::from_metadata(path, kind, metadata.as_ref());
        if hash {
            stamp.blake3 = content_hash(path, kind);
        }
        stamp
    }

    fn from_metadata(path: &Path, kind: Kind, metadata: Option<&Metadata>) -> Stamp {
        Stamp {
            path: path.to_path_buf(),
            kind,
            size: metadata.map_or(0, Metadata::len),
            mtime_ns: metadata.and_then(|m| m.modified().ok()).map(unix_nanos),
            blake3: None,
        }
    }

    fn same_metadata(&self, other: &Stamp) -> bool {
        self.kind == other.kind && self.size == other.size && self.mtime_ns == other.mtime_ns
    }

    /// Whether the file could have changed after this stamp without its
    /// mtime moving (see [`RACY_WINDOW`]).
    fn is_racy(&self, stamped_at_ms: u64) -> bool {
        let Some(mtime_ns) = self.mtime_ns else {
            return false;
        };
        let stamped_at_ns = i128::from(stamped_at_ms) * 1_000_000;
        i128::from(mtime_ns) + RACY_WINDOW.as_nanos() as i128 > stamped_at_ns
    }
}

/// Checks `stored` (from the cache file, stamped at `stamped_at_ms`) against
/// the dependencies now configured (`paths`, sorted and deduplicated) and
/// the file system, at `now_ms`.
pub(crate) fn check(
    stored: &[Stamp],
    paths: &[PathBuf],
    hash: bool,
    stamped_at_ms: u64,
    now_ms: u64,
) -> Check {
    if let Some(path) = first_difference(stored, paths) {
        return Check::Changed(path);
    }
    let mut refreshed = false;
    let mut current = Vec::with_capacity(stored.len());
    for old in stored {
        if old.kind == Kind::Unknown {
            return Check::Changed(old.path.clone());
        }
        let (kind, metadata) = inspect(&old.path);
        let mut now = Stamp::from_metadata(&old.path, kind, metadata.as_ref());
        let moved = !old.same_metadata(&now);
        if moved || (hash && old.is_racy(stamped_at_ms)) {
            // Only content can vouch for a stamp whose metadata moved.
            let (true, Some(old_hash)) = (hash, old.blake3.as_deref()) else {
                return Check::Changed(old.path.clone());
            };
            if now.kind != old.kind || now.kind == Kind::Missing {
                return Check::Changed(old.path.clone());
            }
            match content_hash(&old.path, now.kind) {
                Some(new_hash) if new_hash == old_hash => now.blake3 = Some(new_hash),
                _ => return Check::Changed(old.path.clone()),
            }
            // A moved stamp is replaced. A racy one is replaced once it is
            // no longer racy, so that it is not hashed again; until then
            // there is nothing new to write.
            refreshed |= moved || !now.is_racy(now_ms);
        } else {
            now.blake3.clone_from(&old.blake3);
        }
        current.push(now);
    }
    if refreshed {
        Check::Refresh(current)
    } else {
        Check::Fresh
    }
}

/// The first path in one list but not the other, in path order.
fn first_difference(stored: &[Stamp], paths: &[PathBuf]) -> Option<PathBuf> {
    let mut stored_paths: Vec<&Path> = stored.iter().map(|s| s.path.as_path()).collect();
    stored_paths.sort_unstable();
    let mut configured = paths.iter().map(PathBuf::as_path);
    let mut recorded = stored_paths.into_iter();
    loop {
        match (configured.next(), recorded.next()) {
            (None, None) => return None,
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => return Some(a.min(b).to_path_buf()),
            (Some(p), None) | (None, Some(p)) => return Some(p.to_path_buf()),
        }
    }
}

fn inspect(path: &Path) -> (Kind, Option<Metadata>) {
    match fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => (Kind::File, Some(metadata)),
        Ok(metadata) if metadata.is_dir() => (Kind::Dir, Some(metadata)),
        Ok(metadata) => (Kind::Unknown, Some(metadata)),
        Err(error) if is_absent(&error) => (Kind::Missing, None),
        Err(_) => (Kind::Unknown, None),
    }
}

/// Errors that mean "nothing there" rather than "cannot look".
pub(crate) fn is_absent(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// blake3 of a file's bytes or of a folder's sorted entry names; `None` when
/// they cannot be read.
fn content_hash(path: &Path, kind: Kind) -> Option<String> {
    match kind {
        Kind::File => hash_file(path).ok(),
        Kind::Dir => hash_dir(path).ok(),
        Kind::Missing | Kind::Unknown => None,
    }
}

fn hash_file(path: &Path) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    let mut file = File::open(path)?;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn hash_dir(path: &Path) -> io::Result<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path)? {
        names.push(entry?.file_name());
    }
    names.sort_unstable();
    let mut hasher = blake3::Hasher::new();
    for name in &names {
        let bytes = name.as_encoded_bytes();
        // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ.
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Nanoseconds since the Unix epoch, negative before it, saturating at the
/// ends of `i64` (years 1677 and 2262).
fn unix_nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Scratch;

    fn old_time() -> SystemTime {
        SystemTime::now() - Duration::from_secs(3600)
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        File::options()
            .write(true)
            .open(path)
            .expect("open")
            .set_modified(time)
            .expect("set mtime");
    }

    fn stamped_now() -> u64 {
        // Stamped "now": an mtime an hour old is not racy.
        crate::discovery_cache::file::now_ms()
    }

    #[test]
    fn unchanged_files_are_fresh() {
        let scratch = Scratch::new("stamp-fresh");
        let file = scratch.write("a.txt", "one");
        set_mtime(&file, old_time());
        for hash in [false, true] {
            let stamps = vec![Stamp::take(&file, hash)];
            assert_eq!(
                check(
                    &stamps,
                    std::slice::from_ref(&file),
                    hash,
                    stamped_now(),
                    stamped_now()
                ),
                Check::Fresh
            );
        }
    }

    #[test]
    fn size_change_is_a_change_and_names_the_path() {
        let scratch = Scratch::new("stamp-size");
        let file = scratch.write("a.txt", "one");
        let stamps = vec![Stamp::take(&file, false)];
        scratch.write("a.txt", "three");
        assert_eq!(
            check(
                &stamps,
                std::slice::from_ref(&file),
                false,
                stamped_now(),
                stamped_now()
            ),
            Check::Changed(file)
        );
    }

    #[test]
    fn touch_without_content_change_refreshes_with_hashing_only() {
        let scratch = Scratch::new("stamp-touch");
        let file = scratch.write("a.txt", "same");
        set_mtime(&file, old_time());
        let plain = vec![Stamp::take(&file, false)];
        let hashed = vec![Stamp::take(&file, true)];
        set_mtime(&file, old_time() + Duration::from_secs(60));
        let paths = [file.clone()];
        assert_eq!(
            check(&plain, &paths, false, stamped_now(), stamped_now()),
            Check::Changed(file.clone())
        );
        let Check::Refresh(new) = check(&hashed, &paths, true, stamped_now(), stamped_now()) else {
            panic!("expected a refresh");
        };
        assert_eq!(new[0].blake3, hashed[0].blake3);
        assert_ne!(new[0].mtime_ns, hashed[0].mtime_ns);
        assert_eq!(
            check(&new, &paths, true, stamped_now(), stamped_now()),
            Check::Fresh
        );
    }

    #[test]
    fn racy_stamps_are_verified_by_content() {
        let scratch = Scratch::new("stamp-racy");
        let file = scratch.write("a.txt", "abc");
        let stamps = vec![Stamp::take(&file, true)];
        let paths = [file.clone()];
        // Same size, and (on a coarse clock) possibly the same mtime.
        scratch.write("a.txt", "xyz");
        let mut same_meta = stamps.clone();
        same_meta[0].mtime_ns = Stamp::take(&file, false).mtime_ns;
        let stamped_at = crate::discovery_cache::file::now_ms();
        assert_eq!(
            check(&same_meta, &paths, true, stamped_at, stamped_at),
            Check::Changed(file)
        );
    }

    #[test]
    fn racy_stamps_are_rewritten_only_once_settled() {
        let scratch = Scratch::new("stamp-settle");
        let file = scratch.write("a.txt", "abc");
        let stamps = vec![Stamp::take(&file, true)];
        let paths = [file.clone()];
        let now = stamped_now();
        // Verified by content, still racy: nothing worth writing.
        assert_eq!(check(&stamps, &paths, true, now, now), Check::Fresh);
        // Verified and settled: stored once more, then never hashed again.
        let later = now + 2 * RACY_WINDOW.as_millis() as u64;
        let Check::Refresh(settled) = check(&stamps, &paths, true, now, later) else {
            panic!("expected a refresh");
        };
        assert_eq!(settled, stamps);
        assert_eq!(check(&settled, &paths, true, later, later), Check::Fresh);
    }

    #[test]
    fn folder_entries_added_or_removed_are_changes() {
        let scratch = Scratch::new("stamp-dir");
        let dir = scratch.dir("plugins");
        scratch.write("plugins/a.toml", "a");
        set_mtime_dir(&dir, old_time());
        let paths = [dir.clone()];
        for hash in [false, true] {
            let stamps = vec![Stamp::take(&dir, hash)];
            assert_eq!(
                check(&stamps, &paths, hash, stamped_now(), stamped_now()),
                Check::Fresh
            );
            scratch.write("plugins/b.toml", "b");
            assert_eq!(
                check(&stamps, &paths, hash, stamped_now(), stamped_now()),
                Check::Changed(dir.clone())
            );
            fs::remove_file(dir.join("b.toml")).expect("remove");
            set_mtime_dir(&dir, old_time());
        }
    }

    fn set_mtime_dir(path: &Path, time: SystemTime) {
        File::open(path)
            .expect("open dir")
            .set_modified(time)
            .expect("set dir mtime");
    }

    #[test]
    fn missing_dependency_appearing_is_a_change() {
        let scratch = Scratch::new("stamp-missing");
        let file = scratch.path().join("later.txt");
        let stamps = vec![Stamp::take(&file, true)];
        assert_eq!(stamps[0].kind, Kind::Missing);
        assert_eq!(
            check(
                &stamps,
                std::slice::from_ref(&file),
                true,
                stamped_now(),
                stamped_now()
            ),
            Check::Fresh
        );
        scratch.write("later.txt", "now");
        assert_eq!(
            check(
                &stamps,
                std::slice::from_ref(&file),
                true,
                stamped_now(),
                stamped_now()
            ),
            Check::Changed(file)
        );
    }

    #[test]
    fn a_different_dependency_list_is_a_change() {
        let a = PathBuf::from("/nonexistent/a");
        let b = PathBuf::from("/nonexistent/b");
        let stamps = vec![Stamp::take(&a, false)];
        assert_eq!(
            check(&stamps, &[a.clone(), b.clone()], false, 0, 0),
            Check::Changed(b.clone())
        );
        assert_eq!(check(&stamps, &[], false, 0, 0), Check::Changed(a.clone()));
        assert_eq!(
            check(&stamps, std::slice::from_ref(&b), false, 0, 0),
            Check::Changed(a)
        );
    }

    #[test]
    fn folder_hash_separates_names() {
        let scratch = Scratch::new("stamp-names");
        scratch.write("one/ab", "");
        scratch.write("one/c", "");
        scratch.write("two/a", "");
        scratch.write("two/bc", "");
        let one = hash_dir(&scratch.path().join("one")).expect("hash");
        let two = hash_dir(&scratch.path().join("two")).expect("hash");
        assert_ne!(one, two);
    }

    #[test]
    fn nanos_saturate_instead_of_panicking() {
        assert_eq!(unix_nanos(UNIX_EPOCH), 0);
        assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_nanos(5)), 5);
        assert_eq!(unix_nanos(UNIX_EPOCH - Duration::from_nanos(5)), -5);
        assert_eq!(
            unix_nanos(UNIX_EPOCH + Duration::from_secs(1 << 40)),
            i64::MAX
        );
    }
}
