//! One field's value as configuration sources write it: text parsed per
//! field (`"10m"`, `"64MiB"`, `"lru"`, `"zstd:4KiB"`, `"none"`), and the
//! same text written back for audit records and persisted overrides.

use std::fmt;
use std::time::Duration;

use cache_spec::{
    Codec, Compression, Eviction, Field, RegionSettings, Tier, format_duration, format_size,
    parse_duration, parse_size,
};
use serde::{Deserialize, Deserializer, Serializer};

/// moka refuses durations over 1,000 years; a setting over 100 is a typo.
pub(crate) const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The value a configuration source gives one field of a region; `None`
/// inside is an explicit "none" (no expiry, no limit, fail-safe off).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldValue {
    /// `ttl`, `tti`, `memory_ttl`, `fail_safe`.
    Time(Option<Duration>),
    /// `max_entries`, `max_bytes`.
    Count(Option<u64>),
    /// `eviction`.
    Eviction(Eviction),
    /// `tier`.
    Tier(Tier),
    /// `sensitive`, `enabled`.
    Flag(bool),
    /// `compression`.
    Compression(Compression),
    /// `version`.
    Version(u32),
    /// `backend`: a registered backend's name, or `None` for an explicit
    /// "none" (the region's tier, not the backend it declared).
    Backend(Option<&'static str>),
}

/// `name` as a `&'static str`: each distinct backend name is kept once for
/// the program's life (settings are `Copy`; names are few).
pub(crate) fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Why a field's text was rejected: what was wrong, and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    /// What was wrong with the value.
    pub problem: String,
    /// The accepted values, in words.
    pub accepted: &'static str,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; accepted: {}", self.problem, self.accepted)
    }
}

fn none_word(text: &str) -> bool {
    matches!(text, "none" | "off")
}

/// What each field accepts, in words (for error messages and docs).
pub(crate) fn accepted(field: Field) -> &'static str {
    match field {
        Field::Ttl | Field::Tti => {
            "a duration from 1ms to 100 years such as \"90s\", \"10m\" or \"1h30m\", or \"none\" for no expiry"
        }
        Field::MemoryTtl => {
            "a duration from 1ms to 100 years such as \"30s\" or \"5m\", or \"none\" to use ttl"
        }
        Field::FailSafe => {
            "a duration from 1ms to 100 years such as \"30s\" or \"10m\", or \"off\""
        }
        Field::MaxEntries => "a whole number of entries from 1, such as 10000, or \"none\"",
        Field::MaxBytes => {
            "a size such as 1048576, \"64MiB\" or \"512KB\" (from 1 byte), or \"none\""
        }
        Field::Eviction => "\"tinylfu\" or \"lru\"",
        Field::Tier => "\"memory\", \"disk\", \"redis\", \"hybrid\" or \"backend\"",
        Field::Backend => {
            "the name of a backend registered with CacheManagerBuilder::backend (lowercase kebab-case), or \"none\""
        }
        Field::Sensitive | Field::Enabled => "true or false",
        Field::Compression => {
            "\"none\", \"lz4\" or \"zstd\", optionally with a threshold as in \"zstd:4KiB\" (default 1KiB)"
        }
        Field::Version => "a whole number from 1 to 4294967295",
    }
}

impl FieldValue {
    /// Parses `text` as a value of `field`.
    ///
    /// # Errors
    ///
    /// A [`ValueError`] saying what was wrong and what `field` accepts.
    pub fn parse(field: Field, text: &str) -> Result<FieldValue, ValueError> {
        let text = text.trim();
        let fail = |problem: String| ValueError {
            problem,
            accepted: accepted(field),
        };
        match field {
            Field::Ttl | Field::Tti | Field::MemoryTtl | Field::FailSafe => {
                if none_word(text) {
                    return Ok(FieldValue::Time(None));
                }
                let duration = parse_duration(text).map_err(|error| {
                    fail(format!("\"{text}\" is not a valid duration ({error})"))
                })?;
                if duration > LONGEST {
                    return Err(fail(format!("\"{text}\" is longer than 100 years")));
                }
                Ok(FieldValue::Time(Some(duration)))
            }
            Field::MaxEntries => {
                if none_word(text) {
                    return Ok(FieldValue::Count(None));
                }
                match cache_spec::parse_count(text) {
                    Some(0) => Err(fail(String::from(
                        "0 entries would store nothing (to stop caching, set enabled = false)",
                    ))),
                    Some(count) => Ok(FieldValue::Count(Some(count))),
                    None => Err(fail(format!(
                        "\"{text}\" is not a whole number (digits, `_` only between them: 10_000; or \"none\")"
                    ))),
                }
            }
            Field::MaxBytes => {
                if none_word(text) {
                    return Ok(FieldValue::Count(None));
                }
                parse_size(text)
                    .map(|bytes| FieldValue::Count(Some(bytes)))
                    .map_err(|error| fail(format!("\"{text}\" is not a valid size ({error})")))
            }
            Field::Eviction => Eviction::parse(text)
                .map(FieldValue::Eviction)
                .ok_or_else(|| fail(format!("\"{text}\" is not an eviction policy"))),
            Field::Tier => Tier::parse(text)
                .map(FieldValue::Tier)
                .ok_or_else(|| fail(format!("\"{text}\" is not a tier"))),
            Field::Backend => {
                if text == "none" {
                    return Ok(FieldValue::Backend(None));
                }
                cache_spec::validate_name(text)
                    .map(|()| FieldValue::Backend(Some(intern(text))))
                    .map_err(|error| fail(format!("\"{text}\" is not a backend name ({error})")))
            }
            Field::Sensitive | Field::Enabled => match text.to_ascii_lowercase().as_str() {
                "true" => Ok(FieldValue::Flag(true)),
                "false" => Ok(FieldValue::Flag(false)),
                _ => Err(fail(format!("\"{text}\" is not true or false"))),
            },
            Field::Compression => {
                let (codec_text, threshold) = match text.split_once(':') {
                    Some((codec, threshold)) => (codec.trim(), Some(threshold.trim())),
                    None => (text, None),
                };
                let codec = Codec::parse(codec_text)
                    .ok_or_else(|| fail(format!("\"{codec_text}\" is not a codec")))?;
                let threshold = match threshold {
                    None => Compression::DEFAULT_THRESHOLD,
                    Some(_) if codec == Codec::None => {
                        return Err(fail(format!(
                            "\"{text}\" gives a threshold without a codec"
                        )));
                    }
                    Some(threshold) => parse_size(threshold).map_err(|error| {
                        fail(format!(
                            "\"{threshold}\" is not a valid threshold ({error})"
                        ))
                    })?,
                };
                Ok(FieldValue::Compression(match codec {
                    Codec::None => Compression::NONE,
                    codec => Compression { codec, threshold },
                }))
            }
            Field::Version => match cache_spec::parse_count(text) {
                Some(0) => Err(fail(String::from(
                    "version 0 is not a version (versions start at 1)",
                ))),
                Some(version) => u32::try_from(version)
                    .map(FieldValue::Version)
                    .map_err(|_| fail(format!("{version} is too large (at most {})", u32::MAX))),
                None => Err(fail(format!(
                    "\"{text}\" is not a whole number (digits, `_` only between them: 2)"
                ))),
            },
        }
    }

    /// `field`'s value in `settings`.
    pub fn of(field: Field, settings: &RegionSettings) -> FieldValue {
        match field {
            Field::Ttl => FieldValue::Time(settings.ttl),
            Field::Tti => FieldValue::Time(settings.tti),
            Field::MemoryTtl => FieldValue::Time(settings.memory_ttl),
            Field::FailSafe => FieldValue::Time(settings.fail_safe),
            Field::MaxEntries => FieldValue::Count(settings.max_entries),
            Field::MaxBytes => FieldValue::Count(settings.max_bytes),
            Field::Eviction => FieldValue::Eviction(settings.eviction),
            Field::Tier => FieldValue::Tier(settings.tier),
            Field::Sensitive => FieldValue::Flag(settings.sensitive),
            Field::Enabled => FieldValue::Flag(settings.enabled),
            Field::Compression => FieldValue::Compression(settings.compression),
            Field::Version => FieldValue::Version(settings.version),
            Field::Backend => FieldValue::Backend(settings.backend),
        }
    }

    /// Sets `field` of `settings` to this value. The size limit is one
    /// choice: setting `max_entries` or `max_bytes` to a limit clears the
    /// other. A value of the wrong kind for `field` is ignored (values are
    /// parsed per field, so it does not happen).
    pub fn apply(self, field: Field, settings: &mut RegionSettings) {
        match (field, self) {
            (Field::Ttl, FieldValue::Time(value)) => settings.ttl = value,
            (Field::Tti, FieldValue::Time(value)) => settings.tti = value,
            (Field::MemoryTtl, FieldValue::Time(value)) => settings.memory_ttl = value,
            (Field::FailSafe, FieldValue::Time(value)) => settings.fail_safe = value,
            (Field::MaxEntries, FieldValue::Count(value)) => {
                settings.max_entries = value;
                if value.is_some() {
                    settings.max_bytes = None;
                }
            }
            (Field::MaxBytes, FieldValue::Count(value)) => {
                settings.max_bytes = value;
                if value.is_some() {
                    settings.max_entries = None;
                }
            }
            (Field::Eviction, FieldValue::Eviction(value)) => settings.eviction = value,
            (Field::Tier, FieldValue::Tier(value)) => settings.tier = value,
            (Field::Sensitive, FieldValue::Flag(value)) => settings.sensitive = value,
            (Field::Enabled, FieldValue::Flag(value)) => settings.enabled = value,
            (Field::Compression, FieldValue::Compression(value)) => settings.compression = value,
            (Field::Version, FieldValue::Version(value)) => settings.version = value,
            (Field::Backend, FieldValue::Backend(value)) => settings.backend = value,
            _ => {}
        }
    }

    /// The text form, which [`FieldValue::parse`] reads back: `"10m"`,
    /// `"none"`, `"64MiB"`, `"zstd:4KiB"`, `"true"`, `"3"`.
    pub fn text(&self, field: Field) -> String {
        match *self {
            FieldValue::Time(None) if field == Field::FailSafe => String::from("off"),
            FieldValue::Time(None) | FieldValue::Count(None) => String::from("none"),
            FieldValue::Time(Some(duration)) => format_duration(duration),
            FieldValue::Count(Some(bytes)) if field == Field::MaxBytes => format_size(bytes),
            FieldValue::Count(Some(count)) => count.to_string(),
            FieldValue::Eviction(eviction) => eviction.as_str().to_owned(),
            FieldValue::Tier(tier) => tier.as_str().to_owned(),
            FieldValue::Flag(flag) => flag.to_string(),
            FieldValue::Compression(Compression {
                codec: Codec::None, ..
            }) => String::from("none"),
            FieldValue::Compression(compression) => {
                format!(
                    "{}:{}",
                    compression.codec,
                    format_size(compression.threshold)
                )
            }
            FieldValue::Version(version) => version.to_string(),
            FieldValue::Backend(None) => String::from("none"),
            FieldValue::Backend(Some(name)) => name.to_owned(),
        }
    }
}

/// Serde for a `Field` as its name.
pub(crate) mod field_name {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        field: &Field,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(field.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Field, D::Error> {
        let name = String::deserialize(deserializer)?;
        Field::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown field `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_read_back() {
        for (field, text) in [
            (Field::Ttl, "10m"),
            (Field::Ttl, "none"),
            (Field::Tti, "1h30m"),
            (Field::MemoryTtl, "30s"),
            (Field::FailSafe, "off"),
            (Field::FailSafe, "2m"),
            (Field::MaxEntries, "5000"),
            (Field::MaxEntries, "none"),
            (Field::MaxBytes, "64MiB"),
            (Field::Eviction, "lru"),
            (Field::Tier, "hybrid"),
            (Field::Sensitive, "true"),
            (Field::Enabled, "false"),
            (Field::Compression, "none"),
            (Field::Compression, "zstd:4KiB"),
            (Field::Version, "3"),
        ] {
            let value = FieldValue::parse(field, text).expect(text);
            assert_eq!(value.text(field), text, "{field}");
            assert_eq!(FieldValue::parse(field, &value.text(field)), Ok(value));
        }
        assert_eq!(
            FieldValue::parse(Field::Compression, "lz4").map(|v| v.text(Field::Compression)),
            Ok(String::from("lz4:1KiB"))
        );
    }

    #[test]
    fn limits_are_one_choice() {
        let mut settings = RegionSettings::DEFAULT;
        FieldValue::Count(Some(1 << 20)).apply(Field::MaxBytes, &mut settings);
        assert_eq!(
            (settings.max_entries, settings.max_bytes),
            (None, Some(1 << 20))
        );
        FieldValue::Count(Some(5)).apply(Field::MaxEntries, &mut settings);
        assert_eq!((settings.max_entries, settings.max_bytes), (Some(5), None));
    }
}
