//! Where a region or provider was declared.

use std::fmt;
use std::panic::Location;

/// The place in source where a region or config provider was declared: the
/// attribute's module, file and line, or the call that registered it by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeclarationSite {
    module_path: &'static str,
    file: &'static str,
    line: u32,
    column: u32,
}

impl DeclarationSite {
    #[doc(hidden)]
    pub const fn __new(
        module_path: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
    ) -> Self {
        DeclarationSite {
            module_path,
            file,
            line,
            column,
        }
    }

    /// The site of a call, for regions registered by hand: the module path
    /// is not known there.
    pub const fn from_location(location: &'static Location<'static>) -> Self {
        DeclarationSite {
            module_path: "",
            file: location.file(),
            line: location.line(),
            column: location.column(),
        }
    }

    /// The crate that declared it (its name as written in `use` paths),
    /// when declared by an attribute.
    pub fn crate_name(&self) -> Option<&'static str> {
        self.module_path().and_then(|path| path.split("::").next())
    }

    /// The module that declared it (`my_service::auth`), when declared by an
    /// attribute.
    pub fn module_path(&self) -> Option<&'static str> {
        (!self.module_path.is_empty()).then_some(self.module_path)
    }

    /// The source file, relative to the package root as Cargo builds it.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The 1-based line.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The 1-based column.
    pub fn column(&self) -> u32 {
        self.column
    }
}

impl fmt::Display for DeclarationSite {
    /// `src/auth.rs:12 (crate `my_service`)`, or `src/main.rs:30` for a
    /// region registered by hand.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(krate) = self.crate_name() {
            write!(f, " (crate `{krate}`)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_sites_name_their_crate() {
        let site = DeclarationSite::__new("my_service::auth", "src/auth.rs", 12, 1);
        assert_eq!(site.crate_name(), Some("my_service"));
        assert_eq!(site.to_string(), "src/auth.rs:12 (crate `my_service`)");
    }

    #[test]
    fn call_sites_have_no_module() {
        let site = DeclarationSite::from_location(Location::caller());
        assert_eq!(site.crate_name(), None);
        assert!(
            site.to_string().starts_with("cache-runtime/src/site.rs:")
                || site.file().ends_with("site.rs")
        );
    }
}
