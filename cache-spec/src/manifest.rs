//! The build manifest: the regions and config providers declared in the
//! sources of a package and of its dependencies that use `cache-runtime`,
//! grouped by the crate they compile into. `cache-build` writes it; the
//! runtime compares it with what the linker actually kept.

use serde::{Deserialize, Serialize};

/// The manifest format this crate reads and writes.
pub const MANIFEST_FORMAT: u32 = 1;

/// Every declaration the build script found, by crate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildManifest {
    /// [`MANIFEST_FORMAT`] when written.
    pub format: u32,
    /// The package whose build script wrote it.
    pub package: String,
    /// That package's version.
    pub package_version: String,
    /// The blake3 fingerprint of the package's scanned sources (hex).
    pub fingerprint: String,
    /// One entry per crate that declares something.
    pub crates: Vec<CrateManifest>,
}

/// What kind of target a crate is, as Cargo names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrateKind {
    /// A library: linked into a program only when the program names it.
    Lib,
    /// A binary.
    Bin,
    /// An integration test.
    Test,
    /// An example.
    Example,
    /// A benchmark.
    Bench,
    /// A build script or anything else.
    Other,
}

/// The declarations that compile into one crate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateManifest {
    /// The crate's name as written in paths (`use fixture_auth as _;`).
    pub crate_name: String,
    /// The package it belongs to.
    pub package: String,
    /// Its kind.
    pub kind: CrateKind,
    /// Its regions, by name.
    pub regions: Vec<DeclaredRegion>,
    /// Its config providers, by name.
    pub providers: Vec<DeclaredProvider>,
}

/// A region found in source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredRegion {
    /// The region's name.
    pub name: String,
    /// The marker type.
    pub item: String,
    /// `cache_region` or `custom_cache_region`.
    pub attribute: String,
    /// The module the declaration sits in (`fixture_auth::sessions`).
    pub module_path: String,
    /// The file, as the compiler names it (relative to the workspace root
    /// for workspace members).
    pub file: String,
    /// The attribute's line.
    pub line: u32,
    /// The schema fingerprint: blake3 of the declaration and of the key and
    /// value types' definitions found in the scan (hex).
    pub schema: String,
}

/// A config provider found in source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredProvider {
    /// The provider's name (explicit or derived from the function).
    pub name: String,
    /// The function.
    pub function: String,
    /// Its priority.
    pub priority: i32,
    /// The module it sits in.
    pub module_path: String,
    /// The file.
    pub file: String,
    /// The attribute's line.
    pub line: u32,
}

/// Why a manifest could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape.
    #[error(
        "the build manifest is unreadable: {0}; rebuild the package (`cargo clean -p <package>` if it persists)"
    )]
    Malformed(String),
    /// Written by another version of cache-build.
    #[error(
        "the build manifest has format {found}, this cache-runtime reads format {MANIFEST_FORMAT}; use matching versions of cache-build and cache-runtime"
    )]
    Format {
        /// The format found.
        found: u32,
    },
}

impl BuildManifest {
    /// Reads a manifest. Never panics, whatever the input.
    ///
    /// # Errors
    ///
    /// [`ManifestError`] for malformed JSON or another format version.
    pub fn from_json(text: &str) -> Result<BuildManifest, ManifestError> {
        #[derive(Deserialize)]
        struct Header {
            format: u32,
        }
        let header: Header = serde_json::from_str(text)
            .map_err(|error| ManifestError::Malformed(error.to_string()))?;
        if header.format != MANIFEST_FORMAT {
            return Err(ManifestError::Format {
                found: header.format,
            });
        }
        serde_json::from_str(text).map_err(|error| ManifestError::Malformed(error.to_string()))
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }

    /// The crates a program built as crate `current` can contain: every
    /// library, and `current` itself (other binaries, tests and examples of
    /// the package are separate programs).
    pub fn crates_for(&self, current: &str) -> impl Iterator<Item = &CrateManifest> {
        let current = current.to_owned();
        self.crates
            .iter()
            .filter(move |c| c.kind == CrateKind::Lib || c.crate_name == current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BuildManifest {
        BuildManifest {
            format: MANIFEST_FORMAT,
            package: "app".into(),
            package_version: "1.0.0".into(),
            fingerprint: "ab".repeat(32),
            crates: vec![CrateManifest {
                crate_name: "app".into(),
                package: "app".into(),
                kind: CrateKind::Bin,
                regions: vec![DeclaredRegion {
                    name: "model-metadata".into(),
                    item: "ModelMetadata".into(),
                    attribute: "cache_region".into(),
                    module_path: "app".into(),
                    file: "src/main.rs".into(),
                    line: 3,
                    schema: "cd".repeat(32),
                }],
                providers: vec![],
            }],
        }
    }

    #[test]
    fn round_trips() {
        let manifest = sample();
        assert_eq!(BuildManifest::from_json(&manifest.to_json()), Ok(manifest));
    }

    #[test]
    fn rejects_other_formats_and_garbage_without_panicking() {
        let mut other = sample();
        other.format = 99;
        assert_eq!(
            BuildManifest::from_json(&other.to_json()),
            Err(ManifestError::Format { found: 99 })
        );
        let json = sample().to_json();
        for cut in 0..json.len() {
            let _ = BuildManifest::from_json(&json[..cut]);
        }
        for garbage in [
            "",
            "null",
            "[]",
            "{\"format\":1}",
            "{\"format\":-1}",
            "\u{0}",
        ] {
            assert!(BuildManifest::from_json(garbage).is_err(), "{garbage:?}");
        }
    }
}
