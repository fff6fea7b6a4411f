//! `#[cache_config_provider]`.

use proc_macro2::TokenStream;

use cache_spec::attr::parse_provider_args;
use cache_spec::{to_kebab_case, validate_name};

use crate::enclosing::{Block, block_of};
use crate::errors::Errors;
use crate::{expand, fallback, item, valid};

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (args, parse_errors) = parse_provider_args(args);
    errors.extend(parse_errors);
    let function = match item::provider_fn(input.clone()) {
        Ok(function) => Some(function),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let Some(function) = function else {
        return fallback::item(&errors, input);
    };
    valid::provider(&function, &mut errors);
    if errors.is_empty() {
        free_function(&function, &mut errors);
    }
    let name_span = args
        .name
        .as_ref()
        .map_or_else(|| function.sig.ident.span(), |name| name.span);
    let name = match &args.name {
        Some(name) => name.value.clone(),
        None => {
            let name = to_kebab_case(&function.sig.ident.to_string());
            if let Err(error) = validate_name(&name) {
                errors.push(syn::Error::new(
                    function.sig.ident.span(),
                    format!("cannot derive a provider name from this function ({error}); add `name = \"...\"`"),
                ));
            }
            name
        }
    };
    if !errors.is_empty() {
        return fallback::item(&errors, input);
    }
    let generated = expand::provider(&args, &function, &name, name_span);
    quote::quote!(#input #generated)
}

/// An associated function looks like a free one to the attribute; its
/// source file tells them apart (see `enclosing`).
fn free_function(function: &syn::ItemFn, errors: &mut Errors) {
    let ident = &function.sig.ident;
    let inside = match block_of(ident.span()) {
        Some(Block::Impl) => "an `impl` block",
        Some(Block::Trait) => "a trait",
        _ => return,
    };
    errors.push(syn::Error::new(
        ident.span(),
        format!(
            "a config provider must be a free function (a `fn` at module level), not an associated function of {inside}: \
             move `fn {ident}` out of it, to module level"
        ),
    ));
}
