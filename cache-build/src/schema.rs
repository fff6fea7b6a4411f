//! Per-region schema fingerprints: what decides the bytes a region stores
//! (its declaration's name, key and value types, version and compression),
//! plus the definitions of the types it mentions that the scan found,
//! followed transitively. A change there makes the region's persisted
//! entries stale; other regions keep theirs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cache_file::PackageRecord;
use crate::parse::{RegionDecl, TypeDef};

/// Type definitions of one package, by name.
pub(crate) struct TypeIndex<'a> {
    by_name: HashMap<&'a str, Vec<&'a TypeDef>>,
}

impl<'a> TypeIndex<'a> {
    pub(crate) fn new(record: &'a PackageRecord) -> TypeIndex<'a> {
        let mut by_name: HashMap<&str, Vec<&TypeDef>> = HashMap::new();
        for file in record.files.values() {
            for def in &file.decls.types {
                by_name.entry(def.name.as_str()).or_default().push(def);
            }
        }
        TypeIndex { by_name }
    }

    /// The fingerprint of `region`.
    pub(crate) fn fingerprint(&self, region: &RegionDecl) -> String {
        let mut found: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut queue: Vec<&str> = region.type_idents.iter().map(String::as_str).collect();
        let mut seen = BTreeSet::new();
        while let Some(ident) = queue.pop() {
            if !seen.insert(ident) {
                continue;
            }
            for def in self.by_name.get(ident).into_iter().flatten() {
                found.entry(ident).or_default().insert(def.hash.as_str());
                queue.extend(def.idents.iter().map(String::as_str));
            }
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(region.decl_hash.as_bytes());
        for (name, hashes) in found {
            hasher.update(b"\0");
            hasher.update(name.as_bytes());
            for hash in hashes {
                hasher.update(b"=");
                hasher.update(hash.as_bytes());
            }
        }
        hasher.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache_file::FileRecord;

    fn package(source: &str) -> PackageRecord {
        let mut record = PackageRecord::default();
        record
            .files
            .insert("src/lib.rs".into(), FileRecord::parsed(source));
        record
    }

    const SOURCE: &str = r#"
        pub struct Info { pub family: Family, pub tokens: u32 }
        pub enum Family { Small, Large }
        pub struct Unrelated { pub x: u8 }
        #[cache_region(name = "info", key = String, value = Info)] pub struct InfoRegion;
        #[cache_region(name = "other", key = String, value = Unrelated)] pub struct OtherRegion;
    "#;

    fn fingerprints(source: &str) -> (String, String) {
        let record = package(source);
        let index = TypeIndex::new(&record);
        let regions = &record.files["src/lib.rs"].decls.regions;
        (
            index.fingerprint(&regions[0]),
            index.fingerprint(&regions[1]),
        )
    }

    #[test]
    fn follows_type_definitions_transitively_and_only_those() {
        let (info, other) = fingerprints(SOURCE);
        let (info2, other2) = fingerprints(&SOURCE.replace("Small, Large", "Small, Medium, Large"));
        assert_ne!(
            info, info2,
            "a change two definitions away reaches the region"
        );
        assert_eq!(other, other2, "an unrelated region keeps its fingerprint");
        let (info3, _) =
            fingerprints(&SOURCE.replace("pub struct InfoRegion;", "pub struct InfoRegion ;"));
        assert_eq!(info, info3);
    }
}
