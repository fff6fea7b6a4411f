//! Environment variables: `CACHE_REGION__<REGION>__<FIELD>=<value>`, the
//! region's name in upper case with `_` for `-`, the field in upper case:
//! `CACHE_REGION__MODEL_METADATA__TTL=10m`,
//! `CACHE_REGION__MODEL_METADATA__MAX_ENTRIES=5000`.

use std::collections::BTreeMap;

use cache_spec::Field;

use super::error::{ConfigError, Problem};
use super::file::unknown_field;
use super::patch::ConfigPatch;
use super::value::FieldValue;

/// The default prefix of configuration variables.
pub(crate) const DEFAULT_PREFIX: &str = "CACHE_REGION__";

/// The variables that set something, as a patch, and which variable set
/// each field (for `explain`).
#[derive(Clone, Debug, Default)]
pub(crate) struct EnvLayer {
    pub(crate) patch: ConfigPatch,
    pub(crate) variables: BTreeMap<(String, Field), String>,
}

/// `model-metadata` -> `MODEL_METADATA`.
pub(crate) fn variable_region(region: &str) -> String {
    region.to_ascii_uppercase().replace('-', "_")
}

/// The variable that sets `field` of `region` under `prefix`.
#[cfg(test)]
pub(crate) fn variable_name(prefix: &str, region: &str, field: Field) -> String {
    format!(
        "{prefix}{}__{}",
        variable_region(region),
        field.as_str().to_ascii_uppercase()
    )
}

/// Reads the variables that start with `prefix`; `regions` are the known
/// region names (a variable's region part is matched against them).
///
/// # Errors
///
/// [`ConfigError::Invalid`] listing every malformed variable, unknown
/// region or field, and bad value.
pub(crate) fn parse<'a>(
    prefix: &str,
    variables: impl IntoIterator<Item = (String, String)>,
    regions: impl Iterator<Item = &'a str> + Clone,
) -> Result<EnvLayer, ConfigError> {
    let mut layer = EnvLayer::default();
    let mut problems = Vec::new();
    let mut seen: Vec<(String, String, String)> = variables
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, value)| {
            let rest = name[prefix.len()..].to_owned();
            (name, rest, value)
        })
        .collect();
    seen.sort();
    for (variable, rest, text) in seen {
        let source = format!("environment variable {variable}");
        let Some((region_part, field_part)) = rest.rsplit_once("__") else {
            problems.push(Problem {
                region: rest.clone(),
                field: None,
                value: Some(text),
                source,
                message: format!(
                    "expected {prefix}<REGION>__<FIELD>, such as {prefix}MODEL_METADATA__TTL"
                ),
            });
            continue;
        };
        // Either case, `_` or `-`: MODEL_METADATA, model_metadata, model-metadata.
        let wanted = variable_region(region_part);
        let region = regions.clone().find(|name| variable_region(name) == wanted);
        let Some(region) = region else {
            let guess = region_part.to_ascii_lowercase().replace('_', "-");
            let mut message = super::layers::unknown_region(&guess, regions.clone());
            if let Some(close) = cache_spec::suggest::closest(&guess, regions.clone()) {
                message.push_str(&format!(
                    " (the variable: {prefix}{}__{})",
                    variable_region(close),
                    field_part.to_ascii_uppercase()
                ));
            }
            problems.push(Problem {
                region: guess,
                field: Some(field_part.to_ascii_lowercase()),
                value: Some(text),
                source,
                message,
            });
            continue;
        };
        let field_name = field_part.to_ascii_lowercase();
        let Some(field) = Field::parse(&field_name) else {
            problems.push(Problem {
                region: region.to_owned(),
                field: Some(field_name.clone()),
                value: Some(text),
                source,
                message: unknown_field(&field_name),
            });
            continue;
        };
        match FieldValue::parse(field, &text) {
            Ok(value) => {
                layer.patch.set(region, field, value);
                layer.variables.insert((region.to_owned(), field), variable);
            }
            Err(error) => problems.push(Problem {
                region: region.to_owned(),
                field: Some(field_name),
                value: Some(text),
                source,
                message: error.to_string(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(layer)
    } else {
        Err(ConfigError::Invalid { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_name_regions_and_fields() {
        let vars = vec![
            (
                String::from("CACHE_REGION__MODEL_METADATA__TTL"),
                String::from("10m"),
            ),
            (
                String::from("CACHE_REGION__MODEL_METADATA__MAX_ENTRIES"),
                String::from("5"),
            ),
            (String::from("PATH"), String::from("/bin")),
        ];
        let layer = parse(DEFAULT_PREFIX, vars, ["model-metadata"].into_iter()).expect("valid");
        assert_eq!(
            layer.patch.value("model-metadata", Field::MaxEntries),
            Some(FieldValue::Count(Some(5)))
        );
        assert_eq!(
            variable_name(DEFAULT_PREFIX, "model-metadata", Field::MemoryTtl),
            "CACHE_REGION__MODEL_METADATA__MEMORY_TTL"
        );
    }
}
