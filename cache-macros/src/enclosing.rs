//! Which kind of block a declaration sits in, read from its source file.
//!
//! An attribute sees only its item: an associated function of an `impl`
//! looks exactly like a free function. Where the compiler gives the item's
//! file and position, the file is read up to that position and its braces
//! counted, each classed by the item that opened it. Anything unclear (no
//! file, an unreadable file, a position past its end) answers `None`, and
//! the declaration is expanded as usual.

use proc_macro2::Span;

/// The block around a position: an `impl`, a `trait`, or anything else
/// (a module, a function body, an expression).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    Impl,
    Trait,
    Other,
}

/// The innermost block around `span`, or `None` at the top of a file or
/// when it cannot be read.
pub(crate) fn block_of(span: Span) -> Option<Block> {
    if !proc_macro::is_available() {
        return None;
    }
    let span = span.unwrap();
    let path = span.local_file()?;
    let text = std::fs::read_to_string(path).ok()?;
    let offset = offset_of(&text, span.line(), span.column())?;
    innermost(&text[..offset])
}

/// The byte offset of a 1-based line and 1-based column (in characters).
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start..];
    let in_line = rest
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map_or(rest.len(), |(i, _)| i);
    Some(start + in_line)
}

/// The kind of the innermost brace still open at the end of `text`.
fn innermost(text: &str) -> Option<Block> {
    let bytes = text.as_bytes();
    let mut open: Vec<Block> = Vec::new();
    // The first significant word since the last `;`, `{` or `}` outside
    // parentheses and brackets: what kind of item a `{` opens.
    let mut header: Option<Block> = None;
    let mut nesting = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'\'' => {
                i = skip_quote(bytes, i);
                continue;
            }
            b'(' | b'[' => nesting += 1,
            b')' | b']' => nesting = nesting.saturating_sub(1),
            b';' if nesting == 0 => header = None,
            b'{' => {
                open.push(header.unwrap_or(Block::Other));
                header = None;
                nesting = 0;
            }
            b'}' => {
                open.pop();
                header = None;
                nesting = 0;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                if let Some(end) = skip_raw_string(bytes, i) {
                    i = end;
                    continue;
                }
                let start = i;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                if nesting == 0 && header.is_none() {
                    header = match &text[start..i] {
                        "pub" | "unsafe" | "default" | "auto" | "async" | "extern" => None,
                        "impl" => Some(Block::Impl),
                        "trait" => Some(Block::Trait),
                        _ => Some(Block::Other),
                    };
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    open.last().copied()
}

/// Past a `/* */` comment starting at `i` (comments nest).
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Past the closing quote of a string whose text starts at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Past a character literal (`'x'`, `'\n'`, `'é'`) or a lifetime's quote
/// at `i`.
fn skip_quote(bytes: &[u8], i: usize) -> usize {
    if bytes.get(i + 1) == Some(&b'\\') {
        let mut j = i + 3;
        while j < bytes.len() && bytes[j] != b'\'' {
            j += 1;
        }
        return j + 1;
    }
    // One character, however many bytes, then a quote: a literal.
    let width = match bytes.get(i + 1) {
        Some(&b) if b < 0x80 => 1,
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(_) => 2,
        None => return i + 1,
    };
    if bytes.get(i + 1 + width) == Some(&b'\'') {
        i + 2 + width
    } else {
        i + 1
    }
}

/// Past a raw (byte, C) string literal starting at `i` (`r"…"`, `br#"…"#`,
/// `cr"…"`), or `None` when `i` starts a word.
fn skip_raw_string(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(bytes[j], b'b' | b'c') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = bytes[j..].iter().take_while(|&&b| b == b'#').count();
    j += hashes;
    if bytes.get(j) != Some(&b'"') {
        return None;
    }
    j += 1;
    while j < bytes.len() {
        if bytes[j] == b'"' && bytes[j + 1..].iter().take_while(|&&b| b == b'#').count() >= hashes {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

#[cfg(test)]
mod tests {
    use super::{Block, innermost, offset_of};

    #[test]
    fn an_impl_a_trait_a_module_and_a_function_body_are_told_apart() {
        assert_eq!(innermost("impl Settings {\n    "), Some(Block::Impl));
        assert_eq!(
            innermost("impl<T: Into<[u8; 3]>> Trait for S<T> where T: Copy {"),
            Some(Block::Impl)
        );
        assert_eq!(innermost("pub unsafe trait Source {"), Some(Block::Trait));
        assert_eq!(innermost("mod inner {"), Some(Block::Other));
        assert_eq!(innermost("fn f() -> impl Sized {"), Some(Block::Other));
        assert_eq!(innermost("impl S { fn f() {"), Some(Block::Other));
        assert_eq!(innermost("impl S { fn f() {} }\n"), None);
        assert_eq!(innermost("#[derive(Debug)] pub(crate) struct S;\n"), None);
    }

    #[test]
    fn braces_in_comments_strings_and_characters_do_not_count() {
        let text = "// impl A {\n/* { /* } */ */ const A: &str = \"{\"; \
                    const B: char = '{'; const C: &str = r#\"\"{\"#; fn f<'a>(x: &'a str) {}\n";
        assert_eq!(innermost(text), None);
        assert_eq!(
            innermost("impl S { const A: char = '}'; "),
            Some(Block::Impl)
        );
    }

    #[test]
    fn a_line_and_column_become_a_byte_offset() {
        let text = "ab\ncdé\nfg";
        assert_eq!(offset_of(text, 1, 1), Some(0));
        assert_eq!(offset_of(text, 2, 3), Some(5));
        assert_eq!(offset_of(text, 3, 2), Some(9));
        assert_eq!(offset_of(text, 9, 1), None);
    }
}
