//! The registry cache: per-file records (mtime, size, blake3, declarations)
//! kept between build-script runs, so a rerun reads only changed files.
//!
//! It is versioned and disposable: a format, tool or package version change,
//! an age beyond the limit, or unreadable content all mean "scan everything
//! again", never an error. A checksum closes the file, so a damaged cache
//! that still parses as JSON (a flipped digit in a hash) is not trusted.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::parse::FileDecls;

/// The cache file format this version reads and writes. 2: the file ends
/// with a checksum. 3: declarations moved to a file of their own, read only
/// when something changed.
pub(crate) const CACHE_FORMAT: u32 = 3;

/// The file's last field, `,"checksum":"<blake3 hex>"}`: the blake3 of the
/// JSON the cache serializes to, which is the file with this field removed.
const CHECKSUM_FIELD: &[u8] = b",\"checksum\":\"";
const CHECKSUM_TAIL: usize = CHECKSUM_FIELD.len() + 64 + 2;

/// This crate's version, recorded so an upgrade rebuilds the cache.
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The cache index: versions, age, and each file's stamp. Small, so an
/// unchanged rerun reads only this, the folder listing and the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CacheFile {
    pub(crate) format: u32,
    pub(crate) tool_version: String,
    pub(crate) package_version: String,
    pub(crate) created_at_ms: u64,
    /// Per scanned package, keyed by package name and version.
    pub(crate) packages: BTreeMap<String, PackageIndex>,
    /// blake3 of the declarations file written with this index.
    pub(crate) decls_hash: String,
    /// blake3 of the manifest written with this index.
    pub(crate) manifest_hash: String,
}

/// The stamps of one package's files, keyed by path relative to the package
/// root, `/`-separated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PackageIndex {
    pub(crate) files: BTreeMap<String, FileStamp>,
}

/// What says whether a file changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStamp {
    pub(crate) mtime_ns: u64,
    pub(crate) size: u64,
    pub(crate) hash: String,
    /// Modified so close to the scan that a later edit could keep the same
    /// mtime: re-hash it next time whatever its mtime says.
    pub(crate) racy: bool,
}

/// The declarations file: each package's files' declarations, by path.
/// Its blake3 is kept in the index, which is how it is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeclsFile {
    pub(crate) packages: BTreeMap<String, BTreeMap<String, FileDecls>>,
}

/// One package's files with their declarations, in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PackageRecord {
    pub(crate) files: BTreeMap<String, FileRecord>,
}

/// One file's stamp and declarations, in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileRecord {
    pub(crate) stamp: FileStamp,
    pub(crate) decls: FileDecls,
}

#[cfg(test)]
impl FileRecord {
    /// A record of `source` as if scanned, for unit tests.
    pub(crate) fn parsed(source: &str) -> FileRecord {
        FileRecord {
            stamp: FileStamp {
                mtime_ns: 0,
                size: source.len() as u64,
                hash: blake3::hash(source.as_bytes()).to_hex().to_string(),
                racy: false,
            },
            decls: crate::parse::parse(source),
        }
    }
}

/// Why the previous cache was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheDiscarded {
    /// There was none (first build, or `CACHE_BUILD_FORCE_RESCAN`).
    Missing,
    /// It could not be read or parsed: truncated, garbage, not JSON.
    Unreadable(String),
    /// Written in another cache format.
    Format(u32),
    /// Written by another version of cache-build.
    ToolVersion(String),
    /// Written for another version of the package.
    PackageVersion(String),
    /// Older than the maximum age.
    Expired(Duration),
}

impl std::fmt::Display for CacheDiscarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheDiscarded::Missing => f.write_str("no previous cache"),
            CacheDiscarded::Unreadable(why) => {
                write!(f, "the previous cache is unreadable ({why})")
            }
            CacheDiscarded::Format(found) => {
                write!(f, "cache format {found} replaced by {CACHE_FORMAT}")
            }
            CacheDiscarded::ToolVersion(found) => {
                write!(f, "written by cache-build {found}, now {TOOL_VERSION}")
            }
            CacheDiscarded::PackageVersion(found) => {
                write!(f, "written for package version {found}")
            }
            CacheDiscarded::Expired(age) => {
                write!(f, "older than the maximum age ({}s)", age.as_secs())
            }
        }
    }
}

/// Reads the cache at `path` for `package_version`, or says why not.
pub(crate) fn load(
    path: &Path,
    package_version: &str,
    max_age: Duration,
    now_ms: u64,
) -> Result<CacheFile, CacheDiscarded> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(CacheDiscarded::Missing);
        }
        Err(error) => return Err(CacheDiscarded::Unreadable(error.to_string())),
    };
    read(&bytes, package_version, max_age, now_ms)
}

/// Validates and decodes cache bytes. No input makes it panic.
pub(crate) fn read(
    bytes: &[u8],
    package_version: &str,
    max_age: Duration,
    now_ms: u64,
) -> Result<CacheFile, CacheDiscarded> {
    #[derive(Deserialize)]
    struct Header {
        format: u32,
    }
    // One full parse; the header alone only to explain a failure, so that
    // another format is reported as such rather than as garbage.
    let cache: CacheFile = match serde_json::from_slice(bytes) {
        Ok(cache) => cache,
        Err(error) => {
            return Err(match serde_json::from_slice::<Header>(bytes) {
                Ok(header) if header.format != CACHE_FORMAT => {
                    CacheDiscarded::Format(header.format)
                }
                _ => CacheDiscarded::Unreadable(error.to_string()),
            });
        }
    };
    if cache.format != CACHE_FORMAT {
        return Err(CacheDiscarded::Format(cache.format));
    }
    if cache.tool_version != TOOL_VERSION {
        return Err(CacheDiscarded::ToolVersion(cache.tool_version));
    }
    if cache.package_version != package_version {
        return Err(CacheDiscarded::PackageVersion(cache.package_version));
    }
    let age = Duration::from_millis(now_ms.saturating_sub(cache.created_at_ms));
    if age > max_age {
        return Err(CacheDiscarded::Expired(age));
    }
    // Last, so that an edited version or date still says what it is.
    verify(bytes).map_err(CacheDiscarded::Unreadable)?;
    Ok(cache)
}

/// The cache as written: its JSON, with the checksum as a last field.
pub(crate) fn encode(cache: &CacheFile) -> serde_json::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(cache)?;
    let checksum = blake3::hash(&bytes);
    // `{...}` becomes `{...,"checksum":"..."}`.
    bytes.pop();
    bytes.extend_from_slice(CHECKSUM_FIELD);
    bytes.extend_from_slice(checksum.to_hex().as_bytes());
    bytes.extend_from_slice(b"\"}");
    Ok(bytes)
}

/// Checks the closing checksum against the rest of the bytes.
fn verify(bytes: &[u8]) -> Result<(), String> {
    let split = bytes
        .len()
        .checked_sub(CHECKSUM_TAIL)
        .ok_or("no checksum")?;
    let (body, tail) = bytes.split_at(split);
    let found = tail
        .strip_prefix(CHECKSUM_FIELD)
        .and_then(|rest| rest.strip_suffix(b"\"}"))
        .ok_or("no checksum at the end")?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(body);
    hasher.update(b"}");
    if hasher.finalize().to_hex().as_bytes() != found {
        return Err("checksum mismatch: the file was damaged".into());
    }
    Ok(())
}

/// Reads the declarations file if its blake3 is `expected`.
pub(crate) fn load_decls(path: &Path, expected: &str) -> Option<DeclsFile> {
    let bytes = std::fs::read(path).ok()?;
    if blake3::hash(&bytes).to_hex().as_str() != expected {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}

/// Writes the declarations file atomically; returns its blake3.
pub(crate) fn store_decls(path: &Path, decls: &DeclsFile) -> std::io::Result<String> {
    let bytes = serde_json::to_vec(decls).map_err(std::io::Error::other)?;
    cache_spec::persist::atomic_write(path, &bytes)?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

/// Writes the cache atomically: concurrent build scripts never leave a torn
/// file, the last writer wins.
pub(crate) fn store(path: &Path, cache: &CacheFile) -> std::io::Result<()> {
    let json = encode(cache).map_err(std::io::Error::other)?;
    cache_spec::persist::atomic_write(path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CacheFile {
        let mut files = BTreeMap::new();
        files.insert(
            "src/lib.rs".to_string(),
            FileStamp {
                mtime_ns: 1,
                size: 2,
                hash: "00".repeat(32),
                racy: false,
            },
        );
        let mut packages = BTreeMap::new();
        packages.insert("app 1.0.0".to_string(), PackageIndex { files });
        CacheFile {
            format: CACHE_FORMAT,
            tool_version: TOOL_VERSION.into(),
            package_version: "1.0.0".into(),
            created_at_ms: 1_000,
            packages,
            decls_hash: "11".repeat(32),
            manifest_hash: "22".repeat(32),
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn reads_back_what_it_wrote() {
        let bytes = encode(&sample()).expect("serializable");
        assert_eq!(read(&bytes, "1.0.0", DAY, 2_000), Ok(sample()));
    }

    #[test]
    fn a_damaged_cache_that_still_parses_is_not_trusted() {
        let bytes = encode(&sample()).expect("serializable");
        let text = String::from_utf8(bytes).expect("UTF-8");
        for damaged in [
            text.replacen(&"00".repeat(32), &format!("01{}", "00".repeat(31)), 1),
            text.replacen("\"mtime_ns\":1", "\"mtime_ns\":7", 1),
            text.replacen("\"racy\":false", "\"racy\":true", 1),
            text.replacen(",\"checksum\"", ",\"checksun\"", 1),
            serde_json::to_string(&sample()).expect("serializable"),
        ] {
            assert_ne!(damaged, text);
            assert!(
                matches!(
                    read(damaged.as_bytes(), "1.0.0", DAY, 2_000),
                    Err(CacheDiscarded::Unreadable(_))
                ),
                "{damaged}"
            );
        }
    }

    #[test]
    fn says_why_a_cache_is_discarded() {
        let bytes = encode(&sample()).expect("serializable");
        assert_eq!(
            read(&bytes, "1.0.1", DAY, 2_000),
            Err(CacheDiscarded::PackageVersion("1.0.0".into()))
        );
        assert!(matches!(
            read(&bytes, "1.0.0", DAY, 1_000 + 2 * 86_400_000),
            Err(CacheDiscarded::Expired(_))
        ));
        let mut old = sample();
        old.format = 0;
        let old = encode(&old).expect("serializable");
        assert_eq!(
            read(&old, "1.0.0", DAY, 2_000),
            Err(CacheDiscarded::Format(0))
        );
        let mut other_tool = sample();
        other_tool.tool_version = "0.0.1".into();
        let other_tool = encode(&other_tool).expect("serializable");
        assert_eq!(
            read(&other_tool, "1.0.0", DAY, 2_000),
            Err(CacheDiscarded::ToolVersion("0.0.1".into()))
        );
    }

    #[test]
    fn no_truncation_or_garbage_panics() {
        let bytes = encode(&sample()).expect("serializable");
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut], "1.0.0", DAY, 2_000).is_err());
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..512 {
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            assert!(read(&garbage, "1.0.0", DAY, 2_000).is_err());
        }
        // Structurally valid JSON with wrong shapes.
        for text in [
            "{\"format\":1}",
            "{\"format\":1,\"packages\":7}",
            "[1,2]",
            "{\"format\":\"1\"}",
        ] {
            assert!(
                read(text.as_bytes(), "1.0.0", DAY, 2_000).is_err(),
                "{text}"
            );
        }
    }
}
