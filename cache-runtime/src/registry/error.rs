//! What can be wrong with the set of regions a program links.

use std::fmt;

use crate::site::DeclarationSite;

/// One problem in the registry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryProblem {
    /// Two regions with one name: two crates declared it, or a hand
    /// registration reused a declared name.
    #[error(
        "cache region `{name}` is declared twice: at {first} and at {second}; region names must be unique in a program, so rename one of them"
    )]
    DuplicateRegion {
        /// The name both use.
        name: String,
        /// The first declaration.
        first: DeclarationSite,
        /// The second declaration.
        second: DeclarationSite,
    },
    /// Two config providers with one name.
    #[error(
        "config provider `{name}` is declared twice: at {first} and at {second}; give one of them another `name = \"...\"`"
    )]
    DuplicateProvider {
        /// The name both use.
        name: String,
        /// The first declaration.
        first: DeclarationSite,
        /// The second declaration.
        second: DeclarationSite,
    },
}

/// The registry could not be built; [`RegistryError::problems`] lists every
/// reason, each naming the declarations involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    problems: Vec<RegistryProblem>,
}

impl RegistryError {
    pub(crate) fn new(problems: Vec<RegistryProblem>) -> RegistryError {
        RegistryError { problems }
    }

    /// Every problem found, in declaration order.
    pub fn problems(&self) -> &[RegistryProblem] {
        &self.problems
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in the cache registry:", many.len())?;
                for problem in many {
                    write!(f, "\n  - {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RegistryError {}
