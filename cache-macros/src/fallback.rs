//! What an attribute emits when its input is wrong: every error, the item
//! unchanged, and for a region marker an impl of `CacheRegion` pointing at a
//! placeholder, so code that uses the marker does not cascade into more
//! errors than the one to fix.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Path;

use crate::errors::Errors;
use crate::expand::{Facade, facade};
use crate::item::Marker;

pub(crate) fn region(
    errors: &Errors,
    marker: Option<&Marker>,
    key: Option<&syn::Type>,
    value: Option<&syn::Type>,
    krate: Option<&Path>,
    input: TokenStream,
) -> TokenStream {
    let compile_errors = errors.to_compile_errors();
    let stub = marker.map(|marker| {
        let Facade {
            private, import, ..
        } = facade(krate);
        let ident = &marker.ident;
        let key = key.map(|k| quote!(#k)).unwrap_or_else(|| quote!(()));
        let value = value.map(|v| quote!(#v)).unwrap_or_else(|| quote!(()));
        quote! {
            #[doc(hidden)]
            const _: () = {
                #import

                #[automatically_derived]
                impl #private::CacheRegion for #ident {
                    type Key = #key;
                    type Value = #value;
                    const DESCRIPTOR: &'static #private::RegionDescriptor = &#private::INVALID_REGION;
                }
            };
        }
    });
    quote! {
        #compile_errors
        #input
        #stub
    }
}

pub(crate) fn item(errors: &Errors, input: TokenStream) -> TokenStream {
    let compile_errors = errors.to_compile_errors();
    quote! {
        #compile_errors
        #input
    }
}
