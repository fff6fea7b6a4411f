//! The incremental scan of one package: stat every file, read only those
//! whose mtime or size changed (or that were "racy" last time), parse only
//! those whose content hash changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache_file::{FileStamp, PackageIndex};
use crate::parse;
use crate::parse::FileDecls;
use crate::walk::Listed;

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

/// The result of scanning one package: the new stamps, the declarations of
/// the files parsed now, and the counts.
pub(crate) struct Scanned {
    pub(crate) index: PackageIndex,
    pub(crate) parsed: BTreeMap<String, FileDecls>,
    pub(crate) stats: ScanStats,
}

impl Scanned {
    /// Whether any file's content, or the set of files, changed.
    pub(crate) fn content_changed(&self) -> bool {
        self.stats.parsed > 0 || self.stats.added > 0 || self.stats.removed > 0
    }
}

/// Scans the listed files against the previous stamps, which it consumes:
/// a file whose mtime and size match (and was not racy) keeps its stamp
/// unread; otherwise it is read and hashed, and parsed only when its hash
/// changed.
pub(crate) fn scan(
    root: &Path,
    files: &[Listed],
    previous: Option<PackageIndex>,
    now: SystemTime,
) -> Scanned {
    let now_ns = unix_ns(now);
    let racy_ns = u64::try_from(RACY_WINDOW.as_nanos()).unwrap_or(u64::MAX);
    let mut previous = previous.map(|p| p.files).unwrap_or_default();
    let mut stats = ScanStats {
        files: files.len(),
        ..ScanStats::default()
    };
    let mut index = BTreeMap::new();
    let mut parsed = BTreeMap::new();
    for file in files {
        let racy = file.mtime_ns == 0 || file.mtime_ns.saturating_add(racy_ns) >= now_ns;
        let old = previous.remove(&file.path);
        let unchanged = old
            .as_ref()
            .is_some_and(|o| o.mtime_ns == file.mtime_ns && o.size == file.size && !o.racy);
        if unchanged {
            if let Some(old) = old {
                index.insert(file.path.clone(), old);
            }
            continue;
        }
        let Ok(bytes) = fs::read(root.join(&file.path)) else {
            continue;
        };
        stats.read += 1;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        match &old {
            Some(old) if old.hash == hash => stats.touched += 1,
            _ => {
                if old.is_none() {
                    stats.added += 1;
                }
                stats.parsed += 1;
                parsed.insert(
                    file.path.clone(),
                    parse::parse(&String::from_utf8_lossy(&bytes)),
                );
            }
        }
        index.insert(
            file.path.clone(),
            FileStamp {
                mtime_ns: file.mtime_ns,
                size: bytes.len() as u64,
                hash,
                racy,
            },
        );
    }
    stats.removed = previous.len();
    Scanned {
        index: PackageIndex { files: index },
        parsed,
        stats,
    }
}

/// Reads and parses a file whose declarations are not known (the
/// declarations file was lost); `None` when it cannot be read.
pub(crate) fn parse_file(root: &Path, path: &str) -> Option<FileDecls> {
    let bytes = fs::read(root.join(path)).ok()?;
    Some(parse::parse(&String::from_utf8_lossy(&bytes)))
}

/// The package fingerprint: blake3 of the sorted (path, content hash) pairs.
pub(crate) fn fingerprint(index: &PackageIndex) -> String {
    let mut hasher = blake3::Hasher::new();
    for (path, stamp) in &index.files {
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(stamp.hash.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}
