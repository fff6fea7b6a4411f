//! What one source file declares: regions, config providers, type
//! definitions (for schema fingerprints) and out-of-line `mod` items (to
//! place each file in its crate's module tree).

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use serde::{Deserialize, Serialize};
use syn::spanned::Spanned;
use syn::{Attribute, Item};

use cache_spec::attr::{Attribute as Kind, parse_provider_args, parse_region_args};
use cache_spec::to_kebab_case;

/// The declarations of one file, as cached between builds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileDecls {
    pub(crate) regions: Vec<RegionDecl>,
    pub(crate) providers: Vec<ProviderDecl>,
    pub(crate) types: Vec<TypeDef>,
    pub(crate) mods: Vec<ModDecl>,
    /// The file did not parse as Rust; the compiler will say why.
    pub(crate) unparsable: bool,
}

/// A `#[cache_region]` or `#[custom_cache_region]` in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RegionDecl {
    pub(crate) name: String,
    pub(crate) item: String,
    pub(crate) attribute: String,
    /// Inline modules between the file's module and the item.
    pub(crate) inline_path: Vec<String>,
    pub(crate) line: u32,
    /// blake3 of what decides the stored bytes: name, key and value types,
    /// version, compression.
    pub(crate) decl_hash: String,
    /// Identifiers in the key and value types, to find their definitions.
    pub(crate) type_idents: Vec<String>,
}

/// A `#[cache_config_provider]` in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProviderDecl {
    pub(crate) name: String,
    pub(crate) function: String,
    pub(crate) priority: i32,
    pub(crate) inline_path: Vec<String>,
    pub(crate) line: u32,
}

/// A struct, enum, union or type alias, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TypeDef {
    pub(crate) name: String,
    /// blake3 of its tokens, doc comments left out.
    pub(crate) hash: String,
    /// Identifiers it mentions, to follow into other definitions.
    pub(crate) idents: Vec<String>,
}

/// `mod name;` (an out-of-line module), with its `#[path]` if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModDecl {
    pub(crate) name: String,
    pub(crate) inline_path: Vec<String>,
    pub(crate) path_attr: Option<String>,
}

/// Reads the declarations of a file's source.
pub(crate) fn parse(source: &str) -> FileDecls {
    let Ok(file) = syn::parse_file(source) else {
        return FileDecls {
            unparsable: true,
            ..FileDecls::default()
        };
    };
    let mut decls = FileDecls::default();
    walk(&file.items, &mut Vec::new(), &mut decls);
    decls
}

fn walk(items: &[Item], inline_path: &mut Vec<String>, decls: &mut FileDecls) {
    for item in items {
        match item {
            Item::Mod(module) => match &module.content {
                Some((_, items)) => {
                    inline_path.push(module.ident.to_string());
                    walk(items, inline_path, decls);
                    inline_path.pop();
                }
                None => decls.mods.push(ModDecl {
                    name: module.ident.to_string(),
                    inline_path: inline_path.clone(),
                    path_attr: path_attribute(&module.attrs),
                }),
            },
            Item::Struct(s) => {
                region(&s.attrs, &s.ident.to_string(), inline_path, decls);
                type_def(&s.ident.to_string(), item, decls);
            }
            Item::Enum(e) => {
                region(&e.attrs, &e.ident.to_string(), inline_path, decls);
                type_def(&e.ident.to_string(), item, decls);
            }
            Item::Union(u) => type_def(&u.ident.to_string(), item, decls),
            Item::Type(t) => type_def(&t.ident.to_string(), item, decls),
            Item::Fn(function) => provider(
                &function.attrs,
                &function.sig.ident.to_string(),
                inline_path,
                decls,
            ),
            _ => {}
        }
    }
}

fn attribute_kind(attr: &Attribute) -> Option<Kind> {
    let last = attr.path().segments.last()?.ident.to_string();
    match last.as_str() {
        "cache_region" => Some(Kind::Region),
        "custom_cache_region" => Some(Kind::CustomRegion),
        "cache_config_provider" => Some(Kind::Provider),
        _ => None,
    }
}

fn arguments(attr: &Attribute) -> TokenStream {
    attr.meta
        .require_list()
        .map(|list| list.tokens.clone())
        .unwrap_or_default()
}

fn region(attrs: &[Attribute], item: &str, inline_path: &[String], decls: &mut FileDecls) {
    for attr in attrs {
        let Some(kind @ (Kind::Region | Kind::CustomRegion)) = attribute_kind(attr) else {
            continue;
        };
        let (args, _) = parse_region_args(kind, arguments(attr));
        let Some(name) = args.name else { continue };
        let mut hasher = blake3::Hasher::new();
        hasher.update(name.value.as_bytes());
        let mut type_idents = Vec::new();
        for ty in [&args.key, &args.value].into_iter().flatten() {
            let tokens = ty.to_token_stream();
            hasher.update(b"\0type\0");
            hasher.update(tokens.to_string().as_bytes());
            idents(tokens, &mut type_idents);
        }
        hasher.update(format!("\0version\0{:?}", args.options.version).as_bytes());
        hasher.update(format!("\0compression\0{:?}", args.options.compression).as_bytes());
        type_idents.sort();
        type_idents.dedup();
        decls.regions.push(RegionDecl {
            name: name.value,
            item: item.to_owned(),
            attribute: match kind {
                Kind::CustomRegion => "custom_cache_region",
                _ => "cache_region",
            }
            .to_owned(),
            inline_path: inline_path.to_vec(),
            line: line_of(attr),
            decl_hash: hasher.finalize().to_hex().to_string(),
            type_idents,
        });
    }
}

fn provider(attrs: &[Attribute], function: &str, inline_path: &[String], decls: &mut FileDecls) {
    for attr in attrs {
        if attribute_kind(attr) != Some(Kind::Provider) {
            continue;
        }
        let (args, _) = parse_provider_args(arguments(attr));
        decls.providers.push(ProviderDecl {
            name: args
                .name
                .map(|n| n.value)
                .unwrap_or_else(|| to_kebab_case(function)),
            function: function.to_owned(),
            priority: args.priority.map(|p| p.value).unwrap_or(0),
            inline_path: inline_path.to_vec(),
            line: line_of(attr),
        });
    }
}

fn type_def(name: &str, item: &Item, decls: &mut FileDecls) {
    let mut item = item.clone();
    let attrs = match &mut item {
        Item::Struct(s) => Some(&mut s.attrs),
        Item::Enum(e) => Some(&mut e.attrs),
        Item::Union(u) => Some(&mut u.attrs),
        Item::Type(t) => Some(&mut t.attrs),
        _ => None,
    };
    if let Some(attrs) = attrs {
        attrs.retain(|a| !a.path().is_ident("doc"));
    }
    let tokens = strip_docs(item.to_token_stream());
    let mut mentioned = Vec::new();
    idents(tokens.clone(), &mut mentioned);
    mentioned.sort();
    mentioned.dedup();
    mentioned.retain(|i| i != name);
    decls.types.push(TypeDef {
        name: name.to_owned(),
        hash: blake3::hash(tokens.to_string().as_bytes())
            .to_hex()
            .to_string(),
        idents: mentioned,
    });
}

/// Drops `#[doc = ...]` attributes anywhere in the tokens (field docs
/// included), so documentation edits leave fingerprints alone.
fn strip_docs(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        if let TokenTree::Punct(p) = &tree
            && p.as_char() == '#'
            && let Some(TokenTree::Group(group)) = trees.peek()
            && group
                .stream()
                .into_iter()
                .next()
                .is_some_and(|first| matches!(&first, TokenTree::Ident(i) if i == "doc"))
        {
            trees.next();
            continue;
        }
        match tree {
            TokenTree::Group(group) => {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), strip_docs(group.stream()));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

fn idents(tokens: TokenStream, out: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Group(group) => idents(group.stream(), out),
            _ => {}
        }
    }
}

fn path_attribute(attrs: &[Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("path"))
        .and_then(|a| {
            let value = &a.meta.require_name_value().ok()?.value;
            match value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(path),
                    ..
                }) => Some(path.value()),
                _ => None,
            }
        })
}

fn line_of(attr: &Attribute) -> u32 {
    u32::try_from(attr.span().start().line).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
use cache_runtime::{cache_region, cache_config_provider, ConfigLayer};

/// Docs do not matter.
#[derive(Clone)]
pub struct ModelInfo { pub tokens: u32, pub family: Family }

pub enum Family { Small, Large }

#[cache_region(name = "model-metadata", key = String, value = Vec<ModelInfo>, ttl = "1h")]
pub struct ModelMetadata;

pub mod inner {
    #[cache_runtime::custom_cache_region(name = "quotas", key = u64, value = u64, backend = "kv")]
    pub struct Quotas;

    mod deeper;
}

#[path = "other_place.rs"]
mod elsewhere;

#[cache_config_provider(priority = -3)]
fn from_env() -> ConfigLayer { ConfigLayer::new() }
"#;

    #[test]
    fn finds_every_declaration_with_its_place() {
        let decls = parse(SOURCE);
        assert!(!decls.unparsable);
        let names: Vec<(&str, &[String], u32)> = decls
            .regions
            .iter()
            .map(|r| (r.name.as_str(), r.inline_path.as_slice(), r.line))
            .collect();
        assert_eq!(names[0], ("model-metadata", &[][..], 10));
        assert_eq!(names[1].0, "quotas");
        assert_eq!(names[1].1, ["inner".to_string()]);
        assert_eq!(decls.regions[1].attribute, "custom_cache_region");
        assert_eq!(decls.regions[0].type_idents, ["ModelInfo", "String", "Vec"]);
        assert_eq!(decls.providers[0].name, "from-env");
        assert_eq!(decls.providers[0].priority, -3);
        let mods: Vec<(&str, Option<&str>)> = decls
            .mods
            .iter()
            .map(|m| (m.name.as_str(), m.path_attr.as_deref()))
            .collect();
        assert_eq!(
            mods,
            [("deeper", None), ("elsewhere", Some("other_place.rs"))]
        );
        assert_eq!(decls.mods[0].inline_path, ["inner".to_string()]);
        let types: Vec<&str> = decls.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(types, ["ModelInfo", "Family", "ModelMetadata", "Quotas"]);
    }

    #[test]
    fn docs_and_options_outside_the_schema_leave_hashes_alone() {
        let base = parse(SOURCE);
        let documented =
            parse(&SOURCE.replace("pub tokens: u32", "/// How many.\n pub tokens: u32"));
        assert_eq!(base.types[0].hash, documented.types[0].hash);
        let ttl = parse(&SOURCE.replace("ttl = \"1h\"", "ttl = \"2h\""));
        assert_eq!(base.regions[0].decl_hash, ttl.regions[0].decl_hash);
        let memory_ttl = parse(&SOURCE.replace(
            "ttl = \"1h\"",
            "ttl = \"1h\", tier = \"hybrid\", memory_ttl = \"5m\"",
        ));
        assert_eq!(base.regions[0].decl_hash, memory_ttl.regions[0].decl_hash);
        let typed = parse(&SOURCE.replace("pub tokens: u32", "pub tokens: u64"));
        assert_ne!(base.types[0].hash, typed.types[0].hash);
        let versioned = parse(&SOURCE.replace("ttl = \"1h\"", "version = 2"));
        assert_ne!(base.regions[0].decl_hash, versioned.regions[0].decl_hash);
    }

    #[test]
    fn unparsable_files_are_flagged_not_fatal() {
        let decls = parse("fn broken( {");
        assert!(decls.unparsable);
        assert!(decls.regions.is_empty());
    }
}
