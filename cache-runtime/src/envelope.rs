//! The versioned binary envelope around a persisted value: what the disk
//! tier writes in each entry file and the Redis tier stores as each value.
//! Bytes in, bytes out, no I/O.
//!
//! An envelope records the key it belongs to, the region's schema (version
//! and fingerprint), how the value was serialized and compressed, when it was
//! written and when it expires, and a checksum over all of it. Decoding
//! checks each of these, so a truncated, corrupt, foreign, outdated or
//! expired envelope is an [`EnvelopeError`] — a miss for the caller, never a
//! panic and never another key's value.
//!
//! # Layout
//!
//! Integers are little-endian. `F`, `K` and `S` are the lengths read from
//! the header.
//!
//! | offset        | size | field                                                  |
//! |---------------|------|--------------------------------------------------------|
//! | 0             | 4    | magic `CRVE`                                           |
//! | 4             | 2    | envelope format version (u16, currently 2)             |
//! | 6             | 1    | value format: 0 bytes, 1 JSON, 2 compact binary        |
//! | 7             | 1    | compression: 0 none, 1 lz4 (block), 2 zstd (frame)     |
//! | 8             | 4    | region schema version (u32)                            |
//! | 12            | 8    | written at, Unix ms (u64)                              |
//! | 20            | 8    | expires at, Unix ms (u64, 0 = never)                   |
//! | 28            | 4    | key length `K` (u32)                                   |
//! | 32            | 4    | stored (possibly compressed) value length `S` (u32)    |
//! | 36            | 4    | value length after decompression (u32)                 |
//! | 40            | 1    | schema fingerprint length `F` (u8, 0 = none)           |
//! | 41            | F    | schema fingerprint, UTF-8                              |
//! | 41+F          | K    | key                                                    |
//! | 41+F+K        | S    | stored value                                           |
//! | 41+F+K+S      | 16   | checksum over every byte before it (see below)         |
//!
//! The checksum is xxh3-128 (little-endian) in format 2, the first 16 bytes
//! of blake3 in format 1, which is still read. xxh3 is computed with AVX2
//! or SSE2, whichever the CPU has (picked at run time). It guards against damage
//! (a torn write, a flipped bit), not against forgery: whoever can write
//! the store can write any envelope, so a fast non-cryptographic hash does
//! the job (blake3 took about 13 % of a 1,000-key Redis `get_many`).
//!
//! The format version is checked before anything else that depends on the
//! layout, so a future format reads as [`EnvelopeError::FormatVersion`]
//! rather than as garbage. Bump [`Envelope::FORMAT_VERSION`] whenever the
//! layout or the meaning of a field changes.
//!
//! # Compression
//!
//! [`Compression`] picks a codec and a threshold: values of at least
//! `threshold` bytes are compressed, and kept compressed only when that
//! makes them smaller. lz4 needs this crate's `lz4` feature, zstd its `zstd`
//! feature; without the feature a region asking for that codec stores its
//! values uncompressed, and reading an envelope compressed with it is
//! [`EnvelopeError::CodecUnavailable`]. Decompression never produces more
//! than the length recorded in the (checksummed) header, which is itself at
//! most [`Envelope::MAX_VALUE_LEN`].

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use cache_spec::{Codec, Compression};

use crate::RegionDescriptor;

const MAGIC: [u8; 4] = *b"CRVE";
/// Bytes before the fingerprint: magic through fingerprint length.
const FIXED_LEN: usize = 41;
const CHECKSUM_LEN: usize = 16;
/// The first format, checksummed with blake3; still read.
const FORMAT_BLAKE3: u16 = 1;

/// The checksum format `version` puts after `body`.
#[inline]
fn checksum(version: u16, body: &[u8]) -> [u8; CHECKSUM_LEN] {
    if version == FORMAT_BLAKE3 {
        let mut sum = [0; CHECKSUM_LEN];
        sum.copy_from_slice(&blake3::hash(body).as_bytes()[..CHECKSUM_LEN]);
        sum
    } else {
        twox_hash::XxHash3_128::oneshot(body).to_le_bytes()
    }
}
const MAX_FINGERPRINT_LEN: usize = u8::MAX as usize;

/// A source of the current time as Unix milliseconds, for expiry.
///
/// The persisted tiers take one so tests (and simulations) can move time
/// without sleeping. Any `Fn() -> u64` closure is a clock; [`SystemClock`]
/// is the default.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use cache_runtime::stats::Clock;
///
/// let now = Arc::new(AtomicU64::new(1_000));
/// let clock = {
///     let now = Arc::clone(&now);
///     move || now.load(Ordering::Relaxed)
/// };
/// now.store(5_000, Ordering::Relaxed);
/// assert_eq!(clock.now_ms(), 5_000);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time, Unix milliseconds.
    fn now_ms(&self) -> u64;
}

impl<F> Clock for F
where
    F: Fn() -> u64 + Send + Sync + 'static,
{
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        unix_ms(SystemTime::now())
    }
}

/// `time` as Unix milliseconds, 0 before the epoch, saturating far ahead.
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// How the value inside an envelope was serialized, so a reader expecting
/// another format misses instead of misreading it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueFormat {
    /// Opaque bytes the caller interprets.
    #[default]
    Bytes,
    /// `serde_json`.
    Json,
    /// A compact serde binary codec.
    Binary,
}

impl ValueFormat {
    /// A short name for messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueFormat::Bytes => "bytes",
            ValueFormat::Json => "json",
            ValueFormat::Binary => "binary",
        }
    }

    /// Whether values in this format are serde's (JSON or binary).
    const fn is_serde(self) -> bool {
        matches!(self, ValueFormat::Json | ValueFormat::Binary)
    }

    const fn id(self) -> u8 {
        match self {
            ValueFormat::Bytes => 0,
            ValueFormat::Json => 1,
            ValueFormat::Binary => 2,
        }
    }

    const fn from_id(id: u8) -> Option<ValueFormat> {
        match id {
            0 => Some(ValueFormat::Bytes),
            1 => Some(ValueFormat::Json),
            2 => Some(ValueFormat::Binary),
            _ => None,
        }
    }
}

impl fmt::Display for ValueFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const fn codec_id(codec: Codec) -> u8 {
    match codec {
        Codec::None => 0,
        Codec::Lz4 => 1,
        Codec::Zstd => 2,
    }
}

const fn codec_from_id(id: u8) -> Option<Codec> {
    match id {
        0 => Some(Codec::None),
        1 => Some(Codec::Lz4),
        2 => Some(Codec::Zstd),
        _ => None,
    }
}

/// A [`Compression`] that can change while values are written (a region's
/// settings changed at run time): codec and threshold in one atomic word, so
/// a writer never sees one's new value with the other's old one. Readers
/// need nothing: every envelope names its codec.
pub(crate) struct LiveCompression(std::sync::atomic::AtomicU64);

impl LiveCompression {
    /// The threshold's bits; the codec's id is above them.
    const THRESHOLD_BITS: u32 = 60;
    const THRESHOLD_MASK: u64 = (1 << LiveCompression::THRESHOLD_BITS) - 1;

    pub(crate) fn new(compression: Compression) -> LiveCompression {
        LiveCompression(std::sync::atomic::AtomicU64::new(LiveCompression::pack(
            compression,
        )))
    }

    fn pack(compression: Compression) -> u64 {
        (u64::from(codec_id(compression.codec)) << LiveCompression::THRESHOLD_BITS)
            | compression.threshold.min(LiveCompression::THRESHOLD_MASK)
    }

    /// The compression values are written with now.
    pub(crate) fn get(&self) -> Compression {
        let packed = self.0.load(std::sync::atomic::Ordering::Relaxed);
        let id = u8::try_from(packed >> LiveCompression::THRESHOLD_BITS).unwrap_or(0);
        Compression {
            codec: codec_from_id(id).unwrap_or(Codec::None),
            threshold: packed & LiveCompression::THRESHOLD_MASK,
        }
    }

    /// Writes from now on use `compression`.
    pub(crate) fn set(&self, compression: Compression) {
        self.0.store(
            LiveCompression::pack(compression),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl fmt::Debug for LiveCompression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// What persisted values of a region must have been written with to be
/// read back: its schema version, its schema fingerprint and the value
/// format. Anything else is [`EnvelopeError::SchemaMismatch`] or
/// [`EnvelopeError::FormatMismatch`].
///
/// ```
/// use cache_runtime::backend::{Schema, ValueFormat};
///
/// let schema = Schema::new(2).with_fingerprint("9f2c…").with_format(ValueFormat::Json);
/// assert_eq!(schema.version(), 2);
/// assert_eq!(schema.fingerprint(), Some("9f2c…"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Schema {
    version: u32,
    fingerprint: Option<Box<str>>,
    format: ValueFormat,
    /// Whether an entry in the other serde format reads too (the manager's
    /// levels, which decode by the format each envelope records).
    either_serde: bool,
}

impl Default for Schema {
    /// Version 1, no fingerprint, opaque bytes.
    fn default() -> Schema {
        Schema::new(1)
    }
}

impl Schema {
    /// Schema `version`, no fingerprint, opaque bytes.
    pub fn new(version: u32) -> Schema {
        Schema {
            version,
            fingerprint: None,
            format: ValueFormat::Bytes,
            either_serde: false,
        }
    }

    /// Also reads entries written in the other serde format: for readers
    /// that decode each value by the format its envelope records.
    #[must_use]
    pub(crate) fn reading_either_serde_format(mut self) -> Schema {
        self.either_serde = true;
        self
    }

    /// The schema of `region`'s persisted values: its configured version and
    /// the fingerprint `cache-build` computed for it, if any.
    pub fn for_region(region: &RegionDescriptor) -> Schema {
        let schema = Schema::new(region.settings().version);
        match region.schema_fingerprint() {
            Some(fingerprint) => schema.with_fingerprint(fingerprint),
            None => schema,
        }
    }

    /// With a fingerprint (an empty one is none). A fingerprint longer than
    /// 255 bytes is kept as `blake3:` and the hex digest of it.
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Schema {
        let fingerprint: String = fingerprint.into();
        self.fingerprint = if fingerprint.is_empty() {
            None
        } else if fingerprint.len() > MAX_FINGERPRINT_LEN {
            Some(format!("blake3:{}", blake3::hash(fingerprint.as_bytes()).to_hex()).into())
        } else {
            Some(fingerprint.into())
        };
        self
    }

    /// With the value format.
    #[must_use]
    pub fn with_format(mut self, format: ValueFormat) -> Schema {
        self.format = format;
        self
    }

    /// The schema version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The schema fingerprint.
    pub fn fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// The value format.
    pub fn format(&self) -> ValueFormat {
        self.format
    }
}

/// Why a value could not be put in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The key or the value is longer than an envelope holds.
    #[error(
        "{what} of {len} bytes is too large to persist (at most {max} bytes); keep it in memory or split it"
    )]
    TooLarge {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit ([`Envelope::MAX_KEY_LEN`] or [`Envelope::MAX_VALUE_LEN`]).
        max: usize,
    },
    /// The region's codec could not serialize it (its `Serialize` failed).
    #[error(
        "the {what} could not be serialized with the region's codec (its Serialize impl failed)"
    )]
    Serde {
        /// `"key"` or `"value"`.
        what: &'static str,
    },
}

/// Why persisted bytes were not returned as a value. Every variant is a miss
/// for the caller; [`EnvelopeError::cause`] sorts them for statistics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Shorter than its header says (or than any header).
    #[error("envelope truncated: {len} bytes, needs {needed}")]
    Truncated {
        /// The bytes present.
        len: usize,
        /// The bytes the header calls for (at least).
        needed: usize,
    },
    /// Longer than its header says.
    #[error("envelope has trailing bytes: {len} bytes, expected {expected}")]
    TrailingBytes {
        /// The bytes present.
        len: usize,
        /// The bytes the header calls for.
        expected: usize,
    },
    /// Does not start with the envelope magic: not an envelope at all.
    #[error("not a cache envelope (bad magic bytes)")]
    BadMagic,
    /// Written in another envelope format (by another version of this crate).
    #[error(
        "envelope format {found}, this build reads formats {FORMAT_BLAKE3} and {}",
        Envelope::FORMAT_VERSION
    )]
    FormatVersion {
        /// The format it declares.
        found: u16,
    },
    /// A header field is out of range or inconsistent.
    #[error("malformed envelope: {what}")]
    Malformed {
        /// Which field.
        what: &'static str,
    },
    /// The checksum does not match: the bytes were damaged.
    #[error("envelope checksum mismatch")]
    Checksum,
    /// A value format id this build does not know (written by a newer one).
    #[error("unknown value format id {id}")]
    UnknownValueFormat {
        /// The id.
        id: u8,
    },
    /// A compression id this build does not know (written by a newer one).
    #[error("unknown compression id {id}")]
    UnknownCompression {
        /// The id.
        id: u8,
    },
    /// Written for another key (a renamed file, a hash collision).
    #[error("envelope belongs to another key")]
    WrongKey,
    /// Written under another schema version or fingerprint.
    #[error(
        "envelope written for schema version {found_version} (fingerprint {}), expected version {expected_version} (fingerprint {})",
        found_fingerprint.as_deref().unwrap_or("none"),
        expected_fingerprint.as_deref().unwrap_or("none")
    )]
    SchemaMismatch {
        /// The version it was written for.
        found_version: u32,
        /// The fingerprint it was written for.
        found_fingerprint: Option<String>,
        /// The version expected.
        expected_version: u32,
        /// The fingerprint expected.
        expected_fingerprint: Option<String>,
    },
    /// The value was serialized in another format.
    #[error("envelope value is {found}, expected {expected}")]
    FormatMismatch {
        /// The format it was written in.
        found: ValueFormat,
        /// The format expected.
        expected: ValueFormat,
    },
    /// Past its expiry.
    #[error("envelope expired at {expires_at_ms} (now {now_ms}), Unix ms")]
    Expired {
        /// When it expired.
        expires_at_ms: u64,
        /// The time it was read at.
        now_ms: u64,
    },
    /// Compressed with a codec this build leaves out.
    #[error(
        "envelope is compressed with {codec}, which this build leaves out; enable cache-runtime's `{codec}` feature"
    )]
    CodecUnavailable {
        /// The codec.
        codec: Codec,
    },
    /// The compressed value does not decompress to its recorded length.
    #[error("envelope value does not decompress with {codec}: {reason}")]
    Decompress {
        /// The codec.
        codec: Codec,
        /// What went wrong.
        reason: String,
    },
}

/// The kind of miss an [`EnvelopeError`] is, for statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissCause {
    /// Intact but past its expiry.
    Expired,
    /// Intact but written by another version, schema, value format, or with
    /// a codec this build leaves out.
    Stale,
    /// Damaged, truncated, not an envelope, or another key's.
    Corrupt,
}

impl EnvelopeError {
    /// What kind of miss this is.
    pub fn cause(&self) -> MissCause {
        match self {
            EnvelopeError::Expired { .. } => MissCause::Expired,
            EnvelopeError::FormatVersion { .. }
            | EnvelopeError::UnknownValueFormat { .. }
            | EnvelopeError::UnknownCompression { .. }
            | EnvelopeError::SchemaMismatch { .. }
            | EnvelopeError::FormatMismatch { .. }
            | EnvelopeError::CodecUnavailable { .. } => MissCause::Stale,
            EnvelopeError::Truncated { .. }
            | EnvelopeError::TrailingBytes { .. }
            | EnvelopeError::BadMagic
            | EnvelopeError::Malformed { .. }
            | EnvelopeError::Checksum
            | EnvelopeError::WrongKey
            | EnvelopeError::Decompress { .. } => MissCause::Corrupt,
        }
    }
}

/// A value to persist, with its key and timestamps; [`Envelope::encode`]
/// turns it into bytes and [`Envelope::decode`] reads them back.
///
/// ```
/// use cache_runtime::{backend::{Envelope, EnvelopeError, Schema}, config::Compression};
///
/// let schema = Schema::new(1);
/// let bytes = Envelope::new(b"user:42", b"{\"name\":\"Ada\"}")
///     .written_at_ms(1_000)
///     .expires_at_ms(Some(61_000))
///     .encode(&schema, Compression::NONE)?;
///
/// let decoded = Envelope::decode(&bytes, b"user:42", &schema, 2_000).expect("fresh");
/// assert_eq!(decoded.value, b"{\"name\":\"Ada\"}");
/// assert_eq!(
///     Envelope::decode(&bytes, b"user:43", &schema, 2_000),
///     Err(EnvelopeError::WrongKey)
/// );
/// assert!(matches!(
///     Envelope::decode(&bytes, b"user:42", &schema, 61_000),
///     Err(EnvelopeError::Expired { .. })
/// ));
/// # Ok::<(), cache_runtime::backend::EncodeError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct Envelope<'a> {
    key: &'a [u8],
    value: &'a [u8],
    written_at_ms: u64,
    expires_at_ms: Option<u64>,
}

/// A value read back from an envelope, with what the envelope said about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decoded {
    /// The value, decompressed.
    pub value: Vec<u8>,
    /// When it was written, Unix ms.
    pub written_at_ms: u64,
    /// When it expires, Unix ms.
    pub expires_at_ms: Option<u64>,
    /// The codec it was stored with.
    pub compression: Codec,
    /// Its stored (possibly compressed) length.
    pub stored_len: usize,
    /// The format the value was serialized in.
    pub format: ValueFormat,
}

/// What [`Envelope::open_value`] reads: the buffer holding the value (the
/// envelope itself when the value was stored uncompressed), where in it the
/// value is, its expiry and its format.
pub(crate) struct OpenedValue {
    /// The envelope, or the decompressed value.
    pub(crate) buffer: Vec<u8>,
    /// The value's bytes in `buffer`.
    pub(crate) value: Range<usize>,
    /// When it expires, Unix ms.
    pub(crate) expires_at_ms: Option<u64>,
    /// The format the value was serialized in.
    pub(crate) format: ValueFormat,
}

impl<'a> Envelope<'a> {
    /// The envelope format this build writes (it reads this one and
    /// format 1).
    pub const FORMAT_VERSION: u16 = 2;
    /// The longest key an envelope holds: 64 KiB.
    pub const MAX_KEY_LEN: usize = 64 * 1024;
    /// The longest value an envelope holds, before and after compression:
    /// 512 MiB, Redis' limit for one value.
    pub const MAX_VALUE_LEN: usize = 512 * 1024 * 1024;

    /// `value` for `key`, written now (by the system clock), never expiring.
    pub fn new(key: &'a [u8], value: &'a [u8]) -> Envelope<'a> {
        Envelope {
            key,
            value,
            written_at_ms: SystemClock.now_ms(),
            expires_at_ms: None,
        }
    }

    /// When it was written, Unix ms.
    pub fn written_at_ms(mut self, written_at_ms: u64) -> Envelope<'a> {
        self.written_at_ms = written_at_ms;
        self
    }

    /// When it expires, Unix ms; `None` never. (`Some(0)` is stored as 1 ms
    /// after the epoch: long expired, and distinct from "never".)
    pub fn expires_at_ms(mut self, expires_at_ms: Option<u64>) -> Envelope<'a> {
        self.expires_at_ms = expires_at_ms;
        self
    }

    /// Whether this build can write and read values compressed with `codec`
    /// (its cargo feature is on). [`Codec::None`] always is.
    pub const fn supports(codec: Codec) -> bool {
        match codec {
            Codec::None => true,
            Codec::Lz4 => cfg!(feature = "lz4"),
            Codec::Zstd => cfg!(feature = "zstd"),
        }
    }

    /// The envelope's bytes, for a region with `schema`, compressed as
    /// `compression` asks when the value reaches its threshold, the codec is
    /// available and compressing makes it smaller.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLarge`] for a key over [`Envelope::MAX_KEY_LEN`] or
    /// a value over [`Envelope::MAX_VALUE_LEN`].
    pub fn encode(
        &self,
        schema: &Schema,
        compression: Compression,
    ) -> Result<Vec<u8>, EncodeError> {
        check_sizes(self.key, self.value)?;
        let (codec, stored) = compress(self.value, compression);
        let fingerprint = schema.fingerprint().unwrap_or_default().as_bytes();
        let total = FIXED_LEN + fingerprint.len() + self.key.len() + stored.len() + CHECKSUM_LEN;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&Envelope::FORMAT_VERSION.to_le_bytes());
        out.push(schema.format().id());
        out.push(codec_id(codec));
        out.extend_from_slice(&schema.version().to_le_bytes());
        out.extend_from_slice(&self.written_at_ms.to_le_bytes());
        out.extend_from_slice(&self.expires_at_ms.map_or(0, |at| at.max(1)).to_le_bytes());
        out.extend_from_slice(&len_u32(self.key.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(stored.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(self.value.len()).to_le_bytes());
        // At most 255 bytes: `Schema::with_fingerprint` hashes longer ones.
        out.push(u8::try_from(fingerprint.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(fingerprint);
        out.extend_from_slice(self.key);
        out.extend_from_slice(&stored);
        let checksum = checksum(Envelope::FORMAT_VERSION, &out);
        out.extend_from_slice(&checksum);
        debug_assert_eq!(out.len(), total);
        Ok(out)
    }

    /// Reads the value back from `bytes`, checking that they are an intact
    /// envelope of this format, for `expected_key`, written under
    /// `expected_schema`, and not expired at `now_ms`.
    ///
    /// # Errors
    ///
    /// An [`EnvelopeError`] saying why the bytes are a miss.
    pub fn decode(
        bytes: &[u8],
        expected_key: &[u8],
        expected_schema: &Schema,
        now_ms: u64,
    ) -> Result<Decoded, EnvelopeError> {
        Envelope::checked(bytes, expected_key, expected_schema, now_ms)?.decompress()
    }

    /// [`Envelope::decode`] for a reader that only deserializes the value
    /// and owns the envelope: an uncompressed value stays where it is in
    /// `bytes`, neither copied nor allocated for, so a reader can take the
    /// buffer over.
    pub(crate) fn open_value(
        bytes: Vec<u8>,
        expected_key: &(impl ExpectedKey + ?Sized),
        expected_schema: &Schema,
        now_ms: u64,
    ) -> Result<OpenedValue, EnvelopeError> {
        let parsed = Envelope::checked(&bytes, expected_key, expected_schema, now_ms)?;
        let header = &parsed.header;
        let (expires_at_ms, format) = (header.expires_at_ms, header.format);
        let start = header.len();
        let (buffer, value) = match decompress(header.compression, parsed.stored, header.value_len)?
        {
            Cow::Borrowed(stored) => {
                let value = start..start + stored.len();
                (bytes, value)
            }
            Cow::Owned(decompressed) => {
                let value = 0..decompressed.len();
                (decompressed, value)
            }
        };
        Ok(OpenedValue {
            buffer,
            value,
            expires_at_ms,
            format,
        })
    }

    /// `bytes` parsed and verified, for `expected_key` under
    /// `expected_schema`, not expired at `now_ms`.
    fn checked<'b>(
        bytes: &'b [u8],
        expected_key: &(impl ExpectedKey + ?Sized),
        expected_schema: &Schema,
        now_ms: u64,
    ) -> Result<Parsed<'b>, EnvelopeError> {
        let parsed = Parsed::verify(bytes)?;
        if !expected_key.is(parsed.header.key) {
            return Err(EnvelopeError::WrongKey);
        }
        parsed.header.check(expected_schema, now_ms)?;
        Ok(parsed)
    }
}

/// The key an envelope must carry to be read.
pub(crate) trait ExpectedKey {
    /// Whether `key`, an envelope's, is this one.
    fn is(&self, key: &[u8]) -> bool;
}

impl ExpectedKey for [u8] {
    fn is(&self, key: &[u8]) -> bool {
        self == key
    }
}

/// `region:text`, the key the manager's levels seal an entry with,
/// compared in place rather than written out for each read.
pub(crate) struct RegionKey<'a> {
    pub(crate) region: &'a str,
    pub(crate) text: &'a str,
}

impl ExpectedKey for RegionKey<'_> {
    #[inline]
    fn is(&self, key: &[u8]) -> bool {
        let (region, text) = (self.region.as_bytes(), self.text.as_bytes());
        key.len() == region.len() + 1 + text.len()
            && key[..region.len()] == *region
            && key[region.len()] == b':'
            && key[region.len() + 1..] == *text
    }
}

/// Checks the key and value lengths against what an envelope holds.
pub(crate) fn check_sizes(key: &[u8], value: &[u8]) -> Result<(), EncodeError> {
    if key.len() > Envelope::MAX_KEY_LEN {
        return Err(EncodeError::TooLarge {
            what: "key",
            len: key.len(),
            max: Envelope::MAX_KEY_LEN,
        });
    }
    if value.len() > Envelope::MAX_VALUE_LEN {
        return Err(EncodeError::TooLarge {
            what: "value",
            len: value.len(),
            max: Envelope::MAX_VALUE_LEN,
        });
    }
    Ok(())
}

/// A length already checked against the limits, all below `u32::MAX`.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// The header of an envelope, read without verifying the checksum (which
/// needs the whole envelope): enough to list and match keys cheaply. Trust
/// it only for that; [`Envelope::decode`] verifies everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub(crate) format: ValueFormat,
    /// The envelope format it was written in (which checksum it has).
    pub(crate) version: u16,
    pub(crate) compression: Codec,
    pub(crate) schema_version: u32,
    pub(crate) fingerprint: &'a str,
    pub(crate) written_at_ms: u64,
    /// `None` never.
    pub(crate) expires_at_ms: Option<u64>,
    pub(crate) key: &'a [u8],
    pub(crate) stored_len: usize,
    pub(crate) value_len: usize,
    /// The whole envelope's length.
    pub(crate) total_len: usize,
}

impl<'a> Header<'a> {
    /// The most bytes a header (everything before the stored value) takes.
    pub(crate) const MAX_LEN: usize = FIXED_LEN + MAX_FINGERPRINT_LEN + Envelope::MAX_KEY_LEN;
    /// The most bytes a whole envelope takes.
    pub(crate) const MAX_ENVELOPE_LEN: usize =
        Header::MAX_LEN + Envelope::MAX_VALUE_LEN + CHECKSUM_LEN;

    /// Reads the header from the first bytes of an envelope.
    /// [`EnvelopeError::Truncated`] says how many bytes it needs when
    /// `prefix` is too short.
    #[inline]
    pub(crate) fn parse(prefix: &'a [u8]) -> Result<Header<'a>, EnvelopeError> {
        let magic_seen = prefix.len().min(MAGIC.len());
        if prefix[..magic_seen] != MAGIC[..magic_seen] {
            return Err(EnvelopeError::BadMagic);
        }
        if prefix.len() < FIXED_LEN {
            return Err(EnvelopeError::Truncated {
                len: prefix.len(),
                needed: FIXED_LEN,
            });
        }
        let mut fixed = Reader(&prefix[MAGIC.len()..FIXED_LEN]);
        let version = fixed.u16();
        if version != Envelope::FORMAT_VERSION && version != FORMAT_BLAKE3 {
            return Err(EnvelopeError::FormatVersion { found: version });
        }
        let format_id = fixed.u8();
        let compression_id = fixed.u8();
        let schema_version = fixed.u32();
        let written_at_ms = fixed.u64();
        let expires_at_ms = fixed.u64();
        let key_len = fixed.u32() as usize;
        let stored_len = fixed.u32() as usize;
        let value_len = fixed.u32() as usize;
        let fingerprint_len = usize::from(fixed.u8());
        if key_len > Envelope::MAX_KEY_LEN {
            return Err(EnvelopeError::Malformed { what: "key length" });
        }
        if stored_len > Envelope::MAX_VALUE_LEN || value_len > Envelope::MAX_VALUE_LEN {
            return Err(EnvelopeError::Malformed {
                what: "value length",
            });
        }
        let header_len = FIXED_LEN + fingerprint_len + key_len;
        if prefix.len() < header_len {
            return Err(EnvelopeError::Truncated {
                len: prefix.len(),
                needed: header_len,
            });
        }
        let format = ValueFormat::from_id(format_id)
            .ok_or(EnvelopeError::UnknownValueFormat { id: format_id })?;
        let compression = codec_from_id(compression_id)
            .ok_or(EnvelopeError::UnknownCompression { id: compression_id })?;
        let fingerprint = std::str::from_utf8(&prefix[FIXED_LEN..FIXED_LEN + fingerprint_len])
            .map_err(|_| EnvelopeError::Malformed {
                what: "fingerprint",
            })?;
        if compression == Codec::None && stored_len != value_len {
            return Err(EnvelopeError::Malformed {
                what: "value length",
            });
        }
        Ok(Header {
            version,
            format,
            compression,
            schema_version,
            fingerprint,
            written_at_ms,
            expires_at_ms: (expires_at_ms != 0).then_some(expires_at_ms),
            key: &prefix[FIXED_LEN + fingerprint_len..header_len],
            stored_len,
            value_len,
            total_len: header_len + stored_len + CHECKSUM_LEN,
        })
    }

    /// The length of everything before the stored value.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.total_len - self.stored_len - CHECKSUM_LEN
    }

    /// Checks the schema, value format and expiry (not the key).
    #[inline]
    pub(crate) fn check(&self, expected: &Schema, now_ms: u64) -> Result<(), EnvelopeError> {
        if self.schema_version != expected.version()
            || self.fingerprint != expected.fingerprint().unwrap_or_default()
        {
            return Err(EnvelopeError::SchemaMismatch {
                found_version: self.schema_version,
                found_fingerprint: (!self.fingerprint.is_empty())
                    .then(|| self.fingerprint.to_owned()),
                expected_version: expected.version(),
                expected_fingerprint: expected.fingerprint().map(str::to_owned),
            });
        }
        let same_format = self.format == expected.format()
            || (expected.either_serde && expected.format().is_serde() && self.format.is_serde());
        if !same_format {
            return Err(EnvelopeError::FormatMismatch {
                found: self.format,
                expected: expected.format(),
            });
        }
        if let Some(expires_at_ms) = self.expires_at_ms
            && now_ms >= expires_at_ms
        {
            return Err(EnvelopeError::Expired {
                expires_at_ms,
                now_ms,
            });
        }
        if !Envelope::supports(self.compression) {
            return Err(EnvelopeError::CodecUnavailable {
                codec: self.compression,
            });
        }
        Ok(())
    }
}

/// A whole envelope whose lengths and checksum are verified.
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header<'a>,
    stored: &'a [u8],
}

impl<'a> Parsed<'a> {
    /// Parses the header and verifies lengths and checksum.
    #[inline]
    pub(crate) fn verify(bytes: &'a [u8]) -> Result<Parsed<'a>, EnvelopeError> {
        let header = Header::parse(bytes)?;
        if bytes.len() < header.total_len {
            return Err(EnvelopeError::Truncated {
                len: bytes.len(),
                needed: header.total_len,
            });
        }
        if bytes.len() > header.total_len {
            return Err(EnvelopeError::TrailingBytes {
                len: bytes.len(),
                expected: header.total_len,
            });
        }
        let (body, sum) = bytes.split_at(header.total_len - CHECKSUM_LEN);
        if checksum(header.version, body) != *sum {
            return Err(EnvelopeError::Checksum);
        }
        let stored = &body[header.len()..];
        Ok(Parsed { header, stored })
    }

    /// The value, decompressed to exactly its recorded length.
    pub(crate) fn decompress(&self) -> Result<Decoded, EnvelopeError> {
        let header = &self.header;
        let value = decompress(header.compression, self.stored, header.value_len)?;
        Ok(Decoded {
            value: value.into_owned(),
            written_at_ms: header.written_at_ms,
            expires_at_ms: header.expires_at_ms,
            compression: header.compression,
            stored_len: header.stored_len,
            format: header.format,
        })
    }
}

/// Reads fixed-size integers from a slice known to be long enough.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    #[inline]
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let (head, rest) = self.0.split_at(N.min(self.0.len()));
        out[..head.len()].copy_from_slice(head);
        self.0 = rest;
        out
    }

    #[inline]
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    #[inline]
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }

    #[inline]
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    #[inline]
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

/// The codec used and the stored bytes.
fn compress(value: &[u8], compression: Compression) -> (Codec, Cow<'_, [u8]>) {
    let wanted = compression.codec != Codec::None
        && Envelope::supports(compression.codec)
        && value.len() as u64 >= compression.threshold;
    if !wanted {
        return (Codec::None, Cow::Borrowed(value));
    }
    let compressed: Option<Vec<u8>> = match compression.codec {
        Codec::None => None,
        #[cfg(feature = "lz4")]
        Codec::Lz4 => Some(lz4_flex::block::compress(value)),
        #[cfg(feature = "zstd")]
        Codec::Zstd => zstd::bulk::compress(value, zstd::DEFAULT_COMPRESSION_LEVEL).ok(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    match compressed {
        Some(compressed) if compressed.len() < value.len() => {
            (compression.codec, Cow::Owned(compressed))
        }
        _ => (Codec::None, Cow::Borrowed(value)),
    }
}

/// Decompresses `stored` to exactly `value_len` bytes (already bounded by
/// [`Envelope::MAX_VALUE_LEN`]), never allocating more; an uncompressed
/// value is borrowed.
fn decompress(
    codec: Codec,
    stored: &[u8],
    value_len: usize,
) -> Result<Cow<'_, [u8]>, EnvelopeError> {
    let failed = |reason: String| EnvelopeError::Decompress { codec, reason };
    let value: Cow<'_, [u8]> = match codec {
        Codec::None => Cow::Borrowed(stored),
        #[cfg(feature = "lz4")]
        Codec::Lz4 => {
            // An lz4 block expands at most ~255 times; refuse to allocate
            // for a length no input this size could produce.
            if value_len > stored.len().saturating_mul(256).saturating_add(64) {
                return Err(failed(format!(
                    "{} bytes cannot expand to {value_len}",
                    stored.len()
                )));
            }
            let mut value = vec![0; value_len];
            let written = lz4_flex::block::decompress_into(stored, &mut value)
                .map_err(|e| failed(e.to_string()))?;
            value.truncate(written);
            Cow::Owned(value)
        }
        #[cfg(feature = "zstd")]
        Codec::Zstd => Cow::Owned(
            zstd::bulk::decompress(stored, value_len).map_err(|e| failed(e.to_string()))?,
        ),
        #[allow(unreachable_patterns)]
        _ => return Err(EnvelopeError::CodecUnavailable { codec }),
    };
    if value.len() != value_len {
        return Err(failed(format!(
            "{} bytes, expected {value_len}",
            value.len()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(3)
            .with_fingerprint("abc123")
            .with_format(ValueFormat::Json)
    }

    fn sample(value: &[u8], compression: Compression) -> Vec<u8> {
        Envelope::new(b"the-key", value)
            .written_at_ms(1_000)
            .expires_at_ms(Some(10_000))
            .encode(&schema(), compression)
            .expect("encode")
    }

    /// Compressible, and long enough to pass every threshold used here.
    fn compressible() -> Vec<u8> {
        (0..8192u32)
            .map(|i| b"abcdefgh"[(i % 8) as usize] ^ u8::from(i % 97 == 0))
            .collect()
    }

    #[test]
    fn a_region_key_matches_exactly_its_sealed_form() {
        let key = RegionKey {
            region: "users",
            text: "ada",
        };
        assert!(key.is(b"users:ada"));
        for other in [
            &b"users:adb"[..],
            b"users:ad",
            b"users:ada1",
            b"users;ada",
            b"user:sada",
            b"",
            b"users",
        ] {
            assert!(!key.is(other), "{}", String::from_utf8_lossy(other));
        }
        let empty = RegionKey {
            region: "r",
            text: "",
        };
        assert!(empty.is(b"r:") && !empty.is(b"r"));
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        let bytes = sample(b"hello", Compression::NONE);
        assert_eq!(&bytes[0..4], b"CRVE");
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        assert_eq!(bytes[6], 1, "json");
        assert_eq!(bytes[7], 0, "uncompressed");
        assert_eq!(&bytes[8..12], &3u32.to_le_bytes());
        assert_eq!(&bytes[12..20], &1_000u64.to_le_bytes());
        assert_eq!(&bytes[20..28], &10_000u64.to_le_bytes());
        assert_eq!(&bytes[28..32], &7u32.to_le_bytes());
        assert_eq!(&bytes[32..36], &5u32.to_le_bytes());
        assert_eq!(&bytes[36..40], &5u32.to_le_bytes());
        assert_eq!(bytes[40], 6);
        assert_eq!(&bytes[41..47], b"abc123");
        assert_eq!(&bytes[47..54], b"the-key");
        assert_eq!(&bytes[54..59], b"hello");
        assert_eq!(bytes.len(), 59 + 16);
        assert_eq!(
            &bytes[59..],
            &xxhash_rust::xxh3::xxh3_128(&bytes[..59]).to_le_bytes()
        );
    }

    #[test]
    fn the_format_2_checksum_is_xxh3_128_at_every_length() {
        // Envelopes written while the checksum came from another xxh3
        // implementation keep verifying: both give XXH3-128 (default
        // secret, seed 0) for the short, mid-size and long (striped, SIMD)
        // paths, including lengths that end inside a stripe or block.
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in [
            0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1_023, 1_024, 1_025, 4_096, 4_159, 19_999,
        ] {
            assert_eq!(
                checksum(Envelope::FORMAT_VERSION, &data[..len]),
                xxhash_rust::xxh3::xxh3_128(&data[..len]).to_le_bytes(),
                "length {len}"
            );
        }
    }

    #[test]
    fn format_1_envelopes_with_a_blake3_checksum_are_still_read() {
        // What this crate wrote before format 2: the same layout, version 1,
        // closed by the first 16 bytes of blake3.
        let mut bytes = sample(b"hello", Compression::NONE);
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
        let sum = blake3::hash(&bytes);
        bytes.extend_from_slice(&sum.as_bytes()[..CHECKSUM_LEN]);
        let decoded = Envelope::decode(&bytes, b"the-key", &schema(), 9_999).expect("format 1");
        assert_eq!(decoded.value, b"hello");
        // Its checksum is checked the format 1 way: an xxh3 sum is damage.
        let len = bytes.len();
        let xxh3 = xxhash_rust::xxh3::xxh3_128(&bytes[..len - CHECKSUM_LEN]).to_le_bytes();
        bytes[len - CHECKSUM_LEN..].copy_from_slice(&xxh3);
        assert_eq!(
            Envelope::decode(&bytes, b"the-key", &schema(), 9_999).map(|d| d.value),
            Err(EnvelopeError::Checksum)
        );
    }

    #[test]
    fn round_trips_with_its_metadata() {
        for value in [&b""[..], b"x", &compressible()] {
            let bytes = sample(value, Compression::NONE);
            let decoded = Envelope::decode(&bytes, b"the-key", &schema(), 9_999).expect("decode");
            assert_eq!(decoded.value, value);
            assert_eq!(decoded.written_at_ms, 1_000);
            assert_eq!(decoded.expires_at_ms, Some(10_000));
            assert_eq!(decoded.compression, Codec::None);
            assert_eq!(decoded.stored_len, value.len());
        }
    }

    #[test]
    fn never_expiring_and_expired_at_the_epoch_differ() {
        let never = Envelope::new(b"k", b"v")
            .encode(&Schema::default(), Compression::NONE)
            .expect("encode");
        assert_eq!(
            Envelope::decode(&never, b"k", &Schema::default(), u64::MAX).map(|d| d.expires_at_ms),
            Ok(None)
        );
        let epoch = Envelope::new(b"k", b"v")
            .expires_at_ms(Some(0))
            .encode(&Schema::default(), Compression::NONE)
            .expect("encode");
        assert!(matches!(
            Envelope::decode(&epoch, b"k", &Schema::default(), 1),
            Err(EnvelopeError::Expired {
                expires_at_ms: 1,
                ..
            })
        ));
    }

    #[test]
    fn each_expectation_is_checked() {
        let bytes = sample(b"hello", Compression::NONE);
        let decode = |key: &[u8], schema: &Schema, now| Envelope::decode(&bytes, key, schema, now);
        assert_eq!(decode(b"other", &schema(), 0), Err(EnvelopeError::WrongKey));
        assert!(matches!(
            decode(b"the-key", &Schema::new(4).with_fingerprint("abc123"), 0),
            Err(EnvelopeError::SchemaMismatch {
                found_version: 3,
                expected_version: 4,
                ..
            })
        ));
        let other_print = Schema::new(3)
            .with_fingerprint("def")
            .with_format(ValueFormat::Json);
        let err = decode(b"the-key", &other_print, 0).expect_err("fingerprint");
        assert_eq!(err.cause(), MissCause::Stale);
        assert!(err.to_string().contains("abc123"), "{err}");
        let no_print = Schema::new(3).with_format(ValueFormat::Json);
        assert!(matches!(
            decode(b"the-key", &no_print, 0),
            Err(EnvelopeError::SchemaMismatch { .. })
        ));
        let binary = Schema::new(3)
            .with_fingerprint("abc123")
            .with_format(ValueFormat::Binary);
        assert_eq!(
            decode(b"the-key", &binary, 0),
            Err(EnvelopeError::FormatMismatch {
                found: ValueFormat::Json,
                expected: ValueFormat::Binary
            })
        );
        // The manager's levels read either serde format (the envelope says
        // which); opaque bytes never.
        assert_eq!(
            decode(b"the-key", &binary.clone().reading_either_serde_format(), 0)
                .map(|decoded| decoded.format),
            Ok(ValueFormat::Json)
        );
        let bytes = Schema::new(3)
            .with_fingerprint("abc123")
            .with_format(ValueFormat::Bytes)
            .reading_either_serde_format();
        assert_eq!(
            decode(b"the-key", &bytes, 0),
            Err(EnvelopeError::FormatMismatch {
                found: ValueFormat::Json,
                expected: ValueFormat::Bytes
            })
        );
        let expired = decode(b"the-key", &schema(), 10_000).expect_err("expired");
        assert_eq!(
            expired,
            EnvelopeError::Expired {
                expires_at_ms: 10_000,
                now_ms: 10_000
            }
        );
        assert_eq!(expired.cause(), MissCause::Expired);
    }

    #[test]
    fn long_fingerprints_are_hashed_and_still_compared() {
        let long = "f".repeat(1000);
        let schema = Schema::new(1).with_fingerprint(long.clone());
        assert!(
            schema
                .fingerprint()
                .is_some_and(|f| f.starts_with("blake3:") && f.len() < 256)
        );
        assert_eq!(schema, Schema::new(1).with_fingerprint(long));
        let bytes = Envelope::new(b"k", b"v")
            .encode(&schema, Compression::NONE)
            .expect("encode");
        assert!(Envelope::decode(&bytes, b"k", &schema, 0).is_ok());
        let other = Schema::new(1).with_fingerprint("g".repeat(1000));
        assert!(matches!(
            Envelope::decode(&bytes, b"k", &other, 0),
            Err(EnvelopeError::SchemaMismatch { .. })
        ));
        assert_eq!(Schema::new(1).with_fingerprint(""), Schema::new(1));
    }

    #[test]
    fn oversized_keys_and_values_are_refused() {
        let key = vec![0; Envelope::MAX_KEY_LEN + 1];
        assert!(matches!(
            Envelope::new(&key, b"").encode(&Schema::default(), Compression::NONE),
            Err(EncodeError::TooLarge { what: "key", .. })
        ));
        let key = vec![0; Envelope::MAX_KEY_LEN];
        let bytes = Envelope::new(&key, b"v")
            .encode(&Schema::default(), Compression::NONE)
            .expect("max key");
        assert!(Envelope::decode(&bytes, &key, &Schema::default(), 0).is_ok());
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error() {
        let mut envelopes = vec![sample(b"a small value", Compression::NONE)];
        for codec in [Codec::Lz4, Codec::Zstd] {
            if Envelope::supports(codec) {
                let bytes = sample(
                    &compressible()[..600],
                    Compression {
                        codec,
                        threshold: 16,
                    },
                );
                assert_eq!(bytes[7], codec_id(codec), "{codec} compressed");
                envelopes.push(bytes);
            }
        }
        for bytes in envelopes {
            for len in 0..bytes.len() {
                let err = Envelope::decode(&bytes[..len], b"the-key", &schema(), 0)
                    .expect_err("truncated");
                assert!(
                    matches!(
                        err,
                        EnvelopeError::Truncated { .. } | EnvelopeError::BadMagic
                    ),
                    "{len}: {err}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(matches!(
                Envelope::decode(&longer, b"the-key", &schema(), 0),
                Err(EnvelopeError::TrailingBytes { .. })
            ));
            let mut flipped = bytes.clone();
            for bit in 0..bytes.len() * 8 {
                flipped[bit / 8] ^= 1 << (bit % 8);
                let result = Envelope::decode(&flipped, b"the-key", &schema(), 0);
                assert!(result.is_err(), "bit {bit} flipped still decodes");
                flipped[bit / 8] ^= 1 << (bit % 8);
            }
            assert_eq!(flipped, bytes);
        }
    }

    #[test]
    fn header_parse_needs_only_the_header() {
        let bytes = sample(&[7; 300], Compression::NONE);
        let header = Header::parse(&bytes[..60]).expect("header");
        assert_eq!(header.key, b"the-key");
        assert_eq!(header.fingerprint, "abc123");
        assert_eq!(
            (header.stored_len, header.value_len, header.total_len),
            (300, 300, bytes.len())
        );
        assert_eq!(header.len(), 54);
        assert_eq!(header.expires_at_ms, Some(10_000));
        assert_eq!(
            Header::parse(&bytes[..50]),
            Err(EnvelopeError::Truncated {
                len: 50,
                needed: 54
            })
        );
        assert_eq!(
            Header::parse(b"CRV"),
            Err(EnvelopeError::Truncated {
                len: 3,
                needed: FIXED_LEN
            })
        );
        assert_eq!(
            Header::parse(b"{\"json\": true}"),
            Err(EnvelopeError::BadMagic)
        );
        let mut future = bytes.clone();
        future[4] = 3;
        assert_eq!(
            Header::parse(&future),
            Err(EnvelopeError::FormatVersion { found: 3 })
        );
    }

    /// An envelope with a valid checksum around whatever header fields the
    /// test wants: what a newer writer or a deliberate forger produces.
    fn forge(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut bytes = sample(b"forged value", Compression::NONE);
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        edit(&mut bytes);
        let sum = checksum(Envelope::FORMAT_VERSION, &bytes);
        bytes.extend_from_slice(&sum);
        bytes
    }

    #[test]
    fn unknown_ids_and_bad_lengths_behind_a_valid_checksum_are_errors() {
        let decode = |bytes: &[u8]| Envelope::decode(bytes, b"the-key", &schema(), 0);
        assert_eq!(
            decode(&forge(|b| b[6] = 9)),
            Err(EnvelopeError::UnknownValueFormat { id: 9 })
        );
        assert_eq!(
            decode(&forge(|b| b[7] = 9)),
            Err(EnvelopeError::UnknownCompression { id: 9 })
        );
        // Uncompressed, yet claiming another decompressed length.
        assert_eq!(
            decode(&forge(|b| b[36] = 99)),
            Err(EnvelopeError::Malformed {
                what: "value length"
            })
        );
        // A huge decompressed length is refused before any allocation.
        let huge = forge(|b| {
            b[7] = 1;
            b[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
        });
        assert_eq!(
            decode(&huge),
            Err(EnvelopeError::Malformed {
                what: "value length"
            })
        );
        // A compressed value whose stream is garbage.
        for codec in [Codec::Lz4, Codec::Zstd] {
            let garbage = forge(|b| {
                b[7] = codec_id(codec);
                b[36..40].copy_from_slice(&1_000u32.to_le_bytes());
            });
            let err = decode(&garbage).expect_err("garbage stream");
            if Envelope::supports(codec) {
                assert!(
                    matches!(err, EnvelopeError::Decompress { .. }),
                    "{codec}: {err}"
                );
                assert_eq!(err.cause(), MissCause::Corrupt);
            } else {
                assert_eq!(err, EnvelopeError::CodecUnavailable { codec });
            }
        }
        let bad_utf8 = forge(|b| b[41] = 0xff);
        assert_eq!(
            decode(&bad_utf8),
            Err(EnvelopeError::Malformed {
                what: "fingerprint"
            })
        );
    }

    #[test]
    fn compression_follows_threshold_availability_and_benefit() {
        let value = compressible();
        for codec in [Codec::Lz4, Codec::Zstd] {
            let above = sample(
                &value,
                Compression {
                    codec,
                    threshold: 1024,
                },
            );
            let decoded = Envelope::decode(&above, b"the-key", &schema(), 0).expect("decode");
            assert_eq!(decoded.value, value);
            if Envelope::supports(codec) {
                assert_eq!(decoded.compression, codec);
                assert!(
                    decoded.stored_len < value.len() / 4,
                    "{codec}: {}",
                    decoded.stored_len
                );
            } else {
                assert_eq!(
                    decoded.compression,
                    Codec::None,
                    "stored plain without the feature"
                );
            }
            let below = sample(
                &value[..1000],
                Compression {
                    codec,
                    threshold: 1024,
                },
            );
            assert_eq!(below[7], 0, "below the threshold");
            // Incompressible (a blake3 XOF stream): stored plain.
            let mut noise = vec![0; 4096];
            blake3::Hasher::new().finalize_xof().fill(&mut noise);
            let noisy = sample(
                &noise,
                Compression {
                    codec,
                    threshold: 0,
                },
            );
            assert_eq!(noisy[7], 0, "{codec} kept plain when it does not help");
        }
    }

    #[test]
    fn a_region_s_schema_is_its_version_and_fingerprint() {
        let region = RegionDescriptor::builder("envelope-schema-test")
            .version(5)
            .build()
            .expect("region");
        assert_eq!(Schema::for_region(&region), Schema::new(5));
        assert_eq!(
            region.schema_fingerprint(),
            None,
            "built at run time: no fingerprint"
        );
    }

    #[test]
    fn clocks() {
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
        let fixed = || 42;
        assert_eq!(fixed.now_ms(), 42);
        assert_eq!(unix_ms(UNIX_EPOCH - std::time::Duration::from_secs(1)), 0);
    }
}
