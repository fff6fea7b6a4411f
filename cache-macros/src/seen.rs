//! Names already declared in the crate being compiled, so that a second
//! declaration of one name is reported at its own name with where the first
//! one is.
//!
//! rustc expands every attribute of one crate in one process, in one
//! session, so a process-wide table sees all of a crate's declarations.
//! Where that does not hold — an IDE's long-lived macro server, which
//! expands many crates and re-expands edited files — the table is not
//! consulted, and the `#[macro_export]` guard of each declaration still
//! refuses a duplicate (with the compiler's own wording).

use std::collections::HashMap;
use std::sync::Mutex;

use proc_macro2::Span;

/// Where a name was first declared: file, line and column, as the compiler
/// shows them.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Site {
    file: String,
    line: usize,
    column: usize,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// What a second declaration of a name is told.
pub(crate) enum Seen {
    /// The first declaration of this name, or the table is not consulted.
    First,
    /// Another declaration of this name is at `Site`.
    Twice(Site),
}

/// A declaration's kind (the guard's prefix), its crate and its name.
type Key = (&'static str, String, String);

/// The declarations seen in this process.
static SEEN: Mutex<Option<HashMap<Key, Site>>> = Mutex::new(None);

/// Records that `name` (a region or a provider, per `kind`) is declared at
/// `span`, and says whether another declaration of it came first.
///
/// A declaration expanded again at the same place (a macro expanding one
/// template twice) is not a second declaration; the guard catches it.
pub(crate) fn record(kind: &'static str, name: &str, span: Span) -> Seen {
    let Some(site) = site_of(span) else {
        return Seen::First;
    };
    if std::env::var_os("RUST_ANALYZER_INTERNALS_DO_NOT_USE").is_some() {
        return Seen::First;
    }
    let krate = std::env::var("CARGO_CRATE_NAME").unwrap_or_default();
    let Ok(mut seen) = SEEN.lock() else {
        return Seen::First;
    };
    let seen = seen.get_or_insert_with(HashMap::new);
    match seen.get(&(kind, krate.clone(), name.to_owned())) {
        Some(first) if *first != site => Seen::Twice(first.clone()),
        Some(_) => Seen::First,
        None => {
            seen.insert((kind, krate, name.to_owned()), site);
            Seen::First
        }
    }
}

/// The file, line and column of `span`, when the compiler has a real file
/// for it.
fn site_of(span: Span) -> Option<Site> {
    if !proc_macro::is_available() {
        return None;
    }
    let span = span.unwrap();
    // `file` is the path as the compiler shows it (remapped paths too).
    let file = span.file();
    if file.is_empty() {
        return None;
    }
    Some(Site {
        file,
        line: span.line(),
        column: span.column(),
    })
}
