//! Human durations: `"90s"`, `"5m"`, `"1h30m"`, `"250ms"`, `"2d"`.

use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("empty duration; write a number and a unit, e.g. \"90s\", \"5m\" or \"1h30m\"")]
    Empty,
    /// A number with no unit after it, such as `"90"`.
    #[error("`{number}` has no unit; add one of ms, s, m, h, d (e.g. \"{number}s\")")]
    MissingUnit {
        /// The number that lacks a unit.
        number: String,
    },
    /// A unit that is not one of ms, s, m, h, d.
    #[error("unknown unit `{unit}`; use ms, s, m, h or d, e.g. \"90s\", \"5m\" or \"1h30m\"")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// A unit or other character where a number was expected.
    #[error("expected a number at `{rest}`; a duration looks like \"90s\", \"5m\" or \"1h30m\"")]
    MissingNumber {
        /// The text from where the number was expected.
        rest: String,
    },
    /// The same unit twice, or units out of order (`"30m1h"`).
    #[error("units must appear once each, largest first (write \"1h30m\", not \"{text}\")")]
    UnitOrder {
        /// The whole duration as written.
        text: String,
    },
    /// A decimal fraction such as `"1.5h"`: durations are whole units.
    #[error(
        "`{text}`: fractions are not accepted; write whole units, largest first, e.g. \"{suggestion}\""
    )]
    Fraction {
        /// The whole duration as written.
        text: String,
        /// The same duration in whole units (or an example when it has
        /// no whole number of milliseconds).
        suggestion: String,
    },
    /// More than `u64::MAX` milliseconds.
    #[error("duration is too large")]
    Overflow,
    /// A duration of zero, which no expiry setting accepts.
    #[error("duration must be greater than zero")]
    Zero,
}

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a human duration made of `<number><unit>` groups, largest unit
/// first, each unit at most once: `"90s"`, `"5m"`, `"1h30m"`, `"1h 30m"`,
/// `"250ms"`, `"2d"`. Zero is rejected: no expiry setting means "expire now".
///
/// # Errors
///
/// A [`DurationError`] saying what was wrong and showing the accepted form.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = trimmed;
    let mut total_ms: u64 = 0;
    let mut last_rank: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::MissingNumber { rest: rest.into() });
        }
        let number_text = &rest[..digits];
        let number: u64 = number_text
            .replace('_', "")
            .parse()
            .map_err(|_| DurationError::Overflow)?;
        rest = rest[digits..].trim_start();
        if rest.starts_with('.') {
            return Err(fraction(trimmed));
        }
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit {
                number: number_text.into(),
            });
        }
        let unit = &rest[..unit_len];
        let rank = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(|| DurationError::UnknownUnit { unit: unit.into() })?;
        if last_rank.is_some_and(|last| rank <= last) {
            return Err(DurationError::UnitOrder {
                text: trimmed.into(),
            });
        }
        last_rank = Some(rank);
        let ms = number
            .checked_mul(UNITS[rank].1)
            .ok_or(DurationError::Overflow)?;
        total_ms = total_ms.checked_add(ms).ok_or(DurationError::Overflow)?;
        rest = rest[unit_len..].trim_start();
    }
    if total_ms == 0 {
        return Err(DurationError::Zero);
    }
    Ok(Duration::from_millis(total_ms))
}

/// The error for a duration written with a decimal fraction, with the same
/// duration in whole units when every group of `text` reads (fractions
/// allowed) and adds up to a whole number of milliseconds.
fn fraction(text: &str) -> DurationError {
    DurationError::Fraction {
        text: text.into(),
        suggestion: whole_units(text).unwrap_or_else(|| String::from("1h30m")),
    }
}

/// `text` read with fractions allowed, in whole units; `None` when it does
/// not read or is not a whole number of milliseconds.
fn whole_units(text: &str) -> Option<String> {
    let mut rest = text.trim();
    let mut total_ms: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        let whole: u128 = rest[..whole_len].replace('_', "").parse().ok()?;
        rest = &rest[whole_len..];
        let (fraction, scale) = match rest.strip_prefix('.') {
            Some(after) => {
                let len = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                rest = &after[len..];
                let digits = &after[..len];
                let fraction: u128 = if digits.is_empty() {
                    0
                } else {
                    digits.parse().ok()?
                };
                (fraction, 10u128.checked_pow(u32::try_from(len).ok()?)?)
            }
            None => (0, 1),
        };
        rest = rest.trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit_ms = UNITS.iter().find(|(name, _)| *name == &rest[..unit_len])?.1;
        rest = rest[unit_len..].trim_start();
        let scaled = whole
            .checked_mul(scale)?
            .checked_add(fraction)?
            .checked_mul(u128::from(unit_ms))?;
        if scaled % scale != 0 {
            return None;
        }
        total_ms = total_ms.checked_add(scaled / scale)?;
    }
    let ms = u64::try_from(total_ms).ok().filter(|ms| *ms > 0)?;
    Some(format_duration(Duration::from_millis(ms)))
}

/// Formats a duration in the same grammar [`parse_duration`] reads, so that
/// `parse_duration(&format_duration(d)) == Ok(d)` for any whole number of
/// milliseconds: `5400s` becomes `"1h30m"`.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if ms >= size {
            out.push_str(&(ms / size).to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        let cases = [
            ("90s", 90_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("1h 30m", 5_400_000),
            ("250ms", 250),
            ("2d", 172_800_000),
            ("1d2h3m4s5ms", 93_784_005),
            ("10_000ms", 10_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("5 mins"),
            Err(DurationError::UnknownUnit {
                unit: "mins".into()
            })
        );
        assert_eq!(
            parse_duration("90"),
            Err(DurationError::MissingUnit {
                number: "90".into()
            })
        );
        assert_eq!(
            parse_duration("h"),
            Err(DurationError::MissingNumber { rest: "h".into() })
        );
        assert_eq!(
            parse_duration("30m1h"),
            Err(DurationError::UnitOrder {
                text: "30m1h".into()
            })
        );
        assert_eq!(
            parse_duration("1m1m"),
            Err(DurationError::UnitOrder {
                text: "1m1m".into()
            })
        );
        assert_eq!(parse_duration("0s"), Err(DurationError::Zero));
        assert_eq!(
            parse_duration("99999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration("9999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert!(parse_duration("-5s").is_err());
        for (text, suggestion) in [
            ("1.5h", "1h30m"),
            ("0.5s", "500ms"),
            ("2.5m", "2m30s"),
            ("1d 1.25h", "1d1h15m"),
            ("1.5h 30m", "2h"),
            ("30m 1.5h", "2h"),
            ("1.0001ms", "1h30m"),
            ("1.5 hours", "1h30m"),
        ] {
            assert_eq!(
                parse_duration(text),
                Err(DurationError::Fraction {
                    text: text.into(),
                    suggestion: suggestion.into()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn formatting_round_trips() {
        for ms in [1, 999, 1_000, 61_000, 5_400_000, 90_061_001] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}
