//! Browsing a region's entries: the query and the page.

use serde::Serialize;

/// Which entries [`CacheManager::entries`](super::CacheManager::entries)
/// returns: those whose key's text form matches `pattern` (a glob: `*`,
/// `?`, `[...]`, `\` escapes), after `cursor`, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryQuery {
    /// A glob over keys' text forms; `None` matches every key.
    pub pattern: Option<String>,
    /// The `next` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
    /// The page size (1 to 10,000; 0 is taken as 1).
    pub limit: usize,
}

impl EntryQuery {
    /// The first `limit` entries.
    pub fn first(limit: usize) -> EntryQuery {
        EntryQuery {
            pattern: None,
            cursor: None,
            limit,
        }
    }

    /// Only keys matching `pattern`.
    #[must_use]
    pub fn matching(mut self, pattern: impl Into<String>) -> EntryQuery {
        self.pattern = Some(pattern.into());
        self
    }

    /// Continues after `cursor` (a page's `next`).
    #[must_use]
    pub fn after(mut self, cursor: impl Into<String>) -> EntryQuery {
        self.cursor = Some(cursor.into());
        self
    }
}

/// One page of entries.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EntryPage {
    /// The entries: in key-text order for memory regions, in a stable file
    /// order for disk and hybrid regions.
    pub entries: Vec<EntryView>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<String>,
}

/// One entry as tools see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EntryView {
    /// The key's text form.
    pub key: String,
    /// The value as JSON.
    pub value: serde_json::Value,
    /// How long ago it was stored, in milliseconds.
    pub age_ms: Option<u64>,
    /// How long it has left, in milliseconds, when it expires by age.
    pub expires_in_ms: Option<u64>,
}
