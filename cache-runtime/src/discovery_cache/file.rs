//! The cache file: a JSON envelope around the discovered value.
//!
//! ```json
//! {
//!   "format": 1,
//!   "cache": "plugins",
//!   "version": "2.3.0",
//!   "created_at_ms": 1767225600000,
//!   "stamped_at_ms": 1767225600000,
//!   "dependencies": [{ "path": "/usr/lib/app/plugins", "kind": "dir", "size": 4096, "mtime_ns": 1767225599123456789 }],
//!   "value_len": 18,
//!   "value_blake3": "…64 hex digits…",
//!   "value": ["a.toml","b.toml"]
//! }
//! ```
//!
//! The value is kept as raw JSON: its length and blake3 cover the exact bytes
//! between `"value":` and the closing brace, so a flipped bit inside a string
//! is caught even though the JSON still parses. Decoding never panics: any
//! unreadable, truncated or foreign content is a [`Rejection`].

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::stamp::Stamp;

/// The envelope format this crate reads and writes. Bump it when the
/// envelope's shape or meaning changes: older files become misses.
pub(crate) const FORMAT: u32 = 1;

/// A cache file that passed its integrity checks. Whether it is still valid
/// (version, age, dependencies) is for the caller to decide.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The cache name it was written for.
    pub(crate) cache: String,
    /// The user's version string.
    pub(crate) version: String,
    /// When the value was discovered (the dependencies were stamped just
    /// before), Unix milliseconds.
    pub(crate) created_at_ms: u64,
    /// When the dependency stamps were last taken or verified.
    pub(crate) stamped_at_ms: u64,
    /// The dependency stamps.
    pub(crate) dependencies: Vec<Stamp>,
    /// The value, as the JSON it was written as.
    pub(crate) value: Box<RawValue>,
}

/// Why bytes are not a usable [`Entry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Not JSON, truncated, missing fields, or a value whose length or
    /// checksum does not match.
    Corrupt,
    /// A well-formed envelope of another format.
    FormatChanged {
        /// The format the file declares.
        found: u32,
    },
}

#[derive(Deserialize)]
struct Header {
    format: u32,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: u32,
    cache: &'a str,
    version: &'a str,
    created_at_ms: u64,
    stamped_at_ms: u64,
    dependencies: &'a [Stamp],
    value_len: u64,
    value_blake3: String,
    value: &'a RawValue,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: u32,
    cache: String,
    version: String,
    created_at_ms: u64,
    stamped_at_ms: u64,
    dependencies: Vec<Stamp>,
    value_len: u64,
    value_blake3: String,
    value: Box<RawValue>,
}

impl Entry {
    /// Parses and checks `bytes`.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Entry, Rejection> {
        let envelope: EnvelopeIn = match serde_json::from_slice(bytes) {
            Ok(envelope) => envelope,
            // Not our shape: perhaps another format, which may change every
            // field but `format`.
            Err(_) => {
                return Err(match serde_json::from_slice::<Header>(bytes) {
                    Ok(header) if header.format != FORMAT => Rejection::FormatChanged {
                        found: header.format,
                    },
                    _ => Rejection::Corrupt,
                });
            }
        };
        if envelope.format != FORMAT {
            return Err(Rejection::FormatChanged {
                found: envelope.format,
            });
        }
        let raw = envelope.value.get().as_bytes();
        if u64::try_from(raw.len()).ok() != Some(envelope.value_len)
            || checksum(raw) != envelope.value_blake3
        {
            return Err(Rejection::Corrupt);
        }
        Ok(Entry {
            cache: envelope.cache,
            version: envelope.version,
            created_at_ms: envelope.created_at_ms,
            stamped_at_ms: envelope.stamped_at_ms,
            dependencies: envelope.dependencies,
            value: envelope.value,
        })
    }

    /// The file's bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let raw = self.value.get().as_bytes();
        let mut bytes = serde_json::to_vec_pretty(&EnvelopeOut {
            format: FORMAT,
            cache: &self.cache,
            version: &self.version,
            created_at_ms: self.created_at_ms,
            stamped_at_ms: self.stamped_at_ms,
            dependencies: &self.dependencies,
            value_len: raw.len() as u64,
            value_blake3: checksum(raw),
            value: &self.value,
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

fn checksum(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Milliseconds since the Unix epoch; 0 for a clock set before 1970.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::discovery_cache::stamp::Kind;

    fn sample() -> Entry {
        Entry {
            cache: "plugins".into(),
            version: "1.2.3".into(),
            created_at_ms: 1_767_225_600_000,
            stamped_at_ms: 1_767_225_600_500,
            dependencies: vec![Stamp {
                path: PathBuf::from("/srv/plugins"),
                kind: Kind::Dir,
                size: 4096,
                mtime_ns: Some(1_767_225_599_123_456_789),
                blake3: Some("ab".repeat(32)),
            }],
            value: serde_json::value::to_raw_value(&vec!["a \"quoted\" name", "b"]).expect("raw"),
        }
    }

    #[test]
    fn round_trips() {
        let bytes = sample().encode().expect("encode");
        let entry = Entry::decode(&bytes).expect("decode");
        let original = sample();
        assert_eq!(entry.cache, original.cache);
        assert_eq!(entry.version, original.version);
        assert_eq!(entry.created_at_ms, original.created_at_ms);
        assert_eq!(entry.stamped_at_ms, original.stamped_at_ms);
        assert_eq!(entry.dependencies, original.dependencies);
        assert_eq!(entry.value.get(), original.value.get());
        let value: Vec<String> = serde_json::from_str(entry.value.get()).expect("value");
        assert_eq!(value, ["a \"quoted\" name", "b"]);
    }

    #[test]
    fn every_truncation_is_rejected_without_panicking() {
        let bytes = sample().encode().expect("encode");
        // The whole file minus its trailing newline is still valid JSON.
        let complete = bytes.len() - 1;
        for len in 0..complete {
            assert_eq!(
                Entry::decode(&bytes[..len]).err(),
                Some(Rejection::Corrupt),
                "truncated to {len} of {} bytes",
                bytes.len()
            );
        }
    }

    #[test]
    fn every_flipped_value_byte_is_rejected() {
        let bytes = sample().encode().expect("encode");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let start = text.find("\"value\": ").expect("value field") + "\"value\": ".len();
        let end = text.rfind('}').expect("closing brace");
        for at in start..end {
            let mut copy = bytes.clone();
            copy[at] ^= 0x01;
            assert!(Entry::decode(&copy).is_err(), "flipped byte {at}");
        }
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        let mut garbage: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"null".to_vec(),
            b"[]".to_vec(),
            b"{}".to_vec(),
            b"{\"format\":\"1\"}".to_vec(),
            b"{\"format\":-1}".to_vec(),
            b"{\"format\":1}".to_vec(),
            b"\xff\xfe\x00garbage".to_vec(),
            "[".repeat(100_000).into_bytes(),
            "{\"format\":1,\"value\":".to_string().into_bytes(),
        ];
        // Deterministic pseudo-random bytes.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in [1, 7, 64, 4096] {
            let bytes = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            garbage.push(bytes);
        }
        for bytes in garbage {
            assert_eq!(
                Entry::decode(&bytes).err(),
                Some(Rejection::Corrupt),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn another_format_is_recognised_as_such() {
        let text = String::from_utf8(sample().encode().expect("encode")).expect("utf-8");
        let other = text.replacen("\"format\": 1", "\"format\": 2", 1);
        assert_eq!(
            Entry::decode(other.as_bytes()).err(),
            Some(Rejection::FormatChanged { found: 2 })
        );
        // A future format with an entirely different shape.
        let future = br#"{"format": 7, "payload": [1, 2, 3]}"#;
        assert_eq!(
            Entry::decode(future).err(),
            Some(Rejection::FormatChanged { found: 7 })
        );
    }

    #[test]
    fn length_and_checksum_are_checked() {
        let text = String::from_utf8(sample().encode().expect("encode")).expect("utf-8");
        let wrong_len = text.replacen("\"value_len\": ", "\"value_len\": 1", 1);
        assert_eq!(
            Entry::decode(wrong_len.as_bytes()).err(),
            Some(Rejection::Corrupt)
        );
        let swapped = text.replacen("\"b\"", "\"c\"", 1);
        assert_eq!(
            Entry::decode(swapped.as_bytes()).err(),
            Some(Rejection::Corrupt)
        );
    }
}
