//! [`RegionText`]: a region's name, item, key and value types, description
//! and declaration site. A declared region's are one `&'static str` with the
//! pieces end to end ([`DeclaredText`]), so that its descriptor holds one
//! pointer rather than seven: each pointer in a static is a relocation the
//! dynamic loader applies at start-up, before `main`, in every program that
//! links the declaration.

use std::borrow::Cow;

use crate::site::DeclarationSite;

/// The pieces of a [`DeclaredText`], in their order in the string.
#[derive(Clone, Copy)]
enum Piece {
    Name,
    Item,
    KeyType,
    ValueType,
    Description,
    ModulePath,
    File,
}

/// A declared region's strings, written by the attribute as one literal
/// (`concat!` of the name, item, key type, value type, description,
/// `module_path!()` and `file!()`), with where each piece ends.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct DeclaredText {
    text: &'static str,
    /// Where each piece but the last (the file, which runs to the end)
    /// ends, in bytes from the start.
    ends: [u32; 6],
    line: u32,
    column: u32,
}

impl DeclaredText {
    /// `text` with the byte lengths of its first six pieces (the name, item,
    /// key type, value type, description and module path); the file is the
    /// rest. Evaluated at compile time: lengths that do not fit `text` fail
    /// the build.
    #[doc(hidden)]
    pub const fn __new(text: &'static str, lens: [usize; 6], line: u32, column: u32) -> Self {
        let mut ends = [0u32; 6];
        let mut end = 0usize;
        let mut i = 0;
        while i < 6 {
            end += lens[i];
            assert!(
                end <= text.len() && end <= u32::MAX as usize,
                "piece lengths overrun the declared text"
            );
            ends[i] = end as u32;
            i += 1;
        }
        DeclaredText {
            text,
            ends,
            line,
            column,
        }
    }

    fn piece(&self, piece: Piece) -> &'static str {
        let i = piece as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self
            .ends
            .get(i)
            .map_or(self.text.len(), |&end| end as usize);
        // The attribute cut the text at its pieces' boundaries; a text built
        // otherwise reads as empty pieces rather than panicking.
        self.text.get(start..end).unwrap_or("")
    }

    fn site(&self) -> DeclarationSite {
        DeclarationSite::__new(
            self.piece(Piece::ModulePath),
            self.piece(Piece::File),
            self.line,
            self.column,
        )
    }
}

/// A region registered by hand: its strings may be owned.
#[derive(Clone, Debug)]
pub(crate) struct BuiltText {
    pub(crate) name: Cow<'static, str>,
    pub(crate) key_type: Option<&'static str>,
    pub(crate) value_type: Option<&'static str>,
    pub(crate) description: Cow<'static, str>,
    pub(crate) site: DeclarationSite,
}

/// A region's strings: packed for a declared region, separate (and boxed,
/// to keep declared descriptors small) for one registered by hand.
#[derive(Clone, Debug)]
pub(crate) enum RegionText {
    Declared(DeclaredText),
    Built(Box<BuiltText>),
}

impl RegionText {
    pub(crate) fn name(&self) -> &str {
        match self {
            RegionText::Declared(text) => text.piece(Piece::Name),
            RegionText::Built(built) => &built.name,
        }
    }

    pub(crate) fn item(&self) -> Option<&'static str> {
        match self {
            RegionText::Declared(text) => Some(text.piece(Piece::Item)),
            RegionText::Built(_) => None,
        }
    }

    pub(crate) fn key_type(&self) -> Option<&'static str> {
        match self {
            RegionText::Declared(text) => Some(text.piece(Piece::KeyType)),
            RegionText::Built(built) => built.key_type,
        }
    }

    pub(crate) fn value_type(&self) -> Option<&'static str> {
        match self {
            RegionText::Declared(text) => Some(text.piece(Piece::ValueType)),
            RegionText::Built(built) => built.value_type,
        }
    }

    pub(crate) fn description(&self) -> &str {
        match self {
            RegionText::Declared(text) => text.piece(Piece::Description),
            RegionText::Built(built) => &built.description,
        }
    }

    pub(crate) fn site(&self) -> DeclarationSite {
        match self {
            RegionText::Declared(text) => text.site(),
            RegionText::Built(built) => built.site,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: DeclaredText = DeclaredText::__new(
        concat!(
            "user-sessions",
            "Sessions",
            "u64",
            "Vec<u8>",
            "",
            "app::auth",
            "src/auth.rs"
        ),
        [13, 8, 3, 7, 0, 9],
        12,
        1,
    );

    #[test]
    fn every_piece_reads_back_as_written() {
        let text = RegionText::Declared(TEXT);
        assert_eq!(text.name(), "user-sessions");
        assert_eq!(text.item(), Some("Sessions"));
        assert_eq!(text.key_type(), Some("u64"));
        assert_eq!(text.value_type(), Some("Vec<u8>"));
        assert_eq!(text.description(), "");
        let site = text.site();
        assert_eq!(site.module_path(), Some("app::auth"));
        assert_eq!(site.file(), "src/auth.rs");
        assert_eq!((site.line(), site.column()), (12, 1));
    }

    #[test]
    fn pieces_split_multi_byte_text_at_their_boundaries() {
        let text = RegionText::Declared(DeclaredText::__new(
            concat!(
                "prix",
                "Prix",
                "String",
                "f64",
                "les prix en €, par région",
                "app",
                "src/é.rs"
            ),
            [4, 4, 6, 3, "les prix en €, par région".len(), 3],
            1,
            1,
        ));
        assert_eq!(text.description(), "les prix en €, par région");
        assert_eq!(text.site().file(), "src/é.rs");
    }

    #[test]
    fn a_cut_inside_a_character_reads_empty_rather_than_panicking() {
        let text = DeclaredText::__new("é", [1, 0, 0, 0, 0, 0], 1, 1);
        assert_eq!(text.piece(Piece::Name), "");
        assert_eq!(text.piece(Piece::File), "");
    }
}
