//! The codecs' direct paths for the commonest types, picked by `TypeId`:
//! a `Vec<u8>` value written and read in postcard's form without serde's
//! byte-by-byte sequence, and the text of `String` and integer keys
//! without building a `serde_json::Value`. Each gives exactly what the
//! serde path gives (unit tests compare them).

use std::any::{Any, TypeId};
use std::ops::Range;

/// `value` in postcard's form, when `T` is `Vec<u8>`: its length as a
/// varint, then the bytes.
pub(super) fn encode_bytes<T: 'static>(value: &T) -> Option<Vec<u8>> {
    let bytes = (value as &dyn Any).downcast_ref::<Vec<u8>>()?;
    let mut out = Vec::with_capacity(bytes.len() + 10);
    let mut len = bytes.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(bytes);
    Some(out)
}

/// What [`decode_bytes`] found: not a `Vec<u8>` (use serde), or the
/// answer for one.
pub(super) enum Direct<T> {
    NotBytes,
    Decoded(Option<T>),
}

/// `encoded` read back as postcard reads a `Vec<u8>` (trailing bytes
/// ignored, as `postcard::from_bytes` does), when `T` is `Vec<u8>`.
pub(super) fn decode_bytes<T: 'static>(encoded: &[u8]) -> Direct<T> {
    if !is_bytes::<T>() {
        return Direct::NotBytes;
    }
    let mut slot: Option<T> = None;
    if let Some(slot) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Vec<u8>>>() {
        *slot = read_bytes(encoded).map(<[u8]>::to_vec);
    }
    Direct::Decoded(slot)
}

/// Whether `T` is `Vec<u8>`, the type the direct paths handle.
pub(super) fn is_bytes<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<Vec<u8>>()
}

/// The postcard-encoded `Vec<u8>` at `encoded` of `buffer`, when `T` is
/// `Vec<u8>`, read into `buffer` itself: the bytes move to its start, and
/// the buffer keeps its capacity. As [`decode_bytes`] reads it.
pub(super) fn take_bytes<T: 'static>(mut buffer: Vec<u8>, encoded: Range<usize>) -> Option<T> {
    let found = byte_string(buffer.get(encoded.clone())?)?;
    let start = encoded.start + found.start;
    buffer.copy_within(start..start + found.len(), 0);
    buffer.truncate(found.len());
    let mut slot = Some(buffer);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()?
        .take()
}

/// The byte string at the start of `encoded`: a varint length (at most
/// `usize`'s) and that many bytes.
fn read_bytes(encoded: &[u8]) -> Option<&[u8]> {
    encoded.get(byte_string(encoded)?)
}

/// Where in `encoded` the byte string at its start is: after a varint
/// length (at most `usize`'s), that many bytes.
fn byte_string(encoded: &[u8]) -> Option<Range<usize>> {
    let mut len: u64 = 0;
    for (i, &byte) in encoded.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && part > 1 {
            return None;
        }
        len |= part << shift;
        if byte & 0x80 == 0 {
            let len = usize::try_from(len).ok()?;
            let end = (i + 1)
                .checked_add(len)
                .filter(|&end| end <= encoded.len())?;
            return Some(i + 1..end);
        }
    }
    None
}

/// The text of a `String` or integer key, as its JSON gives it (the
/// string itself, the number's digits), without serde.
pub(super) fn key_text<K: 'static>(key: &K) -> Option<String> {
    let key = key as &dyn Any;
    if let Some(text) = key.downcast_ref::<String>() {
        return Some(text.clone());
    }
    macro_rules! digits {
        ($($int:ty),*) => {
            $(if let Some(n) = key.downcast_ref::<$int>() {
                return Some(n.to_string());
            })*
        };
    }
    // Not u128 / i128: serde_json refuses those beyond 64 bits, and the
    // text must stay what the serde path gives.
    digits!(u64, i64, u32, i32, usize, isize, u16, i16, u8, i8);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What both direct readers make of `encoded`, checked to agree: the
    /// borrowing one, and the one taking over a buffer that holds
    /// `encoded` between other bytes.
    fn decoded(encoded: &[u8]) -> Option<Vec<u8>> {
        let borrowed = match decode_bytes::<Vec<u8>>(encoded) {
            Direct::Decoded(value) => value,
            Direct::NotBytes => panic!("Vec<u8> takes the direct path"),
        };
        let mut buffer = b"head:".to_vec();
        buffer.extend_from_slice(encoded);
        buffer.extend_from_slice(b":tail");
        let taken = take_bytes::<Vec<u8>>(buffer, 5..5 + encoded.len());
        assert_eq!(taken, borrowed, "{encoded:?}");
        borrowed
    }

    #[test]
    fn a_taken_value_reuses_its_buffer() {
        let mut buffer = vec![9, 9, 3, b'a', b'b', b'c', 7];
        buffer.reserve(100);
        let (pointer, capacity) = (buffer.as_ptr(), buffer.capacity());
        let taken = take_bytes::<Vec<u8>>(buffer, 2..6).expect("three bytes");
        assert_eq!(taken, b"abc");
        assert_eq!((taken.as_ptr(), taken.capacity()), (pointer, capacity));
        // A range outside the buffer, or another type, reads nothing.
        assert_eq!(take_bytes::<Vec<u8>>(vec![1, 0], 1..3), None);
        assert_eq!(take_bytes::<String>(vec![1, b'a'], 0..2), None);
    }

    #[test]
    fn bytes_are_written_and_read_as_postcard_does() {
        for len in [0, 1, 32, 127, 128, 255, 300, 16_383, 16_384, 70_000] {
            let value: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let ours = encode_bytes(&value).expect("a Vec<u8>");
            assert_eq!(
                ours,
                postcard::to_allocvec(&value).expect("postcard"),
                "length {len}"
            );
            assert_eq!(decoded(&ours), Some(value.clone()), "length {len}");
            // Truncated: both refuse it.
            if len > 0 {
                let cut = &ours[..ours.len() - 1];
                assert_eq!(decoded(cut), None);
                assert!(postcard::from_bytes::<Vec<u8>>(cut).is_err());
            }
            // Trailing bytes: both ignore them.
            let mut longer = ours.clone();
            longer.extend_from_slice(b"tail");
            assert_eq!(decoded(&longer), Some(value.clone()));
            assert_eq!(postcard::from_bytes::<Vec<u8>>(&longer).ok(), Some(value));
        }
    }

    #[test]
    fn malformed_lengths_are_refused_as_postcard_refuses_them() {
        // A padded length postcard accepts too.
        assert_eq!(decoded(&[0x80, 0x00]), Some(Vec::new()));
        assert_eq!(
            postcard::from_bytes::<Vec<u8>>(&[0x80, 0x00]).ok(),
            Some(Vec::new())
        );
        for bad in [
            &[][..],
            &[0x80],
            &[0x81],
            &[0xff; 11],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ] {
            assert_eq!(decoded(bad), None, "{bad:?}");
            assert!(postcard::from_bytes::<Vec<u8>>(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn other_types_take_the_serde_path() {
        assert!(encode_bytes(&String::from("x")).is_none());
        assert!(matches!(decode_bytes::<String>(b"\x01x"), Direct::NotBytes));
        assert!(key_text(&(1u8, 2u8)).is_none());
    }

    #[test]
    fn key_texts_match_their_json() {
        fn via_json<K: serde::Serialize>(key: &K) -> String {
            crate::kit::text_of_json(&serde_json::to_value(key).expect("json"))
        }
        assert_eq!(key_text(&String::from("user:1")), Some(via_json(&"user:1")));
        assert_eq!(key_text(&u64::MAX), Some(via_json(&u64::MAX)));
        assert_eq!(key_text(&i64::MIN), Some(via_json(&i64::MIN)));
        assert_eq!(key_text(&-7i32), Some(via_json(&-7i32)));
        assert_eq!(key_text(&42usize), Some(via_json(&42usize)));
        assert_eq!(key_text(&u128::MAX), None);
    }
}
