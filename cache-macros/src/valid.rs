//! Checks that need more than one argument, or the item: required keys,
//! custom-region requirements, contradictions, provider signatures.

use proc_macro2::Span;
use syn::{FnArg, ItemFn, ReturnType, Type};

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

/// The key and value types' shapes: what no region can store, said on the
/// type with what to write instead (before the compiler's bound errors).
pub(crate) fn types(args: &RegionArgs, errors: &mut Errors) {
    for (role, ty) in [("key", &args.key), ("value", &args.value)] {
        if let Some(ty) = ty
            && let Some(message) = unstorable(role, ty)
        {
            errors.push(syn::Error::new_spanned(ty, message));
        }
    }
}

/// Whether a region can hold `ty` as its `role` type, as far as its shape
/// tells.
pub(crate) fn storable(role: &str, ty: &Type) -> bool {
    unstorable(role, ty).is_none()
}

/// Why a region cannot hold `ty` as its `role` type, if it cannot.
fn unstorable(role: &str, ty: &Type) -> Option<String> {
    match ty {
        Type::Paren(inner) => unstorable(role, &inner.elem),
        Type::Group(inner) => unstorable(role, &inner.elem),
        Type::TraitObject(_) => Some(match role {
            "key" => String::from(
                "a region's key cannot be a trait object (`dyn Trait`): keys are stored by value and hashed; use a concrete key type (`String`, an id, an enum)",
            ),
            _ => String::from(
                "a region's value cannot be a bare trait object (`dyn Trait`): values are stored by value and cloned on each get; write `Arc<dyn Trait>` (e.g. `value = Arc<dyn Trait + Send + Sync>`)",
            ),
        }),
        Type::ImplTrait(_) => Some(format!(
            "a region's {role} type cannot be `impl Trait`: name the concrete type (or use `Arc<dyn Trait>` for a value)"
        )),
        Type::Slice(_) => Some(format!(
            "a region's {role} type cannot be an unsized slice (`[T]`): use `Vec<T>` or `Arc<[T]>`"
        )),
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => Some(format!(
            "a region's {role} type cannot be `str` (unsized): use `String` or `Arc<str>`"
        )),
        Type::Reference(reference)
            if reference
                .lifetime
                .as_ref()
                .is_none_or(|lifetime| lifetime.ident != "static") =>
        {
            let owned = match &*reference.elem {
                Type::Path(path) if path.path.is_ident("str") => "`String` or `&'static str`",
                Type::Slice(_) => "`Vec<T>` or `&'static [T]`",
                _ => "an owned type, or a `&'static` reference",
            };
            Some(format!(
                "a region's {role} cannot borrow: entries outlive the call that stores them; use {owned}"
            ))
        }
        _ => None,
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
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new(
            unsafety.span,
            "a config provider cannot be an `unsafe fn`: the registry calls it as a safe function; make it safe and put what needs `unsafe` in an `unsafe { ... }` block inside",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "a config provider cannot have an `extern` ABI: write a plain Rust `fn`",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        errors.push(syn::Error::new_spanned(
            receiver,
            "a config provider must be a free function (a `fn` at module level), not a method: move it out of the `impl` block and drop the `self` parameter",
        ));
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(role: &str, ty: &str) -> Option<String> {
        unstorable(role, &syn::parse_str::<Type>(ty).expect("a type"))
    }

    #[test]
    fn unstorable_shapes_say_what_to_write() {
        for (role, ty, expected) in [
            ("value", "dyn Shape", "Arc<dyn Trait>"),
            ("key", "dyn Shape", "concrete key type"),
            ("key", "&str", "`String` or `&'static str`"),
            ("key", "&'a [u8]", "`Vec<T>` or `&'static [T]`"),
            ("value", "str", "`String` or `Arc<str>`"),
            ("value", "[u8]", "`Vec<T>` or `Arc<[T]>`"),
            ("value", "impl Clone", "name the concrete type"),
            ("value", "(dyn Shape)", "Arc<dyn Trait>"),
        ] {
            let message = check(role, ty).unwrap_or_default();
            assert!(message.contains(expected), "{role} {ty}: {message}");
        }
        for ty in [
            "&'static str",
            "String",
            "Arc<dyn Shape + Send + Sync>",
            "Vec<u8>",
            "(u32, String)",
        ] {
            assert_eq!(check("key", ty), None, "{ty}");
        }
    }
}
