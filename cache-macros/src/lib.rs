//! The attribute macros of `cache-runtime`: `#[cache_region]`,
//! `#[custom_cache_region]` and `#[cache_config_provider]`.
//!
//! This crate is an implementation detail: depend on `cache-runtime`, which
//! re-exports these attributes and documents them. Each attribute parses its
//! arguments (`cache_spec::attr`), validates them with the annotated item
//! (`valid`), and expands (`expand`); on any error it emits every error and
//! the item unchanged (`fallback`).
//!
//! Set `CACHE_MACROS_DEBUG=1` while building to print each expansion.

use proc_macro::TokenStream;

use cache_spec::attr::Attribute;

mod enclosing;
mod errors;
mod expand;
mod fallback;
mod item;
mod provider;
mod region;
mod seen;
mod valid;

/// Declares a cache region on a unit struct. See `cache_runtime::cache_region`.
#[proc_macro_attribute]
pub fn cache_region(args: TokenStream, item: TokenStream) -> TokenStream {
    emit(
        "cache_region",
        region::expand(Attribute::Region, args.into(), item.into()),
    )
}

/// Declares a cache region with its own policy or backend. See
/// `cache_runtime::custom_cache_region`.
#[proc_macro_attribute]
pub fn custom_cache_region(args: TokenStream, item: TokenStream) -> TokenStream {
    emit(
        "custom_cache_region",
        region::expand(Attribute::CustomRegion, args.into(), item.into()),
    )
}

/// Declares a config provider function. See
/// `cache_runtime::cache_config_provider`.
#[proc_macro_attribute]
pub fn cache_config_provider(args: TokenStream, item: TokenStream) -> TokenStream {
    emit(
        "cache_config_provider",
        provider::expand(args.into(), item.into()),
    )
}

/// The one adapter from an expansion to the compiler, printing it when
/// `CACHE_MACROS_DEBUG` is set.
fn emit(attribute: &str, tokens: proc_macro2::TokenStream) -> TokenStream {
    if std::env::var_os("CACHE_MACROS_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("#[{attribute}] expands to:\n{tokens}\n");
    }
    tokens.into()
}
