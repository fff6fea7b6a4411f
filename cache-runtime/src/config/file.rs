//! The TOML config file: one table per region under `[regions]`.
//!
//! ```toml
//! [regions.model-metadata]
//! ttl = "10m"
//! max_entries = 5000
//! eviction = "lru"
//! compression = "zstd"
//! compression_threshold = "4KiB"
//! fail_safe = "30s"
//! enabled = true
//! ```

use std::path::{Path, PathBuf};

use cache_spec::Field;

use super::error::{ConfigError, Problem};
use super::patch::ConfigPatch;
use super::value::{FieldValue, accepted};

/// The option names a region table accepts: every field, plus
/// `compression_threshold` (the threshold of `compression`).
const THRESHOLD: &str = "compression_threshold";

/// A config file's content as a patch, or every problem in it.
///
/// # Errors
///
/// [`ConfigError::Syntax`] for invalid TOML; [`ConfigError::Invalid`] for
/// unknown tables or fields and values a field does not accept.
pub(crate) fn parse(path: &Path, text: &str) -> Result<ConfigPatch, ConfigError> {
    let table: toml::Table =
        text.parse()
            .map_err(|error: toml::de::Error| ConfigError::Syntax {
                path: path.to_owned(),
                message: syntax_message(text, &error),
            })?;
    let source = format!("config file {}", path.display());
    let mut problems = Vec::new();
    let mut patch = ConfigPatch::new();
    for (key, value) in &table {
        if key != "regions" {
            problems.push(Problem {
                region: String::from("(file)"),
                field: Some(key.clone()),
                value: Some(value.to_string()),
                source: source.clone(),
                message: format!(
                    "unknown top-level key `{key}`; the file has one table, [regions], with a [regions.<name>] table per region"
                ),
            });
            continue;
        }
        let Some(regions) = value.as_table() else {
            problems.push(Problem {
                region: String::from("(file)"),
                field: Some(key.clone()),
                value: Some(value.to_string()),
                source: source.clone(),
                message: String::from("`regions` must be a table of [regions.<name>] tables"),
            });
            continue;
        };
        for (region, options) in regions {
            let Some(options) = options.as_table() else {
                problems.push(Problem {
                    region: region.clone(),
                    field: None,
                    value: Some(options.to_string()),
                    source: source.clone(),
                    message: format!(
                        "must be a table of options, as in [regions.{region}] followed by lines like ttl = \"10m\""
                    ),
                });
                continue;
            };
            region_table(region, options, &source, &mut patch, &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(patch)
    } else {
        Err(ConfigError::Invalid { problems })
    }
}

fn region_table(
    region: &str,
    options: &toml::Table,
    source: &str,
    patch: &mut ConfigPatch,
    problems: &mut Vec<Problem>,
) {
    let problem = |field: &str, value: Option<String>, message: String| Problem {
        region: region.to_owned(),
        field: Some(field.to_owned()),
        value,
        source: source.to_owned(),
        message,
    };
    let mut threshold = None;
    for (name, value) in options {
        let text = match scalar_text(value) {
            Ok(text) => text,
            Err(kind) => {
                let field = Field::parse(name);
                problems.push(problem(
                    name,
                    Some(value.to_string()),
                    format!(
                        "{kind} is not a value; accepted: {}",
                        field.map_or("a string, number or boolean", accepted)
                    ),
                ));
                continue;
            }
        };
        if name == THRESHOLD {
            threshold = Some(text);
            continue;
        }
        let Some(field) = Field::parse(name) else {
            problems.push(problem(name, Some(text), unknown_field(name)));
            continue;
        };
        match FieldValue::parse(field, &text) {
            Ok(value) => patch.set(region, field, value),
            Err(error) => problems.push(problem(name, Some(text), error.to_string())),
        }
    }
    if let Some(threshold) = threshold {
        let codec = patch
            .value(region, Field::Compression)
            .map(|value| value.text(Field::Compression));
        match codec.as_deref().and_then(|text| text.split(':').next()) {
            Some(codec) if codec != "none" => {
                match FieldValue::parse(Field::Compression, &format!("{codec}:{threshold}")) {
                    Ok(value) => patch.set(region, Field::Compression, value),
                    Err(error) => {
                        problems.push(problem(THRESHOLD, Some(threshold), error.to_string()));
                    }
                }
            }
            _ => problems.push(problem(
                THRESHOLD,
                Some(threshold),
                String::from(
                    "a threshold needs a codec in the same table: add compression = \"lz4\" or \"zstd\"",
                ),
            )),
        }
    }
}

/// "unknown field `x`; did you mean `ttl`? accepted: ...".
pub(crate) fn unknown_field(name: &str) -> String {
    let names = Field::ALL.iter().map(|field| field.as_str());
    let mut message = format!("unknown field `{name}`");
    if let Some(close) = cache_spec::suggest::closest(name, names.clone()) {
        message.push_str(&format!("; did you mean `{close}`?"));
    }
    message.push_str("; fields: ");
    message.push_str(&names.collect::<Vec<_>>().join(", "));
    message
}

fn scalar_text(value: &toml::Value) -> Result<String, &'static str> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Float(_) => Err("a decimal number"),
        toml::Value::Datetime(_) => Err("a date"),
        toml::Value::Array(_) => Err("a list"),
        toml::Value::Table(_) => Err("a table"),
    }
}

/// The parser's message with the line and column it points at.
fn syntax_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().to_owned();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// Reads and parses the file.
///
/// # Errors
///
/// [`ConfigError::Read`], and as [`parse`].
pub(crate) fn load(path: &PathBuf) -> Result<(ConfigPatch, Vec<u8>), ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    Ok((parse(path, &text)?, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_become_a_patch() {
        let patch = parse(
            Path::new("c.toml"),
            "[regions.a]\nttl = \"10m\"\nmax_entries = 5000\nenabled = false\ncompression = \"zstd\"\ncompression_threshold = \"4KiB\"\n",
        )
        .expect("valid");
        let text = |field| patch.value("a", field).map(|v| v.text(field));
        assert_eq!(text(Field::Ttl).as_deref(), Some("10m"));
        assert_eq!(text(Field::MaxEntries).as_deref(), Some("5000"));
        assert_eq!(text(Field::Enabled).as_deref(), Some("false"));
        assert_eq!(text(Field::Compression).as_deref(), Some("zstd:4KiB"));
    }

    #[test]
    fn syntax_errors_say_where() {
        let error = parse(Path::new("c.toml"), "[regions.a]\nttl = \n").expect_err("bad");
        let message = error.to_string();
        assert!(
            message.contains("c.toml is not valid TOML: line 2"),
            "{message}"
        );
    }
}
