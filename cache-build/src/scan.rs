//! The incremental scan of one package: stat every file, read only those
//! whose mtime or size changed (or that were "racy" last time), parse only
//! those whose content hash changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache_file::{FileRecord, PackageRecord};
use crate::parse;

/// A file modified less than this long before a scan is re-hashed on the
/// next one: file systems with coarse timestamps could give an edit made
/// just after the scan the same mtime.
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What a scan did, file by file. Exposed so tests (and the curious) can see
/// that an unchanged rerun reads nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Files found under the roots.
    pub files: usize,
    /// Files whose contents were read and hashed.
    pub read: usize,
    /// Files parsed for declarations.
    pub parsed: usize,
    /// Files read whose hash had not changed (touched, not edited).
    pub touched: usize,
    /// Files new since the last scan.
    pub added: usize,
    /// Files gone since the last scan.
    pub removed: usize,
}

impl std::ops::AddAssign for ScanStats {
    fn add_assign(&mut self, other: ScanStats) {
        self.files += other.files;
        self.read += other.read;
        self.parsed += other.parsed;
        self.touched += other.touched;
        self.added += other.added;
        self.removed += other.removed;
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_ns(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Scans `files` (relative to `root`) against the previous records.
pub(crate) fn scan(
    root: &Path,
    files: &[String],
    previous: Option<&PackageRecord>,
    now: SystemTime,
) -> (PackageRecord, ScanStats) {
    let now_ns = unix_ns(now);
    let racy_ns = u64::try_from(RACY_WINDOW.as_nanos()).unwrap_or(u64::MAX);
    let mut stats = ScanStats {
        files: files.len(),
        ..ScanStats::default()
    };
    let mut records = BTreeMap::new();
    for relative in files {
        let path = root.join(relative);
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let mtime_ns = meta.modified().map(unix_ns).unwrap_or(0);
        let size = meta.len();
        let racy = mtime_ns == 0 || mtime_ns.saturating_add(racy_ns) >= now_ns;
        let old = previous.and_then(|p| p.files.get(relative));
        if let Some(old) = old
            && old.mtime_ns == mtime_ns
            && old.size == size
            && !old.racy
        {
            records.insert(relative.clone(), old.clone());
            continue;
        }
        let Ok(bytes) = fs::read(&path) else {
            continue;
        };
        stats.read += 1;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        let decls = match old {
            Some(old) if old.hash == hash => {
                stats.touched += 1;
                old.decls.clone()
            }
            _ => {
                if old.is_none() {
                    stats.added += 1;
                }
                stats.parsed += 1;
                parse::parse(&String::from_utf8_lossy(&bytes))
            }
        };
        records.insert(
            relative.clone(),
            FileRecord {
                mtime_ns,
                size: bytes.len() as u64,
                hash,
                racy,
                decls,
            },
        );
    }
    if let Some(previous) = previous {
        stats.removed = previous
            .files
            .keys()
            .filter(|k| !records.contains_key(*k))
            .count();
    }
    (PackageRecord { files: records }, stats)
}

/// The package fingerprint: blake3 of the sorted (path, content hash) pairs.
pub(crate) fn fingerprint(record: &PackageRecord) -> String {
    let mut hasher = blake3::Hasher::new();
    for (path, file) in &record.files {
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(file.hash.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}
