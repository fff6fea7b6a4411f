//! Memcached key names: `{prefix}:{region}:{key text}`, with every byte of
//! the key text that memcached's text protocol cannot carry (spaces,
//! control characters, non-ASCII) and `%` itself written as `%XX`, so any
//! key text maps to one name and back. Memcached refuses names over 250
//! bytes: a key text whose name would be longer is refused, never cut.

use std::fmt::Write as _;

/// The longest key memcached accepts.
pub(crate) const MAX_KEY_LEN: usize = 250;

/// Whether `byte` goes into a name as it is.
fn plain(byte: u8) -> bool {
    (0x21..=0x7E).contains(&byte) && byte != b'%'
}

/// `text` with the bytes memcached cannot carry escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if plain(byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `%XX` sequences decoded (memcached's own `metadump` encoding, and
/// ours); `None` when the result is not UTF-8 or a sequence is broken.
pub(crate) fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_round_trips_through_a_name_memcached_can_carry() {
        for text in [
            "plain",
            "with space",
            "ünï",
            "100%",
            "a\r\nb",
            "",
            "tab\there",
        ] {
            let escaped = escape(text);
            assert!(
                escaped.bytes().all(|b| (0x21..=0x7E).contains(&b)),
                "{escaped}"
            );
            assert_eq!(unescape(&escaped).as_deref(), Some(text));
        }
        assert_eq!(escape("a b%"), "a%20b%25");
        assert_eq!(unescape("%zz"), None);
        assert_eq!(unescape("%4"), None);
    }
}
