//! Checks on the item an attribute is attached to.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Fields, Ident, Item, ItemFn};

use cache_spec::attr::Attribute;

use crate::errors::Errors;

/// The type a region attribute turns into a region marker.
pub(crate) struct Marker {
    pub(crate) ident: Ident,
}

/// Accepts a unit struct, a struct with no fields, or an enum whose variants
/// carry no fields, none of them generic. A generic struct with fields gets
/// both errors at once.
pub(crate) fn marker(attribute: Attribute, input: TokenStream) -> Result<Marker, Errors> {
    let item: Item = syn::parse2(input).map_err(Errors::from)?;
    let what = attribute.display();
    let mut errors = Errors::default();
    let (ident, generics) = match &item {
        Item::Struct(item) => {
            let has_fields = match &item.fields {
                Fields::Unit => false,
                Fields::Named(fields) => !fields.named.is_empty(),
                Fields::Unnamed(fields) => !fields.unnamed.is_empty(),
            };
            if has_fields {
                errors.push(syn::Error::new(
                    item.fields.span(),
                    format!(
                        "{what} goes on a unit struct such as `pub struct ModelMetadata;`; this struct has fields, but a region marker holds no data (the entries live in the cache)"
                    ),
                ));
            }
            (&item.ident, &item.generics)
        }
        Item::Enum(item) => {
            if let Some(variant) = item
                .variants
                .iter()
                .find(|v| !matches!(v.fields, Fields::Unit))
            {
                errors.push(syn::Error::new(
                    variant.fields.span(),
                    format!(
                        "{what} goes on a unit struct or an enum without fields; variant `{}` has fields, but a region marker holds no data (the entries live in the cache)",
                        variant.ident
                    ),
                ));
            }
            (&item.ident, &item.generics)
        }
        other => {
            return Err(Errors::from(syn::Error::new(
                item_keyword_span(other),
                format!(
                    "{what} goes on a unit struct such as `pub struct ModelMetadata;` (or an enum without fields), not on {}",
                    describe(other)
                ),
            )));
        }
    };
    if !generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            generics,
            format!(
                "{what} cannot go on a generic type: a region is one name with one key and one value type; declare one marker per region instead"
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Marker {
        ident: ident.clone(),
    })
}

/// Accepts a plain function with no parameters, no generics, not async.
pub(crate) fn provider_fn(input: TokenStream) -> syn::Result<ItemFn> {
    let item: Item = syn::parse2(input)?;
    let Item::Fn(function) = item else {
        return Err(syn::Error::new(
            item_keyword_span(&item),
            format!(
                "#[cache_config_provider] goes on a function such as `fn from_env() -> ConfigLayer`, not on {}",
                describe(&item)
            ),
        ));
    };
    Ok(function)
}

fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Fn(item) => item.sig.fn_token.span,
        Item::Struct(item) => item.struct_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Union(item) => item.union_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Impl(item) => item.impl_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Static(item) => item.static_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Use(item) => item.use_token.span,
        other => other.span(),
    }
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::Fn(_) => "a function",
        Item::Struct(_) => "a struct",
        Item::Enum(_) => "an enum",
        Item::Union(_) => "a union",
        Item::Trait(_) => "a trait",
        Item::Impl(_) => "an impl block",
        Item::Mod(_) => "a module",
        Item::Type(_) => "a type alias",
        Item::Static(_) => "a static",
        Item::Const(_) => "a constant",
        Item::Use(_) => "a use declaration",
        _ => "this item",
    }
}
