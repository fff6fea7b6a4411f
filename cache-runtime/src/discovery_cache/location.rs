//! Where cache files live, which names may be part of that path, and the
//! environment switch that turns the cache off.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The environment variable that disables every [`RegistryCache`] of the
/// process when set to a non-empty value other than `0`: discovery then
/// always runs and no cache file is read or written.
///
/// It is read when a cache is built.
///
/// [`RegistryCache`]: super::RegistryCache
pub const DISABLE_ENV_VAR: &str = "CACHE_RUNTIME_DISABLE_DISCOVERY_CACHE";

/// The longest app or cache name, in bytes.
pub const MAX_FILE_NAME_LEN: usize = 100;

/// Why an app or cache name cannot be part of a cache file's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileNameProblem {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than [`MAX_FILE_NAME_LEN`] bytes.
    #[error("it is {len} bytes long, more than {MAX_FILE_NAME_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name starts with `.` (`.`, `..` and hidden files).
    #[error("it starts with `.`")]
    LeadingDot,
    /// The name contains a character other than ASCII letters, digits, `-`,
    /// `_` and `.` (a path separator, a space, a character some file system
    /// forbids...).
    #[error("it contains {0:?}")]
    Character(char),
}

/// Checks that `name` is one safe path component on every platform.
pub(crate) fn check_file_name(name: &str) -> Result<(), FileNameProblem> {
    if name.is_empty() {
        return Err(FileNameProblem::Empty);
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(FileNameProblem::TooLong { len: name.len() });
    }
    if name.starts_with('.') {
        return Err(FileNameProblem::LeadingDot);
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(c) => Err(FileNameProblem::Character(c)),
        None => Ok(()),
    }
}

/// Whether the value of [`DISABLE_ENV_VAR`] disables the cache: set,
/// non-empty and not `0`.
pub(crate) fn disabled_by(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The user's cache folder: `$XDG_CACHE_HOME`, else `$HOME/.cache`, else (on
/// Windows) `%LOCALAPPDATA%`. Relative or empty values are ignored, as the
/// XDG base directory specification asks. `var` reads one variable.
pub(crate) fn cache_root(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .or_else(|| {
            if cfg!(windows) {
                absolute("LOCALAPPDATA")
            } else {
                None
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        for good in ["plugins", "my-app", "org.example.App", "v2_models", "a"] {
            assert_eq!(check_file_name(good), Ok(()), "{good}");
        }
        let long = "a".repeat(MAX_FILE_NAME_LEN + 1);
        let cases = [
            ("", FileNameProblem::Empty),
            (".", FileNameProblem::LeadingDot),
            ("..", FileNameProblem::LeadingDot),
            (".hidden", FileNameProblem::LeadingDot),
            ("a/b", FileNameProblem::Character('/')),
            ("a\\b", FileNameProblem::Character('\\')),
            ("../etc", FileNameProblem::LeadingDot),
            ("x/../y", FileNameProblem::Character('/')),
            ("nul\0", FileNameProblem::Character('\0')),
            ("my app", FileNameProblem::Character(' ')),
            ("c:", FileNameProblem::Character(':')),
            ("café", FileNameProblem::Character('é')),
            (
                long.as_str(),
                FileNameProblem::TooLong {
                    len: MAX_FILE_NAME_LEN + 1,
                },
            ),
        ];
        for (bad, problem) in cases {
            assert_eq!(check_file_name(bad), Err(problem), "{bad:?}");
        }
    }

    #[test]
    fn env_switch() {
        assert!(!disabled_by(None));
        assert!(!disabled_by(Some(OsStr::new(""))));
        assert!(!disabled_by(Some(OsStr::new("0"))));
        for on in ["1", "true", "yes", "00", " "] {
            assert!(disabled_by(Some(OsStr::new(on))), "{on:?}");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[cfg(unix)]
    #[test]
    fn cache_root_order() {
        let both = vars(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/me")]);
        assert_eq!(cache_root(both), Some(PathBuf::from("/xdg")));
        let home = vars(&[("HOME", "/home/me")]);
        assert_eq!(cache_root(home), Some(PathBuf::from("/home/me/.cache")));
        let relative = vars(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/me")]);
        assert_eq!(cache_root(relative), Some(PathBuf::from("/home/me/.cache")));
        let empty = vars(&[("XDG_CACHE_HOME", ""), ("HOME", "")]);
        assert_eq!(cache_root(empty), None);
        assert_eq!(cache_root(vars(&[])), None);
    }
}
