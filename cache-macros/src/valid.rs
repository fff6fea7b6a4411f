//! Checks that need more than one argument, or the item: required keys,
//! custom-region requirements, contradictions, provider signatures.

use proc_macro2::Span;
use syn::{ItemFn, ReturnType};

use cache_spec::attr::{Attribute, Key, RegionArgs, SpanRange};
use cache_spec::{Field, RegionSettings};

use crate::errors::Errors;

/// A key written with a bad value has already been reported, so only keys
/// not written at all are reported missing.
pub(crate) fn region(attribute: Attribute, args: &RegionArgs, errors: &mut Errors) {
    let what = attribute.display();
    let call_site = Span::call_site();
    if !args.wrote(Key::Name) {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs a name: add `name = \"my-region\"` (lowercase kebab-case, unique in the program)"),
        ));
    }
    if !args.wrote(Key::Key) {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs the key type: add `key = String` (or your key type)"),
        ));
    }
    if !args.wrote(Key::Value) {
        errors.push(syn::Error::new(
            call_site,
            format!("{what} needs the value type: add `value = MyValue`"),
        ));
    }
    if attribute == Attribute::CustomRegion && !args.wrote(Key::Policy) && !args.wrote(Key::Backend)
    {
        errors.push(syn::Error::new(
            call_site,
            "#[custom_cache_region] needs `policy = MyPolicy` or `backend = \"my-backend\"`; a region with neither is an ordinary one, so use #[cache_region]",
        ));
    }
    if args.options.sets_both_limits() {
        let span = later_of(args, Field::MaxEntries, Field::MaxBytes)
            .unwrap_or_else(|| SpanRange::single(call_site));
        errors.push(span.error(cache_spec::TWO_LIMITS));
    }
    let settings = RegionSettings::resolve(args.preset.as_ref().map(|p| p.value), &args.options);
    for conflict in settings.conflicts() {
        let [first, second] = conflict.fields();
        // On the option written last, the way a repeated key is reported at
        // its second occurrence; on the preset if it set both.
        let span = later_of(args, first, second)
            .or_else(|| args.preset.as_ref().map(|p| SpanRange::single(p.span)))
            .unwrap_or_else(|| SpanRange::single(call_site));
        let mut message = conflict.to_string();
        for field in [first, second] {
            // An unset backend is no default worth naming.
            if args.span_of(field).is_some() || field == Field::Backend {
                continue;
            }
            match &args.preset {
                Some(preset) => message.push_str(&format!(
                    " (`{}` comes from preset \"{}\")",
                    field.as_str(),
                    preset.value
                )),
                // Only `tier` can conflict without being set: `memory_ttl`
                // on a region that leaves the tier at its default.
                None => message.push_str(&format!(" (`{}` is the default)", field.as_str())),
            }
        }
        errors.push(span.error(message));
    }
}

/// Where the later written of two options is, key to value.
fn later_of(args: &RegionArgs, first: Field, second: Field) -> Option<SpanRange> {
    args.option_spans
        .iter()
        .rev()
        .find(|(field, _)| *field == first || *field == second)
        .map(|(_, range)| *range)
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
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a config provider cannot be generic: it is called with no type arguments; remove the parameters",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "a config provider takes no arguments: read what it needs (environment, files) inside the function",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
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
