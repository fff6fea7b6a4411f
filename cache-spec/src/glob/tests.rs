use super::*;

fn key(p: &str) -> Glob {
    Glob::key(p)
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
    assert!(!key("h[^e]llo").matches("hello"));
    assert!(key("h[^e]llo").matches("hallo"));
    assert!(key("h[a-c]llo").matches("hbllo"));
    assert!(key("h[c-a]llo").matches("hbllo"));
    assert!(key("a\\*b").matches("a*b"));
    assert!(!key("a\\*b").matches("axb"));
    assert!(key("*").matches(""));
    assert!(key("*a*b*").matches("xxaxxbxx"));
    assert!(key("exact").is_literal());
    assert!(!key("ex*ct").is_literal());
}

#[test]
fn key_patterns_are_bytes_and_bang_is_a_byte() {
    // `!` is an ordinary byte: `[!0-9]` is `!` or a digit.
    assert!(key("[!0-9]").matches("!"));
    assert!(key("[!0-9]").matches("7"));
    assert!(!key("[!0-9]").matches("a"));
    // `?` and classes take one byte, not one character.
    assert!(!key("user:?").matches("user:é"));
    assert!(key("user:??").matches("user:é"));
    assert!(key("user:[^a]?").matches("user:é"));
    assert!(!key("[é]").matches("é"));
    assert!(key("[é][é]").matches("é"));
}

#[test]
fn patterns_redis_accepts_are_accepted() {
    // An unclosed class runs to the end of the pattern.
    assert!(!key("[").matches("["));
    assert!(!key("[").matches("a"));
    assert!(key("a[bc").matches("ab"));
    assert!(key("a[bc").matches("ac"));
    assert!(key("[^").matches("x"));
    // `[]` matches nothing; `[^]` any one byte; `[]]` is `[]` then `]`.
    assert!(!key("[]").matches("]"));
    assert!(key("[^]").matches("z"));
    assert!(!key("[]]").matches("]"));
    // `[a-` is a class of `a` and `-`, left open.
    assert!(key("[a-").matches("-"));
    // `[a-]` ranges from `]` to `a`, and stays open.
    assert!(key("[a-]").matches("_"));
    // A trailing `\` is a backslash, also inside a class.
    assert!(key("abc\\").matches("abc\\"));
    assert!(key("[\\").matches("\\"));
    // Escapes inside a class.
    assert!(key("[\\]]").matches("]"));
    assert!(key("[\\a-z]").matches("-"));
    assert!(!key("[\\a-z]").matches("b"));
}

#[test]
fn ranges_compare_as_signed_bytes() {
    // 0xC3 is -61 as a signed byte: `[a-é]` holds 0xC3..=0xFF and
    // 0x00..=`a`, so `é`'s first byte and `A` but not `b`.
    assert!(key("[a-é]?").matches("é"));
    assert!(key("[a-é]").matches("A"));
    assert!(!key("[a-é]").matches("b"));
}

#[test]
fn redis_stops_past_a_thousand_stars() {
    let text = "a".repeat(1100);
    assert!(key(&"*a".repeat(1000)).matches(&text));
    assert!(key(&format!("{}*", "*a".repeat(1000))).matches(&text));
    assert!(!key(&"*a".repeat(1001)).matches(&text));
}

#[test]
fn escape_and_literal() {
    let tricky = "a*b?c[d]e\\f";
    assert_eq!(Glob::escape(tricky), "a\\*b\\?c\\[d\\]e\\\\f");
    assert!(key(&Glob::escape(tricky)).matches(tricky));
    assert_eq!(
        key(&Glob::escape(tricky)).literal().as_deref(),
        Some(tricky)
    );
    assert_eq!(key("a*").literal(), None);
    assert_eq!(key("é\\é").literal().as_deref(), Some("éé"));
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
    assert!(path("h[!e]llo").matches("hallo"));
    assert!(path("[]]").matches("]"));
}

#[test]
fn bad_path_patterns_are_errors_and_nothing_explodes() {
    assert!(matches!(
        Glob::path("a[bc"),
        Err(GlobError::UnclosedClass { .. })
    ));
    assert!(matches!(
        Glob::path("abc\\"),
        Err(GlobError::DanglingEscape { .. })
    ));
    let many = "*a".repeat(200);
    assert!(!key(&many).matches(&"a".repeat(150)));
    assert!(key(&many).matches(&"a".repeat(250)));
    assert!(!path(&many).matches(&"a".repeat(150)));
}

/// The obvious recursive path matcher, exponential but plainly right.
fn path_reference(tokens: &[Token], text: &[char]) -> bool {
    match tokens.first() {
        None => text.is_empty(),
        Some(Token::AnyPath) => (0..=text.len()).any(|n| path_reference(&tokens[1..], &text[n..])),
        Some(Token::AnyRun) => (0..=text.len())
            .take_while(|n| *n == 0 || text[n - 1] != '/')
            .any(|n| path_reference(&tokens[1..], &text[n..])),
        Some(token) => {
            !text.is_empty()
                && path_single(token, text[0])
                && path_reference(&tokens[1..], &text[1..])
        }
    }
}

/// The obvious recursive key matcher.
fn key_reference(tokens: &[KeyToken], text: &[u8]) -> bool {
    match tokens.first() {
        None => text.is_empty(),
        Some(KeyToken::Star) => (0..=text.len()).any(|n| key_reference(&tokens[1..], &text[n..])),
        Some(token) => {
            !text.is_empty()
                && key_accepts(token, text[0])
                && key_reference(&tokens[1..], &text[1..])
        }
    }
}

#[test]
fn agrees_with_the_references_on_every_small_case() {
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
        let (key_glob, path_glob) = (key(pattern), path(pattern));
        let (Form::Key(key_form), Form::Path(path_form)) = (&key_glob.form, &path_glob.form) else {
            unreachable!("the constructors pick the form");
        };
        for text in &texts {
            let chars: Vec<char> = text.chars().collect();
            assert_eq!(
                path_glob.matches(text),
                path_reference(path_form, &chars),
                "path pattern {pattern:?} text {text:?}"
            );
            assert_eq!(
                key_glob.matches(text),
                key_reference(key_form, text.as_bytes()),
                "key pattern {pattern:?} text {text:?}"
            );
        }
    }
}
