//! Sizes: plain byte counts or `"64MiB"`, `"512KiB"`, `"10MB"`.

/// Why a size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Nothing but whitespace.
    #[error("empty size; write a number of bytes or a number and a unit, e.g. \"64MiB\"")]
    Empty,
    /// The text does not start with a number.
    #[error("expected a number of bytes at `{text}`, e.g. 1048576 or \"64MiB\"")]
    MissingNumber {
        /// The size as written.
        text: String,
    },
    /// A unit that is not one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB.
    #[error(
        "unknown size unit `{unit}`; use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
    )]
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// More than `u64::MAX` bytes.
    #[error("size is too large (at most {} bytes)", u64::MAX)]
    Overflow,
    /// Zero, which no limit accepts.
    #[error("size must be greater than zero")]
    Zero,
}

const UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Reads a whole number written as in Rust: digits, with single `_`
/// between them (`10_000`); `None` for anything else (`1_0_`, `_1`,
/// `1__0`, signs, spaces) or more than `u64::MAX`.
pub fn parse_count(text: &str) -> Option<u64> {
    let grouped = !text.is_empty()
        && !text.starts_with('_')
        && !text.ends_with('_')
        && !text.contains("__")
        && text.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !grouped {
        return None;
    }
    text.replace('_', "").parse().ok()
}

/// Parses a size in bytes: a plain number (`"1048576"`, underscores allowed)
/// or a number and a unit (`"64MiB"`, `"64 MiB"`, `"10MB"`). Zero is rejected.
///
/// # Errors
///
/// A [`SizeError`] naming the problem and the accepted units.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SizeError::Empty);
    }
    let digits = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(trimmed.len());
    if digits == 0 {
        return Err(SizeError::MissingNumber {
            text: trimmed.into(),
        });
    }
    let written = &trimmed[..digits];
    let number = match parse_count(written) {
        Some(number) => number,
        // All digits and underscores: misplaced underscores, or too large.
        None if written.starts_with('_') || written.ends_with('_') || written.contains("__") => {
            return Err(SizeError::MissingNumber {
                text: trimmed.into(),
            });
        }
        None => return Err(SizeError::Overflow),
    };
    let unit = trimmed[digits..].trim();
    let factor = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, factor)| *factor)
            .ok_or_else(|| SizeError::UnknownUnit { unit: unit.into() })?
    };
    let bytes = number.checked_mul(factor).ok_or(SizeError::Overflow)?;
    if bytes == 0 {
        return Err(SizeError::Zero);
    }
    Ok(bytes)
}

/// Formats a byte count with the largest binary unit that divides it exactly
/// (`67108864` becomes `"64MiB"`), so that [`parse_size`] reads it back.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in UNITS[5..].iter().rev() {
        if bytes >= *factor && bytes.is_multiple_of(*factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_numbers_and_units() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1_024B"), Ok(1024));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(parse_size(" "), Err(SizeError::Empty));
        assert_eq!(parse_size("0MiB"), Err(SizeError::Zero));
        assert_eq!(
            parse_size("64mb"),
            Err(SizeError::UnknownUnit { unit: "mb".into() })
        );
        assert_eq!(
            parse_size("MiB"),
            Err(SizeError::MissingNumber { text: "MiB".into() })
        );
        assert_eq!(
            parse_size("-1"),
            Err(SizeError::MissingNumber { text: "-1".into() })
        );
        assert_eq!(parse_size("20000000TiB"), Err(SizeError::Overflow));
    }

    #[test]
    fn formatting_round_trips() {
        for bytes in [1, 1000, 1024, 64 << 20, (3 << 30) + 1] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
        assert_eq!(format_size(64 << 20), "64MiB");
    }
}
