//! Glob patterns: `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`, and for paths `**`.
//!
//! One grammar with two readings. For cache keys ([`Glob::key`]) `*`
//! matches any run of characters, as Redis' `SCAN MATCH` does, so a
//! pattern means the same on every tier. For file paths ([`Glob::path`]) `*`
//! and `?` stop at `/` and `**` crosses folders.

use std::fmt;

/// A compiled glob pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    tokens: Vec<Token>,
    separator: Option<char>,
}

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

/// Why a pattern was rejected.
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
    /// A pattern over cache keys: `*` matches anything, `?` one character.
    ///
    /// # Errors
    ///
    /// [`GlobError`] for an unclosed class or a trailing `\`.
    pub fn key(pattern: &str) -> Result<Glob, GlobError> {
        Glob::compile(pattern, None)
    }

    /// A pattern over `/`-separated paths: `*` and `?` stay within one
    /// component, `**` spans any number of them (`src/**/*.rs`).
    ///
    /// # Errors
    ///
    /// [`GlobError`] for an unclosed class or a trailing `\`.
    pub fn path(pattern: &str) -> Result<Glob, GlobError> {
        Glob::compile(pattern, Some('/'))
    }

    fn compile(pattern: &str, separator: Option<char>) -> Result<Glob, GlobError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' if separator.is_some() && chars.get(i + 1) == Some(&'*') => {
                    i += 2;
                    // `**/` also matches no folder at all.
                    if separator.is_some_and(|s| chars.get(i) == Some(&s)) {
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
                    let (token, next) =
                        class(&chars, i).ok_or_else(|| GlobError::UnclosedClass {
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
        Ok(Glob {
            pattern: pattern.into(),
            tokens,
            separator,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern has no wildcard, so it names exactly one key.
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Literal(_)))
    }

    /// `text` with every character that is special in a pattern (`*`, `?`,
    /// `[`, `]`, `\\`) escaped, so the result matches exactly `text`, both
    /// here and as a Redis `MATCH` pattern.
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
        self.tokens
            .iter()
            .map(|token| match token {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// A Redis `SCAN MATCH` pattern that matches at least every key this
    /// pattern matches, for a server to filter with before the caller
    /// checks each key with [`Glob::matches`].
    ///
    /// Redis compares bytes and knows neither `[!..]` nor our `[]..]`, so
    /// the translation is exact only where the two agree: literals are
    /// escaped, `*` (and `**`) stay `*`, classes of ASCII characters stay
    /// classes (written out so Redis reads them alike); `?` (one character,
    /// up to 4 bytes) becomes `?*`, and so do negated classes and classes
    /// with non-ASCII characters. A pattern with very many `*` (which Redis
    /// stops matching past a nesting limit) becomes `*`.
    pub fn redis_match(&self) -> String {
        const MAX_STARS: usize = 64;
        let mut out = String::with_capacity(self.pattern.len() + 8);
        let mut stars = 0;
        let mut after_star = false;
        for token in &self.tokens {
            let star = matches!(token, Token::AnyRun | Token::AnyPath);
            match token {
                Token::Literal(c) => out.push_str(&Glob::escape(c.encode_utf8(&mut [0; 4]))),
                // Consecutive stars are one.
                Token::AnyRun | Token::AnyPath if after_star => {}
                Token::AnyRun | Token::AnyPath => {
                    out.push('*');
                    stars += 1;
                }
                Token::Class { negated, ranges }
                    if !negated && ranges.iter().all(|(_, hi)| hi.is_ascii()) =>
                {
                    out.push('[');
                    for (lo, hi) in ranges {
                        if lo != hi && lo.is_ascii_alphanumeric() && hi.is_ascii_alphanumeric() {
                            out.push(*lo);
                            out.push('-');
                            out.push(*hi);
                        } else {
                            for c in *lo..=*hi {
                                out.push('\\');
                                out.push(c);
                            }
                        }
                    }
                    out.push(']');
                }
                Token::AnyChar | Token::Class { .. } => {
                    out.push_str("?*");
                    stars += 1;
                }
            }
            after_star = star;
        }
        if stars > MAX_STARS { "*".into() } else { out }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        // Iterative matching with one backtrack point for the last `*` and
        // one for the last `**`: never recursive, so no input can blow the
        // stack. When the `*` would have to cross a separator, the `**`
        // takes one more character instead.
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        let mut deep: Option<(usize, usize)> = None;
        while t < text.len() {
            if p < self.tokens.len() {
                match &self.tokens[p] {
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
                    token if self.single(token, text[t]) => {
                        t += 1;
                        p += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some((star_p, star_t)) = star
                && Some(text[star_t]) != self.separator
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
        self.tokens[p..]
            .iter()
            .all(|t| matches!(t, Token::AnyRun | Token::AnyPath))
    }

    fn single(&self, token: &Token, c: char) -> bool {
        match token {
            Token::Literal(l) => *l == c,
            Token::AnyChar => Some(c) != self.separator,
            Token::Class { negated, ranges } => {
                Some(c) != self.separator
                    && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
            Token::AnyRun | Token::AnyPath => false,
        }
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
mod tests {
    use super::*;

    fn key(p: &str) -> Glob {
        Glob::key(p).expect("valid pattern")
    }

    fn path(p: &str) -> Glob {
        Glob::path(p).expect("valid pattern")
    }

    #[test]
    fn key_patterns_read_like_redis() {
        assert!(key("user:*").matches("user:42"));
        assert!(key("user:*").matches("user:a/b"));
        assert!(!key("user:*").matches("admin:1"));
        assert!(key("h?llo").matches("hello"));
        assert!(!key("h?llo").matches("hllo"));
        assert!(key("h[ae]llo").matches("hallo"));
        assert!(!key("h[ae]llo").matches("hillo"));
        assert!(key("h[!e]llo").matches("hallo"));
        assert!(!key("h[^e]llo").matches("hello"));
        assert!(key("h[a-c]llo").matches("hbllo"));
        assert!(key("a\\*b").matches("a*b"));
        assert!(!key("a\\*b").matches("axb"));
        assert!(key("*").matches(""));
        assert!(key("*a*b*").matches("xxaxxbxx"));
        assert!(key("[]]").matches("]"));
        assert!(key("exact").is_literal());
        assert!(!key("ex*ct").is_literal());
    }

    #[test]
    fn escape_literal_and_redis_match() {
        let tricky = "a*b?c[d]e\\f";
        assert_eq!(Glob::escape(tricky), "a\\*b\\?c\\[d\\]e\\\\f");
        assert!(key(&Glob::escape(tricky)).matches(tricky));
        assert_eq!(
            key(&Glob::escape(tricky)).literal().as_deref(),
            Some(tricky)
        );
        assert_eq!(key("a*").literal(), None);
        assert_eq!(key("user:*").redis_match(), "user:*");
        assert_eq!(key("u?").redis_match(), "u?*");
        assert_eq!(key("[a-c]x").redis_match(), "[a-c]x");
        assert_eq!(key("[!a]x").redis_match(), "?*x");
        assert_eq!(key("[^a]").redis_match(), "?*");
        assert_eq!(key("[]^-]").redis_match(), "[\\]\\^\\-]");
        assert_eq!(key("[é]").redis_match(), "?*");
        assert_eq!(key("a\\*").redis_match(), "a\\*");
        assert_eq!(key("a\\**").redis_match(), "a\\**");
        assert_eq!(key(&"*a".repeat(100)).redis_match(), "*");
    }

    #[test]
    fn path_patterns_respect_folders() {
        assert!(path("src/*.rs").matches("src/lib.rs"));
        assert!(!path("src/*.rs").matches("src/a/lib.rs"));
        assert!(path("src/**/*.rs").matches("src/lib.rs"));
        assert!(path("src/**/*.rs").matches("src/a/b/lib.rs"));
        assert!(path("**/generated/**").matches("src/generated/x.rs"));
        assert!(!path("src/?.rs").matches("src//.rs"));
        assert!(path("**/*.rs").matches("main.rs"));
    }

    #[test]
    fn bad_patterns_are_errors_and_nothing_explodes() {
        assert!(matches!(
            Glob::key("a[bc"),
            Err(GlobError::UnclosedClass { .. })
        ));
        assert!(matches!(
            Glob::key("abc\\"),
            Err(GlobError::DanglingEscape { .. })
        ));
        let many = "*a".repeat(200);
        assert!(!key(&many).matches(&"a".repeat(150)));
        assert!(key(&many).matches(&"a".repeat(250)));
    }

    /// The obvious recursive matcher, exponential but plainly right.
    fn reference(tokens: &[Token], text: &[char], sep: Option<char>, g: &Glob) -> bool {
        match tokens.first() {
            None => text.is_empty(),
            Some(Token::AnyPath) => {
                (0..=text.len()).any(|n| reference(&tokens[1..], &text[n..], sep, g))
            }
            Some(Token::AnyRun) => (0..=text.len())
                .take_while(|n| *n == 0 || Some(text[n - 1]) != sep)
                .any(|n| reference(&tokens[1..], &text[n..], sep, g)),
            Some(token) => {
                !text.is_empty()
                    && g.single(token, text[0])
                    && reference(&tokens[1..], &text[1..], sep, g)
            }
        }
    }

    #[test]
    fn agrees_with_the_reference_on_every_small_case() {
        let alphabet = ['a', '/', '*', '?'];
        let mut patterns = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = patterns
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            patterns.extend(longer);
        }
        patterns.sort();
        patterns.dedup();
        let texts: Vec<String> = (0..64u32)
            .map(|bits| {
                (0..6)
                    .filter_map(|i| match (bits >> i) & 3 {
                        0 => Some('a'),
                        1 => Some('/'),
                        2 => Some('b'),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        for pattern in &patterns {
            for glob in [path(pattern), key(pattern)] {
                for text in &texts {
                    let chars: Vec<char> = text.chars().collect();
                    assert_eq!(
                        glob.matches(text),
                        reference(&glob.tokens, &chars, glob.separator, &glob),
                        "pattern {pattern:?} text {text:?} separator {:?}",
                        glob.separator
                    );
                }
            }
        }
    }
}
