//! Checks that need more than one argument, or the item: required keys,
//! custom-region requirements, contradictions, provider signatures.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use cache_spec::attr::{Attribute, RegionArgs};
use cache_spec::{Field, RegionSettings};

use crate::errors::Errors;

pub(crate) fn region(attribute: Attribute, args: &RegionArgs, errors: &mut Errors) {
    let what = attribute.display();
    let call_site = Span::call_site();
    if args.name.is_none() {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs a name: add `name = \"my-region\"` (lowercase kebab-case, unique in the program)"),
        ));
    }
    if args.key.is_none() {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs the key type: add `key = String` (or your key type)"),
        ));
    }
    if args.value.is_none() {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs the value type: add `value = MyValue`"),
        ));
    }
    if attribute == Attribute::CustomRegion && args.policy.is_none() && args.backend.is_none() {
        errors.push(syn::Error::new(
            call_site,
            "#[custom_cache_region] needs `policy = MyPolicy` or `backend = \"my-backend\"`; a region with neither is an ordinary one, so use #[cache_region]",
        ));
    }
    if let (Some(_), Some(bytes)) = (args.options.max_entries, args.span_of(Field::MaxBytes)) {
        if args.options.max_bytes.is_some() {
            errors.push(syn::Error::new(
                bytes,
                "set `max_entries` or `max_bytes`, not both: a region is limited either by count or by weight",
            ));
        }
    }
    let settings = RegionSettings::resolve(args.preset.as_ref().map(|p| p.value), &args.options);
    for conflict in settings.conflicts() {
        let [first, second] = conflict.fields();
        let span = args
            .span_of(second)
            .or_else(|| args.span_of(first))
            .or_else(|| args.preset.as_ref().map(|p| p.span))
            .unwrap_or(call_site);
        let mut message = conflict.to_string();
        if let Some(preset) = &args.preset {
            for field in [first, second] {
                if args.span_of(field).is_none() {
                    message.push_str(&format!(
                        " (`{}` comes from preset \"{}\")",
                        field.as_str(),
                        preset.value
                    ));
                }
            }
        }
        errors.push(syn::Error::new(span, message));
    }
}

pub(crate) fn provider(function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new(
            asyncness.span,
            "a config provider cannot be async: providers run synchronously while configuration is assembled",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            "a config provider cannot be generic: it is called with no type arguments",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new(
            sig.inputs.span(),
            "a config provider takes no arguments: read what it needs (environment, files) inside the function",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.span(),
            "a config provider takes no arguments",
        ));
    }
    if let ReturnType::Default = sig.output {
        errors.push(syn::Error::new(
            sig.ident.span(),
            "a config provider must return `ConfigLayer` or `Result<ConfigLayer, E>`; add `-> cache_runtime::ConfigLayer`",
        ));
    }
}
