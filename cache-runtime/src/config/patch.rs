//! [`ConfigPatch`]: field values by region, as the config file, the
//! environment and run-time overrides give them.

use std::collections::BTreeMap;
use std::fmt;

use cache_spec::{Field, RegionOptions};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::value::FieldValue;

/// The fields one configuration source sets, by region. Unlike a
/// [`ConfigLayer`](super::ConfigLayer), a patch can set a field to "none"
/// (no expiry, no limit, fail-safe off). Serialized as
/// `{"region": {"ttl": "10m", "max_entries": "5000"}}`, values in their
/// text forms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigPatch {
    regions: BTreeMap<String, BTreeMap<Field, FieldValue>>,
}

impl ConfigPatch {
    /// A patch that sets nothing.
    pub fn new() -> ConfigPatch {
        ConfigPatch::default()
    }

    /// Sets `field` of `region` to `value`.
    pub fn set(&mut self, region: &str, field: Field, value: FieldValue) {
        self.regions
            .entry(region.to_owned())
            .or_default()
            .insert(field, value);
    }

    /// Drops what the patch sets for `field` of `region`; whether it set it.
    pub fn unset(&mut self, region: &str, field: Field) -> bool {
        let Some(fields) = self.regions.get_mut(region) else {
            return false;
        };
        let removed = fields.remove(&field).is_some();
        if fields.is_empty() {
            self.regions.remove(region);
        }
        removed
    }

    /// Makes what this patch sets for `region` what `other` sets for it
    /// (nothing, if `other` sets nothing for it).
    pub(crate) fn copy_region(&mut self, region: &str, other: &ConfigPatch) {
        match other.regions.get(region) {
            Some(fields) => {
                self.regions.insert(region.to_owned(), fields.clone());
            }
            None => {
                self.regions.remove(region);
            }
        }
    }

    /// What the patch sets for `region`.
    pub fn get(&self, region: &str) -> Option<&BTreeMap<Field, FieldValue>> {
        self.regions.get(region)
    }

    /// What the patch sets for `field` of `region`.
    pub fn value(&self, region: &str, field: Field) -> Option<FieldValue> {
        self.regions.get(region)?.get(&field).copied()
    }

    /// Every region the patch sets something for, by name.
    pub fn regions(&self) -> impl Iterator<Item = (&str, &BTreeMap<Field, FieldValue>)> {
        self.regions
            .iter()
            .map(|(name, fields)| (name.as_str(), fields))
    }

    /// Whether the patch sets nothing.
    pub fn is_empty(&self) -> bool {
        self.regions.values().all(BTreeMap::is_empty)
    }

    /// The fields a [`ConfigLayer`](super::ConfigLayer)'s options set.
    pub(crate) fn option_fields(options: &RegionOptions) -> Vec<(Field, FieldValue)> {
        let mut fields = Vec::new();
        let mut time = |field, value: Option<std::time::Duration>| {
            if let Some(value) = value {
                fields.push((field, FieldValue::Time(Some(value))));
            }
        };
        time(Field::Ttl, options.ttl);
        time(Field::Tti, options.tti);
        time(Field::MemoryTtl, options.memory_ttl);
        if let Some(grace) = options.fail_safe {
            fields.push((
                Field::FailSafe,
                FieldValue::Time((!grace.is_zero()).then_some(grace)),
            ));
        }
        if options.max_entries.is_some() || options.max_bytes.is_some() {
            // One choice, as in `RegionOptions::overlay`.
            fields.push((Field::MaxEntries, FieldValue::Count(options.max_entries)));
            fields.push((Field::MaxBytes, FieldValue::Count(options.max_bytes)));
        }
        if let Some(eviction) = options.eviction {
            fields.push((Field::Eviction, FieldValue::Eviction(eviction)));
        }
        if let Some(tier) = options.tier {
            fields.push((Field::Tier, FieldValue::Tier(tier)));
        }
        if let Some(sensitive) = options.sensitive {
            fields.push((Field::Sensitive, FieldValue::Flag(sensitive)));
        }
        if let Some(enabled) = options.enabled {
            fields.push((Field::Enabled, FieldValue::Flag(enabled)));
        }
        if let Some(compression) = options.compression {
            fields.push((Field::Compression, FieldValue::Compression(compression)));
        }
        if let Some(version) = options.version {
            fields.push((Field::Version, FieldValue::Version(version)));
        }
        if let Some(backend) = options.backend {
            fields.push((Field::Backend, FieldValue::Backend(backend)));
        }
        fields
    }
}

impl Serialize for ConfigPatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Fields<'a>(&'a BTreeMap<Field, FieldValue>);
        impl Serialize for Fields<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (field, value) in self.0 {
                    map.serialize_entry(field.as_str(), &value.text(*field))?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(self.regions.len()))?;
        for (region, fields) in &self.regions {
            map.serialize_entry(region, &Fields(fields))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ConfigPatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ConfigPatch, D::Error> {
        struct PatchVisitor;
        impl<'de> Visitor<'de> for PatchVisitor {
            type Value = ConfigPatch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of region names to maps of field names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ConfigPatch, A::Error> {
                let mut patch = ConfigPatch::new();
                while let Some((region, fields)) =
                    map.next_entry::<String, BTreeMap<String, String>>()?
                {
                    for (name, text) in fields {
                        let field = Field::parse(&name).ok_or_else(|| {
                            serde::de::Error::custom(format!(
                                "region `{region}`: unknown field `{name}`"
                            ))
                        })?;
                        let value = FieldValue::parse(field, &text).map_err(|error| {
                            serde::de::Error::custom(format!(
                                "region `{region}`, field `{name}`: {error}"
                            ))
                        })?;
                        patch.set(&region, field, value);
                    }
                }
                Ok(patch)
            }
        }
        deserializer.deserialize_map(PatchVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let mut patch = ConfigPatch::new();
        patch.set(
            "a",
            Field::Ttl,
            FieldValue::parse(Field::Ttl, "10m").expect("ttl"),
        );
        patch.set("a", Field::MaxEntries, FieldValue::Count(None));
        patch.set("b", Field::Enabled, FieldValue::Flag(false));
        let json = serde_json::to_string(&patch).expect("json");
        assert_eq!(
            json,
            r#"{"a":{"ttl":"10m","max_entries":"none"},"b":{"enabled":"false"}}"#
        );
        let back: ConfigPatch = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, patch);
        assert!(patch.unset("b", Field::Enabled));
        assert!(patch.get("b").is_none());
        let bad = serde_json::from_str::<ConfigPatch>(r#"{"a":{"tll":"1m"}}"#)
            .expect_err("unknown field");
        assert!(bad.to_string().contains("unknown field `tll`"), "{bad}");
    }
}
