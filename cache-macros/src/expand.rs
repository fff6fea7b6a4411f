//! The code the attributes generate, once their input is valid.
//!
//! Every generated item sits inside `const _: () = { ... };` and reaches the
//! runtime only through `<crate>::__private`, so users never depend on
//! `linkme` and a renamed `cache-runtime` works through `crate = path`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, Path, ReturnType, Type};

use cache_spec::attr::{ProviderArgs, RegionArgs};
use cache_spec::{
    Codec, Compression, Eviction, Field, Preset, RegionOptions, RegionSettings, Tier,
};

use crate::item::Marker;
use crate::seen::{self, Seen};

/// How an expansion reaches cache-runtime's `__private` module: the path
/// its items use, and the import that brings it into their block.
pub(crate) struct Facade {
    /// `::cache_runtime::__private`, or a name the import binds.
    pub(crate) private: TokenStream,
    /// Empty for `::cache_runtime`; for `crate = path`, one import, so a
    /// path that is not cache-runtime is one error on that path.
    pub(crate) import: TokenStream,
    /// Whether the facade comes through that import: then the items that
    /// would fail again after it go through the facade's `link!` macro.
    through_import: bool,
}

impl Facade {
    /// `item` (`static NAME: T = value;`) added to the registry's `slice`.
    fn link(&self, slice: &str, item: TokenStream) -> TokenStream {
        let private = &self.private;
        let slice = format_ident!("{slice}");
        if self.through_import {
            quote!(#private::link! { #slice: #item })
        } else {
            // The slice's own `macro_rules!` (what linkme's element
            // attribute expands to, generated with the slice in
            // cache-runtime): no second proc macro per declaration.
            quote! {
                #private::#slice! {
                    #![linkme_macro = #private::#slice]
                    #item
                }
            }
        }
    }

    /// `items`, through `link!` when the facade comes through the import.
    fn items(&self, items: TokenStream) -> TokenStream {
        let private = &self.private;
        if self.through_import {
            quote!(#private::link! { items: #items })
        } else {
            items
        }
    }
}

/// `::cache_runtime::__private`, or `<crate = path>::__private` through one
/// import spanned at the path: the facade exports `__private` a second time
/// as `crate_path_must_name_cache_runtime`, the name that import asks for,
/// so the compiler's "unresolved import" says what is wrong.
pub(crate) fn facade(krate: Option<&Path>) -> Facade {
    match krate {
        Some(path) => Facade {
            private: quote!(__cache_runtime_private),
            import: quote_spanned! {path.span()=>
                #[allow(unused_imports)]
                use #path::crate_path_must_name_cache_runtime as __cache_runtime_private;
            },
            through_import: true,
        },
        None => Facade {
            private: quote!(::cache_runtime::__private),
            import: TokenStream::new(),
            through_import: false,
        },
    }
}

/// A type as the user wrote it, spaced the way rustfmt would.
fn type_text(ty: &Type) -> String {
    let mut text = quote!(#ty).to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        (" ;", ";"),
    ] {
        text = text.replace(from, to);
    }
    text
}

pub(crate) fn region(
    args: &RegionArgs,
    marker: &Marker,
    key: &Type,
    value: &Type,
    name: &str,
    name_span: Span,
) -> TokenStream {
    let facade = facade(args.krate.as_ref());
    let private = facade.private.clone();
    let ident = &marker.ident;
    let item_text = ident.to_string();
    let key_text = type_text(key);
    let value_text = type_text(value);
    let description = args
        .description
        .as_ref()
        .map(|d| d.value.as_str())
        .unwrap_or("");
    let preset = option(
        args.preset
            .as_ref()
            .map(|p| preset_tokens(&private, p.value)),
    );
    let options = options_tokens(&private, &args.options);
    let policy = option(args.policy.as_ref().map(|policy| {
        let text = type_text(policy);
        quote_spanned!(policy.span()=> #private::PolicyInfo::of::<#policy, #key, #value>(#text))
    }));
    let backend = option(args.backend.as_ref().map(|b| {
        let backend = &b.value;
        quote!(#backend)
    }));
    let schema_env = cache_spec::schema_env_var(name);
    // The manager's kit: what the key and value types support, chosen with
    // their concrete types. Bound errors (a key that is not `Hash`...) point
    // at the key type.
    // The types are named through the marker's impl, so that a type that
    // does not exist is reported once, by the impl.
    let key_of = quote_spanned!(key.span()=> <#ident as #private::CacheRegion>::Key);
    let value_of = quote_spanned!(value.span()=> <#ident as #private::CacheRegion>::Value);
    // A type that borrows (`&'static str`) cannot be deserialized into an
    // owned value, and its pick would fail to compile rather than step
    // aside (lifetimes are checked after the constant is chosen): such types
    // get no serde.
    let pick = |ty: &Type, constant: TokenStream| {
        if borrows(ty) {
            quote!(::core::option::Option::None)
        } else {
            quote!(Pick::#constant)
        }
    };
    let key_serde = pick(key, quote!(KEY_SERDE));
    let value_serde = pick(value, quote!(VALUE_SERDE));
    let kit = quote! {
        fn __cache_runtime_kit() -> #private::kit::RegionKit {
            #[allow(unused_imports)]
            use #private::kit::Fallbacks as _;
            type Pick = #private::kit::Pick<#key_of, #value_of>;
            #private::kit::RegionKit::new::<#key_of, #value_of>(#private::kit::RegionCodecs::__picked(
                Pick::KEY_TEXT_SERDE,
                Pick::KEY_TEXT_DISPLAY,
                #key_serde,
                #value_serde,
                Pick::WEIGH_TRAIT,
                Pick::WEIGH_SERDE,
            ))
        }
    };
    // Entries of persistent tiers are written with serde: say so at the
    // declaration rather than when the manager opens the region.
    let tier = RegionSettings::resolve(args.preset.as_ref().map(|p| p.value), &args.options).tier;
    let require_serde = tier.persists().then(|| {
        let (the_tier, how) = match tier {
            Tier::Disk => ("the disk tier", "writes keys and values to files with serde"),
            Tier::Redis => ("the redis tier", "writes keys and values to Redis with serde"),
            Tier::Hybrid => (
                "the hybrid tier",
                "writes keys and values to its second level (disk or Redis) with serde",
            ),
            _ => (
                "a backend tier",
                "hands keys and values to its backend as bytes made with serde",
            ),
        };
        // One check per type, on that type, with a message naming it and
        // the tier: a constant that panics when the kit's pick found no
        // serde for it; a borrowed type is refused outright.
        let check = |ty: &Type, constant: TokenStream| {
            if borrows(ty) {
                return syn::Error::new_spanned(
                    ty,
                    format!(
                        "`{}` cannot be stored by {the_tier}: a borrowed type cannot be read back from storage; \
                         use an owned type (`String` rather than `&str`), or keep the region in memory (`tier = \"memory\"`)",
                        type_text(ty)
                    ),
                )
                .to_compile_error();
            }
            let message = format!(
                "`{}` cannot be stored by {the_tier}: it does not implement serde's `Serialize` and `Deserialize`; \
                 {the_tier} {how}: derive `serde::Serialize, serde::Deserialize` for it (serde's `derive` feature), \
                 or keep the region in memory (`tier = \"memory\"`)",
                type_text(ty)
            );
            quote_spanned! {ty.span()=>
                const _: () = {
                    #[allow(unused_imports)]
                    use #private::kit::Fallbacks as _;
                    if <#private::kit::Pick<#key_of, #value_of>>::#constant.is_none() {
                        ::core::panic!(#message);
                    }
                };
            }
        };
        let key_check = check(key, quote!(KEY_SERDE));
        let value_check = check(value, quote!(VALUE_SERDE));
        quote!(#key_check #value_check)
    });
    // A codec this build of cache-runtime lacks is an error at the option,
    // not values silently stored uncompressed.
    let require_codec = args.options.compression.and_then(|compression| {
        let span = args.span_of(Field::Compression)?;
        match compression.codec {
            Codec::None => None,
            Codec::Lz4 => Some(quote_spanned!(span=>
                const _: () = #private::require_lz4::<()>();
            )),
            Codec::Zstd => Some(quote_spanned!(span=>
                const _: () = #private::require_zstd::<()>();
            )),
        }
    });
    let guard = name_guard(Declared::Region, name, name_span);

    // Hashed here rather than by a `const fn` in each expansion: the
    // compiler's interpreter would run it twice per declaration.
    let name_hash = cache_spec::name_hash(name);
    // The descriptor is a plain static; the linker's list holds a small
    // entry pointing at it (one linkme element per declaration). Its
    // strings are one literal, cut where each piece ends: one pointer for
    // the loader to relocate rather than seven.
    let lens = [
        name.len(),
        item_text.len(),
        key_text.len(),
        value_text.len(),
        description.len(),
    ];
    let region = quote! {
            static __CACHE_RUNTIME_REGION: #private::RegionDescriptor =
                #private::RegionDescriptor::__linked(#private::LinkedRegion {
                    text: #private::DeclaredText::__new(
                        ::core::concat!(
                            #name,
                            #item_text,
                            #key_text,
                            #value_text,
                            #description,
                            ::core::module_path!(),
                            ::core::file!(),
                        ),
                        [#(#lens,)* ::core::module_path!().len()],
                        ::core::line!(),
                        ::core::column!(),
                    ),
                    name_hash: #name_hash,
                    preset: #preset,
                    options: #options,
                    policy: #policy,
                    backend: #backend,
                    // Set by cache-build in the declaring package's build script.
                    schema: ::core::option_env!(#schema_env),
                })
                .__with_kit(__cache_runtime_kit);
    };
    let index = facade.link(
        "CACHE_RUNTIME_0_1_REGIONS",
        quote! {
            static __CACHE_RUNTIME_REGION_INDEX: #private::RegionIndexEntry = #private::RegionIndexEntry {
                hash: #name_hash,
                descriptor: &__CACHE_RUNTIME_REGION,
            };
        },
    );
    let marker_impl = facade.items(quote! {
        #[automatically_derived]
        impl #private::CacheRegion for #ident {
            type Key = #key;
            type Value = #value;
            const DESCRIPTOR: &'static #private::RegionDescriptor = &__CACHE_RUNTIME_REGION;
            const __LINKED: ::core::option::Option<&'static #private::RegionIndexEntry> =
                ::core::option::Option::Some(&__CACHE_RUNTIME_REGION_INDEX);
        }
    });
    declaration(
        guard,
        &facade,
        quote! {
            #region
            #kit
            #require_serde
            #require_codec
            #index
            #marker_impl
        },
    )
}

pub(crate) fn provider(
    args: &ProviderArgs,
    function: &ItemFn,
    name: &str,
    name_span: Span,
) -> TokenStream {
    let facade = facade(args.krate.as_ref());
    let private = facade.private.clone();
    let guard = name_guard(Declared::Provider, name, name_span);
    let ident = &function.sig.ident;
    let function_text = ident.to_string();
    let priority = args.priority.as_ref().map(|p| p.value).unwrap_or(0);
    // The conversion is spanned on the user's return type, so a wrong type
    // is reported there with `IntoConfigLayer`'s message.
    let call = match &function.sig.output {
        ReturnType::Type(_, ty) => {
            quote_spanned!(ty.span()=> <#ty as #private::IntoConfigLayer>::into_config_layer(#ident()))
        }
        ReturnType::Default => quote!(#private::IntoConfigLayer::into_config_layer(#ident())),
    };
    let provider = facade.link(
        "CACHE_RUNTIME_0_1_PROVIDERS",
        quote! {
            static __CACHE_RUNTIME_PROVIDER: #private::ProviderDescriptor =
                #private::ProviderDescriptor::__linked(#private::LinkedProvider {
                    name: #name,
                    priority: #priority,
                    function: #function_text,
                    site: #private::DeclarationSite::__new(
                        ::core::module_path!(),
                        ::core::file!(),
                        ::core::line!(),
                        ::core::column!(),
                    ),
                    load: __cache_runtime_load,
                });
        },
    );
    declaration(
        guard,
        &facade,
        quote! {
            fn __cache_runtime_load() -> ::core::result::Result<#private::ConfigLayer, #private::BoxError> {
                #call
            }

            #provider
        },
    )
}

/// A declaration's expansion: the name guard, then `items` in an anonymous
/// constant after the facade's import. The guard sits outside the block:
/// inside it, it would be a non-local definition at module level too,
/// which `forbid(warnings)` would refuse. (In an `impl`, where a provider
/// cannot be, the attribute reports that before expanding.)
fn declaration(guard: TokenStream, facade: &Facade, items: TokenStream) -> TokenStream {
    let import = &facade.import;
    quote! {
        #guard

        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = {
            #import
            #items
        };
    }
}

/// What a name guard protects.
#[derive(Clone, Copy)]
enum Declared {
    Region,
    Provider,
}

/// A `#[macro_export]` macro named after `name`: two declarations with
/// one name in one crate define it twice, which the compiler reports at
/// both names (the whole item is spanned at `span`, since the compiler
/// points at the item, not its name). `non_local_definitions` is allowed:
/// a declaration inside a function body is legitimate, and the guard is an
/// implementation detail its author cannot move.
///
/// Where the second declaration can be told apart in the macro itself
/// (`seen`), it gets this crate's own error instead of its guard: the
/// name, "declared twice" and where the first one is.
fn name_guard(declared: Declared, name: &str, span: Span) -> TokenStream {
    let (kind, what) = match declared {
        Declared::Region => ("cache_region_named", "region"),
        Declared::Provider => ("cache_config_provider_named", "config provider"),
    };
    if let Seen::Twice(first) = seen::record(kind, name, span) {
        let message = format!(
            "{what} `{name}` is declared twice in this crate (first at {first}); \
             each {what} is found by its name: give this one another, e.g. `{name}-2`"
        );
        return syn::Error::new(span, message).to_compile_error();
    }
    let guard = format_ident!("{kind}_{}", name.replace('-', "_"), span = span);
    quote_spanned! {span=>
        #[doc(hidden)]
        #[macro_export]
        #[allow(non_local_definitions)]
        macro_rules! #guard { () => {}; }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

fn preset_tokens(private: &TokenStream, preset: Preset) -> TokenStream {
    match preset {
        Preset::SecurityCritical => quote!(#private::Preset::SecurityCritical),
        Preset::HighFrequency => quote!(#private::Preset::HighFrequency),
        Preset::Bulk => quote!(#private::Preset::Bulk),
        Preset::Temporary => quote!(#private::Preset::Temporary),
    }
}

/// Whether a type names a reference or a lifetime: it cannot be probed for
/// `DeserializeOwned` (the probe would fail to compile rather than step
/// aside).
fn borrows(ty: &Type) -> bool {
    fn any_borrow(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Punct(punct) => matches!(punct.as_char(), '&' | '\''),
            proc_macro2::TokenTree::Group(group) => any_borrow(group.stream()),
            _ => false,
        })
    }
    any_borrow(quote!(#ty))
}

/// The options a declaration sets, as a struct expression: only the set
/// fields, the rest from `RegionOptions::EMPTY` (fewer tokens for the
/// compiler to check per declaration).
fn options_tokens(private: &TokenStream, options: &RegionOptions) -> TokenStream {
    let duration = |d: std::time::Duration| {
        let ms = d.as_millis() as u64;
        quote!(#private::Duration::from_millis(#ms))
    };
    let mut set: Vec<TokenStream> = Vec::new();
    let mut field = |name: &str, value: Option<TokenStream>| {
        if let Some(value) = value {
            let name = format_ident!("{name}");
            set.push(quote!(#name: ::core::option::Option::Some(#value)));
        }
    };
    field("ttl", options.ttl.map(duration));
    field("tti", options.tti.map(duration));
    field("memory_ttl", options.memory_ttl.map(duration));
    field("max_entries", options.max_entries.map(|n| quote!(#n)));
    field("max_bytes", options.max_bytes.map(|n| quote!(#n)));
    field(
        "eviction",
        options.eviction.map(|e| match e {
            Eviction::TinyLfu => quote!(#private::Eviction::TinyLfu),
            Eviction::Lru => quote!(#private::Eviction::Lru),
        }),
    );
    field(
        "tier",
        options.tier.map(|t| match t {
            Tier::Memory => quote!(#private::Tier::Memory),
            Tier::Disk => quote!(#private::Tier::Disk),
            Tier::Redis => quote!(#private::Tier::Redis),
            Tier::Hybrid => quote!(#private::Tier::Hybrid),
            Tier::Backend => quote!(#private::Tier::Backend),
        }),
    );
    field("sensitive", options.sensitive.map(|s| quote!(#s)));
    field(
        "compression",
        options.compression.map(|Compression { codec, threshold }| {
            let codec = match codec {
                Codec::None => quote!(#private::Codec::None),
                Codec::Lz4 => quote!(#private::Codec::Lz4),
                Codec::Zstd => quote!(#private::Codec::Zstd),
            };
            quote!(#private::Compression { codec: #codec, threshold: #threshold })
        }),
    );
    field("version", options.version.map(|v| quote!(#v)));
    field("enabled", options.enabled.map(|e| quote!(#e)));
    field("fail_safe", options.fail_safe.map(duration));
    field(
        "backend",
        options.backend.map(|b| option(b.map(|name| quote!(#name)))),
    );
    quote! {
        #private::RegionOptions {
            #(#set,)*
            ..#private::RegionOptions::EMPTY
        }
    }
}
