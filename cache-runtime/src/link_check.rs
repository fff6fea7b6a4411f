//! The linked-vs-declared check: the regions and providers `cache-build`
//! found in source, compared with the ones the linker kept.

use std::fmt;

use cache_spec::manifest::{BuildManifest, ManifestError};

use crate::registry::{Registry, RegistryProblem};

/// A region or provider declared in source but absent from the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// The region's or provider's name.
    pub name: String,
    /// The crate that declares it (as written in `use` paths).
    pub crate_name: String,
    /// Its package.
    pub package: String,
    /// The declaring file.
    pub file: String,
    /// The attribute's line.
    pub line: u32,
}

/// The result of [`Registry::verify`] (or `check_linked!()`): what was
/// declared but not linked, and any registry problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkReport {
    program: String,
    regions_declared: usize,
    providers_declared: usize,
    missing_regions: Vec<Missing>,
    missing_providers: Vec<Missing>,
    problems: Vec<RegistryProblem>,
    manifest_error: Option<ManifestError>,
}

impl LinkReport {
    /// Whether everything declared is linked and the registry is sound.
    pub fn is_ok(&self) -> bool {
        self.missing_regions.is_empty()
            && self.missing_providers.is_empty()
            && self.problems.is_empty()
            && self.manifest_error.is_none()
    }

    /// Regions declared in source and missing from the program.
    pub fn missing_regions(&self) -> &[Missing] {
        &self.missing_regions
    }

    /// Config providers declared in source and missing from the program.
    pub fn missing_providers(&self) -> &[Missing] {
        &self.missing_providers
    }

    /// Problems of the registry itself (duplicate names).
    pub fn problems(&self) -> &[RegistryProblem] {
        &self.problems
    }

    /// Why the manifest could not be read, if it could not.
    pub fn manifest_error(&self) -> Option<&ManifestError> {
        self.manifest_error.as_ref()
    }

    /// The crates that were dropped, each once, in order.
    pub fn dropped_crates(&self) -> Vec<&str> {
        let mut crates: Vec<&str> = self
            .missing_regions
            .iter()
            .chain(&self.missing_providers)
            .map(|m| m.crate_name.as_str())
            .collect();
        crates.sort_unstable();
        crates.dedup();
        crates
    }

    fn new(program: &str) -> LinkReport {
        LinkReport {
            program: program.into(),
            regions_declared: 0,
            providers_declared: 0,
            missing_regions: Vec::new(),
            missing_providers: Vec::new(),
            problems: Vec::new(),
            manifest_error: None,
        }
    }

    pub(crate) fn unreadable(program: &str, error: ManifestError) -> LinkReport {
        LinkReport {
            manifest_error: Some(error),
            ..LinkReport::new(program)
        }
    }

    pub(crate) fn broken_registry(program: &str, problems: Vec<RegistryProblem>) -> LinkReport {
        LinkReport {
            problems,
            ..LinkReport::new(program)
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl fmt::Display for LinkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(error) = &self.manifest_error {
            return write!(
                f,
                "cannot check `{}` against its build manifest: {error}",
                self.program
            );
        }
        if self.is_ok() {
            return write!(
                f,
                "all {} and {} declared in source are linked into `{}`",
                plural(self.regions_declared, "region", "regions"),
                plural(
                    self.providers_declared,
                    "config provider",
                    "config providers"
                ),
                self.program
            );
        }
        let mut first = true;
        let mut section = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !first {
                writeln!(f)?;
            }
            first = false;
            Ok(())
        };
        for (missing, one, many) in [
            (&self.missing_regions, "region", "regions"),
            (
                &self.missing_providers,
                "config provider",
                "config providers",
            ),
        ] {
            if missing.is_empty() {
                continue;
            }
            section(f)?;
            write!(
                f,
                "{} declared in source {} missing from `{}`:",
                plural(missing.len(), one, many),
                if missing.len() == 1 { "is" } else { "are" },
                self.program
            )?;
            for m in missing {
                write!(
                    f,
                    "\n  - `{}` declared at {}:{} in crate `{}`",
                    m.name, m.file, m.line, m.crate_name
                )?;
            }
        }
        let dropped = self.dropped_crates();
        if !dropped.is_empty() {
            section(f)?;
            write!(
                f,
                "Nothing in `{}` names {}, so the linker dropped {} with {} declarations. Add to the program (e.g. main.rs):",
                self.program,
                dropped
                    .iter()
                    .map(|c| format!("crate `{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if dropped.len() == 1 { "it" } else { "them" },
                if dropped.len() == 1 { "its" } else { "their" },
            )?;
            for krate in dropped {
                write!(f, "\n    use {krate} as _;")?;
            }
        }
        for problem in &self.problems {
            section(f)?;
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Registry {
    /// Compares `manifest` (written by `cache-build`) with this registry,
    /// for the program built as crate `program` (its `CARGO_CRATE_NAME`):
    /// every region and provider declared in a library, or in `program`
    /// itself, must be linked, from the crate that declares it.
    pub fn verify(&self, manifest: &BuildManifest, program: &str) -> LinkReport {
        let mut report = LinkReport::new(program);
        for krate in manifest.crates_for(program) {
            let missing = |name: &str, file: &str, line: u32| Missing {
                name: name.into(),
                crate_name: krate.crate_name.clone(),
                package: krate.package.clone(),
                file: file.into(),
                line,
            };
            for region in &krate.regions {
                report.regions_declared += 1;
                let linked = self
                    .get(&region.name)
                    .is_some_and(|d| d.site().crate_name() == Some(krate.crate_name.as_str()));
                if !linked {
                    report
                        .missing_regions
                        .push(missing(&region.name, &region.file, region.line));
                }
            }
            for provider in &krate.providers {
                report.providers_declared += 1;
                let linked = self
                    .provider(&provider.name)
                    .is_some_and(|p| p.site().crate_name() == Some(krate.crate_name.as_str()));
                if !linked {
                    report.missing_providers.push(missing(
                        &provider.name,
                        &provider.file,
                        provider.line,
                    ));
                }
            }
        }
        report
    }
}
