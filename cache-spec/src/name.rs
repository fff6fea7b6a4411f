//! Region and backend names: lowercase kebab-case, and the hash the registry
//! indexes them by.

/// The longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Why a region (or backend, or provider) name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string.
    #[error("name is empty; use lowercase kebab-case such as \"model-metadata\"")]
    Empty,
    /// Longer than [`MAX_NAME_LEN`].
    #[error("name `{name}` is {len} bytes long; at most {MAX_NAME_LEN} are allowed")]
    TooLong {
        /// The name as written.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// Not lowercase kebab-case.
    #[error(
        "name `{name}` is not lowercase kebab-case (letters a-z, digits and single hyphens, starting with a letter); try \"{suggestion}\""
    )]
    NotKebabCase {
        /// The name as written.
        name: String,
        /// The closest valid name.
        suggestion: String,
    },
}

/// Checks that `name` is lowercase kebab-case: it starts with `a`-`z`, holds
/// only `a`-`z`, `0`-`9` and `-`, has no doubled, leading or trailing hyphen,
/// and is at most [`MAX_NAME_LEN`] bytes.
///
/// # Errors
///
/// A [`NameError`]; the kebab-case one carries a suggested spelling.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            name: name.into(),
            len: name.len(),
        });
    }
    let bytes = name.as_bytes();
    let well_formed = bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && !name.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(NameError::NotKebabCase {
            name: name.into(),
            suggestion: to_kebab_case(name),
        })
    }
}

/// The closest lowercase kebab-case spelling of `text`: `ModelMetadata`,
/// `model_metadata` and `Model Metadata` all become `model-metadata`.
pub fn to_kebab_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            previous_lower = false;
        }
    }
    let trimmed = out
        .trim_matches('-')
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    if trimmed.is_empty() {
        "region".into()
    } else {
        trimmed.into()
    }
}

/// The hash the registry's name index uses. A `const fn`, so the hash of a
/// declared region is computed by the compiler and stored in its descriptor;
/// at run time it reads eight bytes per step.
pub const fn name_hash(name: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let b = name.as_bytes();
    let mut h: u64 = K ^ (b.len() as u64);
    let mut i = 0;
    while i + 8 <= b.len() {
        let word = u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ]);
        h = (h ^ word).wrapping_mul(K).rotate_left(31);
        i += 8;
    }
    let mut tail: u64 = 0;
    let mut shift = 0;
    while i < b.len() {
        tail |= (b[i] as u64) << shift;
        shift += 8;
        i += 1;
    }
    h = (h ^ tail).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The environment variable that carries a region's schema fingerprint from
/// `cache-build` to the attribute's expansion: `CACHE_REGION_SCHEMA_` and
/// the name upper-cased with `_` for `-` (`model-metadata` becomes
/// `CACHE_REGION_SCHEMA_MODEL_METADATA`). Kebab-case names map one to one.
pub fn schema_env_var(region: &str) -> String {
    format!(
        "CACHE_REGION_SCHEMA_{}",
        region.to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_names_pass() {
        for name in ["a", "model-metadata", "v2-keys", "rate-limits-per-tenant"] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn other_names_fail_with_a_suggestion() {
        let cases = [
            ("ModelMetadata", "model-metadata"),
            ("model_metadata", "model-metadata"),
            ("-keys", "keys"),
            ("keys-", "keys"),
            ("a--b", "a-b"),
            ("2fa-codes", "fa-codes"),
            ("Model Metadata", "model-metadata"),
        ];
        for (name, suggestion) in cases {
            assert_eq!(
                validate_name(name),
                Err(NameError::NotKebabCase {
                    name: name.into(),
                    suggestion: suggestion.into()
                }),
                "{name}"
            );
        }
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert!(matches!(
            validate_name(&"a".repeat(65)),
            Err(NameError::TooLong { len: 65, .. })
        ));
    }

    #[test]
    fn schema_variables_are_named_after_the_region() {
        assert_eq!(
            schema_env_var("model-metadata"),
            "CACHE_REGION_SCHEMA_MODEL_METADATA"
        );
        assert_eq!(schema_env_var("v2-keys"), "CACHE_REGION_SCHEMA_V2_KEYS");
    }

    #[test]
    fn hash_is_the_same_in_const_and_at_run_time() {
        const AT_COMPILE_TIME: u64 = name_hash("model-metadata");
        let name = String::from("model-metadata");
        assert_eq!(name_hash(&name), AT_COMPILE_TIME);
        assert_ne!(name_hash("model-metadata"), name_hash("model-metadatb"));
        assert_ne!(name_hash("a"), name_hash("b"));
        assert_ne!(name_hash(""), name_hash("a"));
    }
}
