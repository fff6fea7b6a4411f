//! Glob patterns over cache keys (Redis' own, byte for byte) and over file
//! paths (`**` crosses folders).
//!
//! [`Glob::key`] is the pattern language of Redis' `SCAN MATCH` and `KEYS`,
//! reproduced byte for byte so a pattern selects the same keys on every
//! tier: `*` any run of bytes, `?` one byte (so `user:?` does not match
//! `user:é`, two bytes), `[abc]`, `[a-z]` and `[^abc]` one byte (`!` is
//! an ordinary byte), `\x` the byte `x`. Redis refuses no pattern, and
//! neither does this: an unclosed `[` is a class up to the end of the
//! pattern, `[]` a class nothing matches, a trailing `\` an ordinary
//! backslash; a range's ends compare as signed bytes (as `char` does in
//! the C of an x86-64 Redis build), and a pattern with more than 1,000
//! `*` groups before its last byte matches nothing (Redis' nesting limit).
//!
//! [`Glob::path`] reads file paths: `*` and `?` stay within one `/`
//! component (one character, not one byte), `**` crosses folders, `[!..]`
//! and `[^..]` negate.

use std::fmt;

/// A compiled glob pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    form: Form,
}

#[derive(Clone, PartialEq, Eq)]
enum Form {
    Key(Vec<KeyToken>),
    Path(Vec<Token>),
}

/// One step of a key pattern; each but `Star` takes exactly one byte.
#[derive(Clone, Debug, PartialEq, Eq)]
enum KeyToken {
    Byte(u8),
    AnyByte,
    Star,
    Class(ByteSet),
}

/// The bytes a `[...]` class accepts, its negation already applied.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, byte: u8) {
        self.0[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }

    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0
    }

    fn invert(&mut self) {
        for word in &mut self.0 {
            *word = !*word;
        }
    }
}

/// Redis stops matching a pattern past this many nested `*`.
const REDIS_STAR_NESTING: usize = 1000;

/// One step of a path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyChar,
    AnyRun,
    AnyPath,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Why a path pattern was rejected (key patterns never are).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// A `[` without its `]`.
    #[error("unclosed `[` in pattern `{pattern}`; close the class with `]` or escape it as `\\[`")]
    UnclosedClass {
        /// The pattern.
        pattern: String,
    },
    /// A `\` at the very end.
    #[error("pattern `{pattern}` ends with a lone `\\`; escape it as `\\\\`")]
    DanglingEscape {
        /// The pattern.
        pattern: String,
    },
}

impl Glob {
    /// A pattern over cache keys, read as Redis reads it (see the module
    /// docs): `*` matches any run of bytes, `?` one byte.
    ///
    /// Never an error: every text is a pattern Redis accepts, and so it is
    /// here.
    pub fn key(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.into(),
            form: Form::Key(key_tokens(pattern.as_bytes())),
        }
    }

    /// A pattern over `/`-separated paths: `*` and `?` stay within one
    /// component, `**` spans any number of them (`src/**/*.rs`).
    ///
    /// # Errors
    ///
    /// [`GlobError`] for an unclosed class or a trailing `\`.
    pub fn path(pattern: &str) -> Result<Glob, GlobError> {
        Ok(Glob {
            pattern: pattern.into(),
            form: Form::Path(path_tokens(pattern)?),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern has no wildcard, so it names exactly one key.
    pub fn is_literal(&self) -> bool {
        self.literal().is_some()
    }

    /// `text` with every byte that is special in a pattern (`*`, `?`, `[`,
    /// `]`, `\\`) escaped, so the result matches exactly `text`, both here
    /// and as a Redis `MATCH` pattern.
    pub fn escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    /// The one text a literal pattern ([`Glob::is_literal`]) matches, its
    /// escapes undone; `None` for a pattern with a wildcard.
    pub fn literal(&self) -> Option<String> {
        match &self.form {
            Form::Key(tokens) => {
                let bytes = tokens
                    .iter()
                    .map(|token| match token {
                        KeyToken::Byte(b) => Some(*b),
                        _ => None,
                    })
                    .collect::<Option<Vec<u8>>>()?;
                // Taking `\` (ASCII) out of UTF-8 leaves UTF-8.
                String::from_utf8(bytes).ok()
            }
            Form::Path(tokens) => tokens
                .iter()
                .map(|token| match token {
                    Token::Literal(c) => Some(*c),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        match &self.form {
            Form::Key(tokens) => key_matches(tokens, text.as_bytes()),
            Form::Path(tokens) => path_matches(tokens, text),
        }
    }
}

/// Compiles a key pattern the way Redis' matcher walks it: the same bytes
/// start a class, an escape or a range, and the same bytes end them.
fn key_tokens(pattern: &[u8]) -> Vec<KeyToken> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut i = 0;
    while i < pattern.len() {
        let token = match pattern[i] {
            b'*' => {
                // A run of stars is one star.
                while pattern.get(i + 1) == Some(&b'*') {
                    i += 1;
                }
                KeyToken::Star
            }
            b'?' => KeyToken::AnyByte,
            b'[' => {
                let (set, end) = key_class(pattern, i + 1);
                i = end;
                KeyToken::Class(set)
            }
            // A `\` escapes the next byte; a trailing one is itself.
            b'\\' if i + 1 < pattern.len() => {
                i += 1;
                KeyToken::Byte(pattern[i])
            }
            byte => KeyToken::Byte(byte),
        };
        tokens.push(token);
        i += 1;
    }
    tokens
}

/// Reads a class whose body starts at `start` (just after `[`): the bytes
/// it accepts and the index of its last byte (its `]`, or the pattern's
/// last byte when it is never closed).
fn key_class(pattern: &[u8], start: usize) -> (ByteSet, usize) {
    let mut set = ByteSet([0; 4]);
    let mut i = start;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let end = loop {
        let left = pattern.len().saturating_sub(i);
        if left == 0 {
            // Unclosed: the class is what was read, up to the end.
            break pattern.len() - 1;
        }
        match pattern[i] {
            b'\\' if left >= 2 => {
                i += 1;
                set.insert(pattern[i]);
            }
            b']' => break i,
            first if left >= 3 && pattern[i + 1] == b'-' => {
                // Ends compare as C's signed `char`.
                let (a, b) = (first as i8, pattern[i + 2] as i8);
                let (low, high) = if a <= b { (a, b) } else { (b, a) };
                for byte in low..=high {
                    set.insert(byte as u8);
                }
                i += 2;
            }
            byte => set.insert(byte),
        }
        i += 1;
    };
    if negated {
        set.invert();
    }
    (set, end)
}

/// Matches bytes against a key pattern: iterative, with one backtrack point
/// (the last `*`), so no input can blow the stack or take exponential time.
fn key_matches(tokens: &[KeyToken], text: &[u8]) -> bool {
    let groups = tokens.iter().filter(|t| **t == KeyToken::Star).count();
    let trailing = usize::from(tokens.last() == Some(&KeyToken::Star));
    if groups - trailing > REDIS_STAR_NESTING {
        return false;
    }
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match tokens.get(p) {
            Some(KeyToken::Star) => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(token) if t < text.len() && key_accepts(token, text[t]) => {
                p += 1;
                t += 1;
                continue;
            }
            None if t == text.len() => return true,
            _ => {}
        }
        match star {
            Some((after, from)) if from < text.len() => {
                star = Some((after, from + 1));
                p = after;
                t = from + 1;
            }
            _ => return false,
        }
    }
}

fn key_accepts(token: &KeyToken, byte: u8) -> bool {
    match token {
        KeyToken::Byte(b) => *b == byte,
        KeyToken::AnyByte => true,
        KeyToken::Class(set) => set.contains(byte),
        KeyToken::Star => false,
    }
}

/// Compiles a path pattern.
fn path_tokens(pattern: &str) -> Result<Vec<Token>, GlobError> {
    let separator = '/';
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                // `**/` also matches no folder at all.
                if chars.get(i) == Some(&separator) {
                    i += 1;
                }
                tokens.push(Token::AnyPath);
                continue;
            }
            '*' => tokens.push(Token::AnyRun),
            '?' => tokens.push(Token::AnyChar),
            '\\' => {
                let escaped = chars.get(i + 1).ok_or_else(|| GlobError::DanglingEscape {
                    pattern: pattern.into(),
                })?;
                tokens.push(Token::Literal(*escaped));
                i += 1;
            }
            '[' => {
                let (token, next) = class(&chars, i).ok_or_else(|| GlobError::UnclosedClass {
                    pattern: pattern.into(),
                })?;
                tokens.push(token);
                i = next;
                continue;
            }
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    Ok(tokens)
}

/// Matches a path against a path pattern: iterative, with one backtrack
/// point for the last `*` and one for the last `**`. When the `*` would
/// have to cross a separator, the `**` takes one more character instead.
fn path_matches(tokens: &[Token], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut deep: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < tokens.len() {
            match &tokens[p] {
                Token::AnyRun => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                Token::AnyPath => {
                    deep = Some((p, t));
                    star = None;
                    p += 1;
                    continue;
                }
                token if path_single(token, text[t]) => {
                    t += 1;
                    p += 1;
                    continue;
                }
                _ => {}
            }
        }
        if let Some((star_p, star_t)) = star
            && text[star_t] != '/'
        {
            star = Some((star_p, star_t + 1));
            p = star_p + 1;
            t = star_t + 1;
            continue;
        }
        match deep {
            Some((deep_p, deep_t)) => {
                star = None;
                deep = Some((deep_p, deep_t + 1));
                p = deep_p + 1;
                t = deep_t + 1;
            }
            None => return false,
        }
    }
    tokens[p..]
        .iter()
        .all(|t| matches!(t, Token::AnyRun | Token::AnyPath))
}

fn path_single(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::AnyChar => c != '/',
        Token::Class { negated, ranges } => {
            c != '/' && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Token::AnyRun | Token::AnyPath => false,
    }
}

/// Parses `[...]` starting at `start`; returns the token and the index after `]`.
fn class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        let c = if c == '\\' {
            i += 1;
            *chars.get(i)?
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            let end = chars[i + 2];
            ranges.push((c.min(end), c.max(end)));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

#[cfg(test)]
mod tests;
