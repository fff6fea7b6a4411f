//! `#[cache_region]` and `#[custom_cache_region]`.

use proc_macro2::TokenStream;

use cache_spec::attr::{Attribute, parse_region_args};

use crate::errors::Errors;
use crate::{expand, fallback, item, valid};

pub(crate) fn expand(attribute: Attribute, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (args, parse_errors) = parse_region_args(attribute, args);
    errors.extend(parse_errors);
    let marker = match item::marker(attribute, input.clone()) {
        Ok(marker) => Some(marker),
        Err(item_errors) => {
            errors.append(item_errors);
            None
        }
    };
    valid::region(attribute, &args, &mut errors);
    valid::types(&args, &mut errors);
    match (&marker, &args.key, &args.value, &args.name) {
        (Some(marker), Some(key), Some(value), Some(name)) if errors.is_empty() => {
            let generated = expand::region(&args, marker, key, value, &name.value, name.span);
            quote::quote!(#input #generated)
        }
        // A type already reported as unstorable is left out of the stub,
        // so it is not reported again by the compiler.
        _ => fallback::region(
            &errors,
            marker.as_ref(),
            args.key.as_ref().filter(|ty| valid::storable("key", ty)),
            args.value
                .as_ref()
                .filter(|ty| valid::storable("value", ty)),
            args.krate.as_ref(),
            input,
        ),
    }
}
