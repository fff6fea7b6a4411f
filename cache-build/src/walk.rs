//! Lists the source files and folders to scan under a package's roots.

use std::fs;
use std::path::{Path, PathBuf};

use cache_spec::glob::Glob;

/// The `.rs` files under the roots (paths relative to the package root,
/// `/`-separated, sorted) and every folder visited (absolute), which Cargo
/// must watch so that a new file triggers a rerun.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) files: Vec<Listed>,
    pub(crate) folders: Vec<PathBuf>,
}

/// A file found, with what one `stat` told about it, so the scan never
/// stats it again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Listed {
    /// Relative to the package root, `/`-separated.
    pub(crate) path: String,
    /// Nanoseconds since the Unix epoch; 0 when the platform has none.
    pub(crate) mtime_ns: u64,
    pub(crate) size: u64,
}

pub(crate) fn list(
    package_root: &Path,
    roots: &[PathBuf],
    include: &[Glob],
    exclude: &[Glob],
) -> Listing {
    let mut listing = Listing::default();
    for root in roots {
        let absolute = package_root.join(root);
        if absolute.is_dir() {
            visit(package_root, &absolute, include, exclude, &mut listing);
        }
    }
    listing.files.sort();
    listing.files.dedup_by(|a, b| a.path == b.path);
    listing.folders.sort();
    listing.folders.dedup();
    listing
}

fn visit(
    package_root: &Path,
    folder: &Path,
    include: &[Glob],
    exclude: &[Glob],
    listing: &mut Listing,
) {
    listing.folders.push(folder.to_path_buf());
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Some(relative) = relative(package_root, &path) else {
            continue;
        };
        if exclude.iter().any(|g| g.matches(&relative)) {
            continue;
        }
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            visit(package_root, &path, include, exclude, listing);
        } else if relative.ends_with(".rs")
            && (include.is_empty() || include.iter().any(|g| g.matches(&relative)))
        {
            listing.files.push(Listed {
                path: relative,
                mtime_ns: meta.modified().map(crate::scan::unix_ns).unwrap_or(0),
                size: meta.len(),
            });
        }
    }
}

/// `path` relative to `root`, `/`-separated.
pub(crate) fn relative(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}
