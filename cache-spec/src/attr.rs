//! The parser of attribute arguments: `#[cache_region(...)]`,
//! `#[custom_cache_region(...)]` and `#[cache_config_provider(...)]`.
//!
//! Parsing never stops at the first problem: every argument is read, each bad
//! one yields a [`syn::Error`] on its own tokens, and the parser skips to the
//! next comma. The arguments that were valid are returned beside the errors,
//! so the proc-macro crate can report everything at once and `cache-build`
//! can read declarations out of source files.

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitBool, LitInt, LitStr, Path, Token, Type};

use crate::suggest::closest;
use crate::{
    Codec, Compression, Eviction, Field, Preset, RegionOptions, Tier, parse_duration, parse_size,
    validate_name,
};

/// The attribute whose arguments are parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// `#[cache_region]`
    Region,
    /// `#[custom_cache_region]`
    CustomRegion,
    /// `#[cache_config_provider]`
    Provider,
}

impl Attribute {
    /// The attribute as a user writes it, for messages.
    pub const fn display(self) -> &'static str {
        match self {
            Attribute::Region => "#[cache_region]",
            Attribute::CustomRegion => "#[custom_cache_region]",
            Attribute::Provider => "#[cache_config_provider]",
        }
    }

    /// The keys this attribute accepts, in documentation order.
    pub fn keys(self) -> &'static [Key] {
        const REGION: &[Key] = &[
            Key::Name,
            Key::Key,
            Key::Value,
            Key::Ttl,
            Key::Tti,
            Key::MemoryTtl,
            Key::MaxEntries,
            Key::MaxBytes,
            Key::Eviction,
            Key::Tier,
            Key::Preset,
            Key::Sensitive,
            Key::Compression,
            Key::CompressionThreshold,
            Key::Version,
            Key::Enabled,
            Key::FailSafe,
            Key::Description,
            Key::Crate,
        ];
        const CUSTOM: &[Key] = &[
            Key::Name,
            Key::Key,
            Key::Value,
            Key::Policy,
            Key::Backend,
            Key::Ttl,
            Key::Tti,
            Key::MemoryTtl,
            Key::MaxEntries,
            Key::MaxBytes,
            Key::Eviction,
            Key::Tier,
            Key::Preset,
            Key::Sensitive,
            Key::Compression,
            Key::CompressionThreshold,
            Key::Version,
            Key::Enabled,
            Key::FailSafe,
            Key::Description,
            Key::Crate,
        ];
        const PROVIDER: &[Key] = &[Key::Priority, Key::Name, Key::Crate];
        match self {
            Attribute::Region => REGION,
            Attribute::CustomRegion => CUSTOM,
            Attribute::Provider => PROVIDER,
        }
    }

    fn accepts(self, key: Key) -> bool {
        self.keys().contains(&key)
    }
}

macro_rules! keys {
    ($($variant:ident => $text:literal,)+) => {
        /// An argument key, compared as an identifier.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Key {
            $(#[doc = concat!("`", $text, "`")] $variant,)+
        }

        impl Key {
            /// Every key.
            pub const ALL: &'static [Key] = &[$(Key::$variant),+];

            /// The key as written.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Key::$variant => $text,)+
                }
            }

            fn from_ident(text: &str) -> Option<Key> {
                match text {
                    $($text => Some(Key::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

keys! {
    Name => "name",
    Key => "key",
    Value => "value",
    Ttl => "ttl",
    Tti => "tti",
    MemoryTtl => "memory_ttl",
    MaxEntries => "max_entries",
    MaxBytes => "max_bytes",
    Eviction => "eviction",
    Tier => "tier",
    Preset => "preset",
    Sensitive => "sensitive",
    Enabled => "enabled",
    FailSafe => "fail_safe",
    Compression => "compression",
    CompressionThreshold => "compression_threshold",
    Version => "version",
    Description => "description",
    Crate => "crate",
    Policy => "policy",
    Backend => "backend",
    Priority => "priority",
}

/// A value and the span of the tokens it was read from.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// The tokens an argument was read from, first to last, so that an error can
/// underline all of `max_bytes = "64MiB"` or `-5` (a stable proc macro cannot
/// join two spans into one).
#[derive(Clone, Copy, Debug)]
pub struct SpanRange {
    /// The first token.
    pub start: Span,
    /// The last token.
    pub end: Span,
}

impl SpanRange {
    /// One token.
    pub fn single(span: Span) -> SpanRange {
        SpanRange {
            start: span,
            end: span,
        }
    }

    /// An error underlining the whole range.
    pub fn error(self, message: impl std::fmt::Display) -> syn::Error {
        let mut start = Punct::new('<', Spacing::Alone);
        start.set_span(self.start);
        let mut end = Punct::new('>', Spacing::Alone);
        end.set_span(self.end);
        let tokens: TokenStream = [TokenTree::Punct(start), TokenTree::Punct(end)]
            .into_iter()
            .collect();
        syn::Error::new_spanned(tokens, message)
    }
}

/// The arguments of `#[cache_region]` or `#[custom_cache_region]` that parsed.
#[derive(Clone, Debug, Default)]
pub struct RegionArgs {
    /// `name = "..."`
    pub name: Option<Spanned<String>>,
    /// `key = Type`
    pub key: Option<Type>,
    /// `value = Type`
    pub value: Option<Type>,
    /// `preset = "..."`
    pub preset: Option<Spanned<Preset>>,
    /// The explicit options (compression threshold included).
    pub options: RegionOptions,
    /// Where each explicit option was written, from its key to the end of
    /// its value.
    pub option_spans: Vec<(Field, SpanRange)>,
    /// Every key written, whether or not its value was valid, so that a key
    /// with a bad value is not also reported as missing.
    pub written: Vec<Key>,
    /// `description = "..."`
    pub description: Option<Spanned<String>>,
    /// `crate = path`
    pub krate: Option<Path>,
    /// `policy = Type` (custom regions)
    pub policy: Option<Type>,
    /// `backend = "..."` (custom regions)
    pub backend: Option<Spanned<String>>,
}

impl RegionArgs {
    /// Where `field` was set explicitly: the span of its key.
    pub fn span_of(&self, field: Field) -> Option<Span> {
        self.range_of(field).map(|range| range.start)
    }

    /// Where `field` was set explicitly, from its key to the end of its value.
    pub fn range_of(&self, field: Field) -> Option<SpanRange> {
        self.option_spans
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, range)| *range)
    }

    /// Whether `key` was written, with a valid value or not.
    pub fn wrote(&self, key: Key) -> bool {
        self.written.contains(&key)
    }
}

/// The arguments of `#[cache_config_provider]` that parsed.
#[derive(Clone, Debug, Default)]
pub struct ProviderArgs {
    /// `priority = N`
    pub priority: Option<Spanned<i32>>,
    /// `name = "..."`
    pub name: Option<Spanned<String>>,
    /// `crate = path`
    pub krate: Option<Path>,
}

/// Parses the arguments of a region attribute. Returns what parsed and every
/// error found, each on its own tokens.
pub fn parse_region_args(
    attribute: Attribute,
    tokens: TokenStream,
) -> (RegionArgs, Vec<syn::Error>) {
    let mut args = RegionArgs::default();
    let mut threshold: Option<(u64, SpanRange)> = None;
    let (written, mut errors) = parse_with(attribute, tokens, |key, key_span, input| {
        read_region_key(&mut args, &mut threshold, key, key_span, input)
    });
    args.written = written;
    if let Some((threshold, range)) = threshold {
        match args.options.compression.as_mut() {
            Some(compression) if compression.codec != Codec::None => {
                compression.threshold = threshold;
            }
            other => {
                let codec = if other.is_some() {
                    "compression = \"none\" stores values uncompressed, so a threshold has nothing to apply to"
                } else {
                    "no `compression` is set"
                };
                errors.push(range.error(format!(
                    "`compression_threshold` needs a codec, but {codec}; add compression = \"lz4\" or compression = \"zstd\", or drop the threshold"
                )));
            }
        }
    }
    (args, errors)
}

/// Parses the arguments of `#[cache_config_provider]`.
pub fn parse_provider_args(tokens: TokenStream) -> (ProviderArgs, Vec<syn::Error>) {
    let mut args = ProviderArgs::default();
    let (_, errors) = parse_with(Attribute::Provider, tokens, |key, _, input| {
        match key {
            Key::Priority => args.priority = Some(read_i32(input, key)?),
            Key::Name => args.name = Some(read_name(input, key)?),
            Key::Crate => args.krate = Some(read_path(input)?),
            _ => unreachable!("the provider attribute accepts no other key"),
        }
        Ok(())
    });
    (args, errors)
}

fn read_region_key(
    args: &mut RegionArgs,
    threshold: &mut Option<(u64, SpanRange)>,
    key: Key,
    key_span: Span,
    input: ParseStream<'_>,
) -> syn::Result<()> {
    let options = &mut args.options;
    let field = match key {
        Key::Name => {
            args.name = Some(read_name(input, key)?);
            None
        }
        Key::Key => {
            args.key = Some(read_type(input, key)?);
            None
        }
        Key::Value => {
            args.value = Some(read_type(input, key)?);
            None
        }
        Key::Policy => {
            args.policy = Some(read_type(input, key)?);
            None
        }
        Key::Backend => {
            let backend = read_name(input, key)?;
            // Names are few and the macro runs once per declaration: the
            // name lives as long as the options that carry it.
            options.backend = Some(Some(Box::leak(backend.value.clone().into_boxed_str())));
            args.backend = Some(backend);
            Some(Field::Backend)
        }
        Key::Description => {
            let lit = read_str(input, key, "\"what this region holds\"")?;
            args.description = Some(Spanned {
                value: lit.value(),
                span: lit.span(),
            });
            None
        }
        Key::Crate => {
            args.krate = Some(read_path(input)?);
            None
        }
        Key::Preset => {
            let preset = read_keyword(
                input,
                key,
                Preset::parse,
                Preset::expected(),
                Preset::ALL.iter().map(|p| p.as_str()),
            )?;
            args.preset = Some(preset);
            None
        }
        Key::Ttl => {
            options.ttl = Some(read_duration(input, key)?);
            Some(Field::Ttl)
        }
        Key::Tti => {
            options.tti = Some(read_duration(input, key)?);
            Some(Field::Tti)
        }
        Key::MemoryTtl => {
            options.memory_ttl = Some(read_duration(input, key)?);
            Some(Field::MemoryTtl)
        }
        Key::MaxEntries => {
            options.max_entries = Some(read_u64(input, key)?.0);
            Some(Field::MaxEntries)
        }
        Key::MaxBytes => {
            options.max_bytes = Some(read_size(input, key)?);
            Some(Field::MaxBytes)
        }
        Key::CompressionThreshold => {
            let value = read_size(input, key)?;
            let range = SpanRange {
                start: key_span,
                end: input.cursor().prev_span(),
            };
            *threshold = Some((value, range));
            Some(Field::Compression)
        }
        Key::Eviction => {
            let eviction = read_keyword(
                input,
                key,
                Eviction::parse,
                Eviction::expected(),
                Eviction::ALL.iter().map(|e| e.as_str()),
            )?;
            options.eviction = Some(eviction.value);
            Some(Field::Eviction)
        }
        Key::Tier => {
            let tier = read_keyword(
                input,
                key,
                Tier::parse,
                Tier::expected(),
                Tier::ALL.iter().map(|t| t.as_str()),
            )?;
            options.tier = Some(tier.value);
            Some(Field::Tier)
        }
        Key::Compression => {
            let codec = read_keyword(
                input,
                key,
                Codec::parse,
                Codec::expected(),
                Codec::ALL.iter().map(|c| c.as_str()),
            )?;
            options.compression = Some(match codec.value {
                Codec::None => Compression::NONE,
                codec => Compression::new(codec),
            });
            Some(Field::Compression)
        }
        Key::Sensitive => {
            options.sensitive = Some(read_flag(input, key)?);
            Some(Field::Sensitive)
        }
        Key::Enabled => {
            options.enabled = Some(read_flag(input, key)?);
            Some(Field::Enabled)
        }
        Key::FailSafe => {
            options.fail_safe = Some(read_duration(input, key)?);
            Some(Field::FailSafe)
        }
        Key::Version => {
            let (version, range) = read_u64(input, key)?;
            let version = u32::try_from(version).map_err(|_| {
                range.error(format!("`version` is too large (at most {})", u32::MAX))
            })?;
            options.version = Some(version);
            Some(Field::Version)
        }
        Key::Priority => unreachable!("regions do not accept `priority`"),
    };
    if let Some(field) = field {
        let range = SpanRange {
            start: key_span,
            end: input.cursor().prev_span(),
        };
        args.option_spans.retain(|(f, _)| *f != field);
        args.option_spans.push((field, range));
    }
    Ok(())
}

/// Runs the shared argument loop: key, optional `= value`, comma; unknown and
/// repeated keys reported; every error collected. Returns the keys written
/// (valid or not) and the errors.
fn parse_with(
    attribute: Attribute,
    tokens: TokenStream,
    mut read: impl FnMut(Key, Span, ParseStream<'_>) -> syn::Result<()>,
) -> (Vec<Key>, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let mut seen: Vec<Key> = Vec::new();
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let ident = match input.call(Ident::parse_any) {
                Ok(ident) => ident,
                Err(_) => {
                    let span = input.span();
                    errors.push(syn::Error::new(
                        span,
                        format!(
                            "expected an option name; {} accepts {}",
                            attribute.display(),
                            key_list(attribute)
                        ),
                    ));
                    skip_to_comma(input);
                    let _ = input.parse::<Option<Token![,]>>();
                    continue;
                }
            };
            let text = ident.unraw().to_string();
            match Key::from_ident(&text).filter(|key| attribute.accepts(*key)) {
                None => {
                    errors.push(unknown_key(attribute, &ident, &text));
                    skip_to_comma(input);
                }
                Some(key) if seen.contains(&key) => {
                    errors.push(syn::Error::new(
                        ident.span(),
                        format!("`{text}` is given more than once; keep one"),
                    ));
                    skip_to_comma(input);
                }
                Some(key) => {
                    seen.push(key);
                    let result = if key == Key::Sensitive || input.peek(Token![=]) {
                        if key != Key::Sensitive || input.peek(Token![=]) {
                            input.parse::<Token![=]>()?;
                        }
                        if !key_is_flag(key) && (input.is_empty() || input.peek(Token![,])) {
                            Err(syn::Error::new(
                                ident.span(),
                                format!(
                                    "`{text}` needs a value after `=`: write `{text} = {}`",
                                    example(key)
                                ),
                            ))
                        } else {
                            read(key, ident.span(), input)
                        }
                    } else {
                        Err(syn::Error::new(
                            ident.span(),
                            format!("`{text}` needs a value: write `{text} = {}`", example(key)),
                        ))
                    };
                    if let Err(error) = result {
                        errors.push(error);
                        skip_to_comma(input);
                    }
                }
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else if starts_option(input) {
                // `name = "a" key = String`: report the missing comma and
                // read the next option anyway, so it is not reported missing.
                errors.push(syn::Error::new(
                    input.span(),
                    "expected `,` before this option: separate options with commas",
                ));
            } else {
                errors.push(syn::Error::new(
                    input.span(),
                    "unexpected tokens after the value; expected `,` and the next option",
                ));
                skip_to_comma(input);
                let _ = input.parse::<Option<Token![,]>>();
            }
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
    (seen, errors)
}

/// Whether the input continues with what looks like another option: a name
/// followed by `=`, `,` or the end.
fn starts_option(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.call(Ident::parse_any).is_ok()
        && (fork.is_empty() || fork.peek(Token![=]) || fork.peek(Token![,]))
}

fn key_is_flag(key: Key) -> bool {
    key == Key::Sensitive
}

fn example(key: Key) -> &'static str {
    match key {
        Key::Name => "\"model-metadata\"",
        Key::Key | Key::Value => "String",
        Key::Ttl | Key::Tti | Key::MemoryTtl => "\"5m\"",
        Key::MaxEntries => "10_000",
        Key::MaxBytes | Key::CompressionThreshold => "\"64MiB\"",
        Key::Eviction => "\"tinylfu\"",
        Key::Tier => "\"memory\"",
        Key::Preset => "\"temporary\"",
        Key::Sensitive => "true",
        Key::Enabled => "false",
        Key::FailSafe => "\"30s\"",
        Key::Compression => "\"zstd\"",
        Key::Version => "2",
        Key::Description => "\"what this region holds\"",
        Key::Crate => "my_cache_runtime",
        Key::Policy => "MyPolicy",
        Key::Backend => "\"my-backend\"",
        Key::Priority => "10",
    }
}

fn key_list(attribute: Attribute) -> String {
    let keys: Vec<String> = attribute
        .keys()
        .iter()
        .map(|k| format!("`{}`", k.as_str()))
        .collect();
    keys.join(", ")
}

fn unknown_key(attribute: Attribute, ident: &Ident, text: &str) -> syn::Error {
    let accepted = key_list(attribute);
    let message = match Key::from_ident(text) {
        Some(Key::Policy | Key::Backend) => format!(
            "`{text}` is only accepted by #[custom_cache_region]; use that attribute for a region with its own policy or backend"
        ),
        Some(Key::Priority) => format!(
            "{} does not accept `priority`: priorities order config providers, declared with #[cache_config_provider] (accepted: {accepted})",
            attribute.display()
        ),
        Some(key) if attribute == Attribute::Provider => format!(
            "#[cache_config_provider] does not accept `{}`: a provider sets region options in the `ConfigLayer` it returns (accepted: {accepted})",
            key.as_str()
        ),
        Some(key) => format!(
            "{} does not accept `{}` (accepted: {accepted})",
            attribute.display(),
            key.as_str()
        ),
        None => {
            let mut message = format!("unknown option `{text}` for {}", attribute.display());
            if let Some(close) = closest(text, attribute.keys().iter().map(|k| k.as_str())) {
                message.push_str(&format!("; did you mean `{close}`?"));
            }
            message.push_str(&format!(" (accepted: {accepted})"));
            message
        }
    };
    syn::Error::new(ident.span(), message)
}

fn skip_to_comma(input: ParseStream<'_>) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// The tokens of the value about to be read, up to the next comma, for an
/// error that underlines the whole value (`-5`, `"a" + "b"`).
fn value_range(input: ParseStream<'_>) -> SpanRange {
    let start = input.span();
    let mut end = start;
    let mut rest = input.cursor();
    while let Some((tree, next)) = rest.token_tree() {
        if matches!(&tree, TokenTree::Punct(p) if p.as_char() == ',') {
            break;
        }
        end = tree.span();
        rest = next;
    }
    SpanRange { start, end }
}

fn read_str(input: ParseStream<'_>, key: Key, example: &str) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        input.parse()
    } else {
        Err(value_range(input).error(format!(
            "`{}` takes a string, e.g. {} = {example}",
            key.as_str(),
            key.as_str()
        )))
    }
}

fn read_name(input: ParseStream<'_>, key: Key) -> syn::Result<Spanned<String>> {
    let lit = read_str(input, key, example(key))?;
    let value = lit.value();
    validate_name(&value).map_err(|error| {
        syn::Error::new(lit.span(), format!("invalid `{}`: {error}", key.as_str()))
    })?;
    Ok(Spanned {
        value,
        span: lit.span(),
    })
}

/// A type: `key = String`, `value = Vec<u8>`, `policy = MyPolicy`.
fn read_type(input: ParseStream<'_>, key: Key) -> syn::Result<Type> {
    let what = match key {
        Key::Key => "the type of the region's keys",
        Key::Value => "the type of the region's values",
        _ => "a type implementing `CachePolicy<Key, Value>` and `Default`",
    };
    let example = example(key);
    if input.peek(LitStr) {
        let range = value_range(input);
        let lit: LitStr = input.parse()?;
        let unquoted = lit.value();
        let unquoted = if syn::parse_str::<Type>(&unquoted).is_ok() {
            unquoted
        } else {
            example.to_owned()
        };
        return Err(range.error(format!(
            "`{}` takes {what}, written as a type, not a string: write `{} = {unquoted}`",
            key.as_str(),
            key.as_str(),
        )));
    }
    let range = value_range(input);
    input.parse().map_err(|_| {
        range.error(format!(
            "`{}` takes {what}, e.g. `{} = {example}`",
            key.as_str(),
            key.as_str(),
        ))
    })
}

fn read_duration(input: ParseStream<'_>, key: Key) -> syn::Result<std::time::Duration> {
    let name = key.as_str();
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{name}` takes a duration as a string with a unit: write {name} = \"{}s\" for seconds (units: ms, s, m, h, d)",
                lit.base10_digits()
            ),
        ));
    }
    let lit = read_str(input, key, "\"90s\"")?;
    let text = lit.value();
    parse_duration(&text).map_err(|error| {
        let mut message = format!("invalid `{name}`: {error}");
        if let crate::DurationError::UnknownUnit { unit } = &error
            && let Some(fixed) = fix_duration_unit(&text, unit)
        {
            message.push_str(&format!(" (did you mean \"{fixed}\"?)"));
        }
        syn::Error::new(lit.span(), message)
    })
}

/// `"5 mins"` -> `"5m"`: the duration with a spelled-out unit replaced by its
/// abbreviation, when that reads as a valid duration.
fn fix_duration_unit(text: &str, unit: &str) -> Option<String> {
    let short = match unit.to_ascii_lowercase().as_str() {
        "ms" | "millis" | "msec" | "msecs" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "d" | "day" | "days" => "d",
        _ => return None,
    };
    let fixed: String = text
        .replacen(unit, short, 1)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    parse_duration(&fixed).is_ok().then_some(fixed)
}

fn read_keyword<T>(
    input: ParseStream<'_>,
    key: Key,
    parse: fn(&str) -> Option<T>,
    expected: &str,
    spellings: impl Iterator<Item = &'static str> + Clone,
) -> syn::Result<Spanned<T>> {
    if !input.peek(LitStr) {
        return Err(value_range(input).error(format!(
            "`{}` takes a string, one of {expected}",
            key.as_str()
        )));
    }
    let lit: LitStr = input.parse()?;
    let text = lit.value();
    match parse(&text) {
        Some(value) => Ok(Spanned {
            value,
            span: lit.span(),
        }),
        None => {
            let mut message = format!(
                "unknown {} \"{text}\"; expected one of {expected}",
                key.as_str()
            );
            if let Some(close) = closest(&text, spellings) {
                message.push_str(&format!(" (did you mean \"{close}\"?)"));
            }
            Err(syn::Error::new(lit.span(), message))
        }
    }
}

/// An integer literal, or a negative one (reported, since no option takes
/// one), and the range of its tokens.
fn read_signed(input: ParseStream<'_>, key: Key) -> syn::Result<(bool, LitInt, SpanRange)> {
    if !(input.peek(LitInt) || (input.peek(Token![-]) && input.peek2(LitInt))) {
        return Err(value_range(input).error(format!(
            "`{}` takes an integer, e.g. {} = {}",
            key.as_str(),
            key.as_str(),
            example(key)
        )));
    }
    let minus: Option<Token![-]> = input.parse()?;
    let lit: LitInt = input.parse()?;
    let range = SpanRange {
        start: minus.map_or_else(|| lit.span(), |m| m.span),
        end: lit.span(),
    };
    Ok((minus.is_some(), lit, range))
}

fn read_u64(input: ParseStream<'_>, key: Key) -> syn::Result<(u64, SpanRange)> {
    let (negative, lit, range) = read_signed(input, key)?;
    let name = key.as_str();
    if negative {
        return Err(range.error(if key == Key::Version {
            format!("`{name}` cannot be negative; versions count up from 1")
        } else {
            format!(
                "`{name}` must be greater than zero, not negative, e.g. {name} = {}",
                example(key)
            )
        }));
    }
    let value: u64 = lit
        .base10_parse()
        .map_err(|_| range.error(format!("`{name}` is too large (at most {})", u64::MAX)))?;
    if value == 0 && key != Key::Version {
        return Err(range.error(format!(
            "`{name}` must be greater than zero, e.g. {name} = {}",
            example(key)
        )));
    }
    Ok((value, range))
}

fn read_i32(input: ParseStream<'_>, key: Key) -> syn::Result<Spanned<i32>> {
    let (negative, lit, range) = read_signed(input, key)?;
    let magnitude: i64 = lit.base10_parse().unwrap_or(i64::MAX);
    let value = if negative { -magnitude } else { magnitude };
    let value = i32::try_from(value).map_err(|_| {
        range.error(format!(
            "`{}` must be between {} and {} (an i32); providers with a higher priority override lower ones",
            key.as_str(),
            i32::MIN,
            i32::MAX
        ))
    })?;
    Ok(Spanned {
        value,
        span: range.start,
    })
}

fn read_size(input: ParseStream<'_>, key: Key) -> syn::Result<u64> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let text = lit.value();
        parse_size(&text).map_err(|error| {
            let mut message = format!("invalid `{}`: {error}", key.as_str());
            if let crate::SizeError::UnknownUnit { unit } = &error
                && let Some(fixed) = fix_size_unit(&text, unit)
            {
                message.push_str(&format!(" (did you mean {fixed}?)"));
            }
            syn::Error::new(lit.span(), message)
        })
    } else {
        read_u64(input, key).map(|(value, _)| value)
    }
}

/// `"64mb"` -> `"64MB" or "64MiB"`: the spellings a miscased unit stands for.
fn fix_size_unit(text: &str, unit: &str) -> Option<String> {
    let number = text.trim().strip_suffix(unit)?.trim_end();
    let upper = unit.to_ascii_uppercase();
    let fixes: Vec<String> = match upper.as_str() {
        "KB" | "MB" | "GB" | "TB" => vec![upper.clone(), format!("{}iB", &upper[..1])],
        "KIB" | "MIB" | "GIB" | "TIB" => vec![format!("{}iB", &upper[..1])],
        "BYTES" | "BYTE" => vec!["B".to_owned()],
        _ => return None,
    };
    let fixes: Vec<String> = fixes
        .into_iter()
        .map(|fixed| format!("{number}{fixed}"))
        .filter(|fixed| parse_size(fixed).is_ok())
        .map(|fixed| format!("\"{fixed}\""))
        .collect();
    (!fixes.is_empty()).then(|| fixes.join(" or "))
}

fn read_flag(input: ParseStream<'_>, key: Key) -> syn::Result<bool> {
    if key_is_flag(key) && (input.is_empty() || input.peek(Token![,])) {
        return Ok(true);
    }
    if input.peek(LitBool) {
        return Ok(input.parse::<LitBool>()?.value);
    }
    Err(value_range(input).error(if key_is_flag(key) {
        String::from(
            "`sensitive` takes `true` or `false`, or stands alone as a flag: write `sensitive` or `sensitive = true`",
        )
    } else {
        format!(
            "`{name}` takes `true` or `false`: write `{name} = {}`",
            example(key),
            name = key.as_str()
        )
    }))
}

fn read_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return lit.parse_with(Path::parse_mod_style);
    }
    let range = value_range(input);
    input.call(Path::parse_mod_style).map_err(|_| {
        range.error(
            "`crate` takes the path of the renamed cache-runtime dependency, e.g. crate = my_cache",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote_free::tokens;

    /// Builds a token stream from source text without the `quote` crate.
    mod quote_free {
        pub(super) fn tokens(text: &str) -> proc_macro2::TokenStream {
            text.parse().expect("test input is valid Rust tokens")
        }
    }

    fn messages(errors: &[syn::Error]) -> Vec<String> {
        errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_full_declaration_parses() {
        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(
                r#"name = "model-metadata", key = String, value = std::collections::HashMap<String, u32>,
                   ttl = "1h", tti = "10m", max_bytes = "64MiB", eviction = "lru", tier = "hybrid",
                   preset = "bulk", compression = "zstd", compression_threshold = "2KiB", version = 3,
                   description = "provider model lists", crate = ::renamed"#,
            ),
        );
        assert!(errors.is_empty(), "{:?}", messages(&errors));
        assert_eq!(
            args.name.map(|n| n.value).as_deref(),
            Some("model-metadata")
        );
        assert_eq!(args.options.max_bytes, Some(64 << 20));
        assert_eq!(
            args.options.compression,
            Some(Compression {
                codec: Codec::Zstd,
                threshold: 2048
            })
        );
        assert_eq!(args.options.version, Some(3));
        assert_eq!(args.preset.map(|p| p.value), Some(Preset::Bulk));
        assert!(args.value.is_some());
        assert!(args.krate.is_some());
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(
                r#"name = "Bad_Name", ttl = "5 mins", ttl = "5m", max_entries = 0, tier = "rediss", colour = "red", policy = P, sensitive"#,
            ),
        );
        let messages = messages(&errors);
        assert_eq!(messages.len(), 7, "{messages:#?}");
        assert!(messages[0].contains("try \"bad-name\""));
        assert!(messages[1].contains("unknown unit `mins`"));
        assert!(messages[2].contains("more than once"));
        assert!(messages[3].contains("greater than zero"));
        assert!(messages[4].contains("did you mean \"redis\""));
        assert!(messages[5].contains("unknown option `colour`"));
        assert!(messages[6].contains("only accepted by #[custom_cache_region]"));
        assert_eq!(
            args.options.sensitive,
            Some(true),
            "options after errors still parse"
        );
    }

    #[test]
    fn providers_take_negative_priorities() {
        let (args, errors) = parse_provider_args(tokens(r#"priority = -5, name = "env""#));
        assert!(errors.is_empty());
        assert_eq!(args.priority.map(|p| p.value), Some(-5));
        let (_, errors) = parse_provider_args(tokens("priority = 99999999999, ttl = \"5m\""));
        assert_eq!(errors.len(), 2, "{:?}", messages(&errors));
    }

    #[test]
    fn keys_with_bad_values_count_as_written() {
        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(r#"name = "Bad Name", key = "String", value = u8"#),
        );
        assert_eq!(errors.len(), 2, "{:?}", messages(&errors));
        assert!(args.name.is_none() && args.key.is_none());
        assert!(args.wrote(Key::Name) && args.wrote(Key::Key) && args.wrote(Key::Value));
        assert!(!args.wrote(Key::Ttl));
        assert!(messages(&errors)[1].contains("not a string: write `key = String`"));
    }

    #[test]
    fn a_missing_comma_does_not_swallow_the_next_option() {
        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(r#"name = "a" key = String, value = u8 sensitive"#),
        );
        assert_eq!(errors.len(), 2, "{:?}", messages(&errors));
        assert!(messages(&errors)[0].contains("expected `,`"));
        assert!(args.key.is_some());
        assert_eq!(args.options.sensitive, Some(true));
    }

    #[test]
    fn misspelt_units_get_the_right_spelling() {
        assert_eq!(fix_duration_unit("5 mins", "mins").as_deref(), Some("5m"));
        assert_eq!(
            fix_duration_unit("1 hour 30 mins", "hour").as_deref(),
            None,
            "only one unit is fixed at a time, and the rest must then parse"
        );
        assert_eq!(fix_duration_unit("2 Days", "Days").as_deref(), Some("2d"));
        assert_eq!(fix_duration_unit("5 fortnights", "fortnights"), None);
        assert_eq!(
            fix_size_unit("64mb", "mb").as_deref(),
            Some("\"64MB\" or \"64MiB\"")
        );
        assert_eq!(fix_size_unit("1 mib", "mib").as_deref(), Some("\"1MiB\""));
        assert_eq!(fix_size_unit("1 xb", "xb"), None);
    }

    #[test]
    fn memory_ttl_reads_like_ttl() {
        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(r#"name = "a", key = u8, value = u8, tier = "hybrid", memory_ttl = "5m""#),
        );
        assert!(errors.is_empty(), "{:?}", messages(&errors));
        assert_eq!(
            args.options.memory_ttl,
            Some(std::time::Duration::from_secs(300))
        );
        assert!(args.range_of(Field::MemoryTtl).is_some());
        let (_, errors) =
            parse_region_args(Attribute::CustomRegion, tokens(r#"memory_ttl = "90s""#));
        assert!(errors.is_empty(), "{:?}", messages(&errors));

        let (args, errors) = parse_region_args(
            Attribute::Region,
            tokens(r#"memory_ttl = "0s", memory_tll = "5m""#),
        );
        let messages = messages(&errors);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages[0].contains("invalid `memory_ttl`: duration must be greater than zero"),
            "{}",
            messages[0]
        );
        assert!(
            messages[1].contains("did you mean `memory_ttl`?"),
            "{}",
            messages[1]
        );
        assert!(messages[1].contains("`tti`, `memory_ttl`, `max_entries`"));
        assert!(args.wrote(Key::MemoryTtl) && args.options.memory_ttl.is_none());

        let (_, errors) = parse_region_args(Attribute::Region, tokens("memory_ttl = 5"));
        assert!(
            messages_of(&errors).contains("write memory_ttl = \"5s\""),
            "{:?}",
            messages_of(&errors)
        );
        let (_, errors) = parse_region_args(Attribute::Region, tokens(r#"memory_ttl = "5 mins""#));
        assert!(
            messages_of(&errors).contains("(did you mean \"5m\"?)"),
            "{:?}",
            messages_of(&errors)
        );
    }

    fn messages_of(errors: &[syn::Error]) -> String {
        messages(errors).join("\n")
    }

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(
            closest("tll", Attribute::Region.keys().iter().map(|k| k.as_str())),
            Some("ttl")
        );
        assert_eq!(
            closest(
                "max_entry",
                Attribute::Region.keys().iter().map(|k| k.as_str())
            ),
            Some("max_entries")
        );
        assert_eq!(
            closest(
                "zzzzzz",
                Attribute::Region.keys().iter().map(|k| k.as_str())
            ),
            None
        );
        assert_eq!(
            closest("security", Preset::ALL.iter().map(|p| p.as_str())),
            Some("security-critical"),
            "a unique prefix is suggested"
        );
        assert_eq!(
            closest("max", Attribute::Region.keys().iter().map(|k| k.as_str())),
            None,
            "an ambiguous prefix is not"
        );
    }
}
