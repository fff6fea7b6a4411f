//! What the manager needs to know about a region's key and value types
//! beyond `Hash + Eq + Clone`: a text form of keys (for patterns, events,
//! file names), serde for tools and persisted tiers, and a weigher.
//!
//! `#[cache_region]` knows the concrete types, so it picks these with
//! associated constants ([`Pick`]): a constant of an inherent impl whose
//! bounds need serde (or `Display`, or [`CacheWeight`]) is chosen over the
//! trait constant of the same name when the bounds hold, so a region gets
//! serde support exactly when its types implement the traits, without a
//! bound on every region.

use std::any::TypeId;
use std::fmt::Display;
use std::hash::Hash;
use std::io;
use std::marker::PhantomData;
use std::mem::size_of;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use self::direct::Direct;
use crate::envelope::ValueFormat;
use crate::manager::CacheError;
use crate::manager::opening::{ErasedStore, StoreContext, open_erased};

mod direct;

/// A value that knows how many bytes it weighs, for regions limited by
/// `max_bytes`. Without it, a region's weigher counts a value's serde_json
/// size when the type implements `Serialize`, and `size_of` otherwise.
///
/// ```
/// use cache_runtime::manager::CacheWeight;
///
/// struct Blob(Vec<u8>);
///
/// impl CacheWeight for Blob {
///     fn cache_weight(&self) -> u64 {
///         self.0.len() as u64
///     }
/// }
/// ```
pub trait CacheWeight {
    /// This value's weight in bytes.
    fn cache_weight(&self) -> u64;
}

/// serde functions for one type, as plain function pointers.
pub struct SerdeFns<T> {
    pub(crate) to_json: fn(&T) -> Result<Value, serde_json::Error>,
    pub(crate) from_json: fn(Value) -> Result<T, serde_json::Error>,
    /// The value persisted in a format (`None` when serde fails, or for a
    /// format this build leaves out).
    pub(crate) encode: fn(&T, ValueFormat) -> Option<Vec<u8>>,
    /// A persisted value read back (`None` when it does not deserialize).
    pub(crate) decode: fn(&[u8], ValueFormat) -> Option<T>,
    /// [`SerdeFns::decode`] of the bytes at a range of a buffer it owns,
    /// which a `Vec<u8>` value takes over instead of copying.
    pub(crate) decode_owned: fn(Vec<u8>, Range<usize>, ValueFormat) -> Option<T>,
}

impl<T> Clone for SerdeFns<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SerdeFns<T> {}

impl<T: Serialize + DeserializeOwned + 'static> SerdeFns<T> {
    /// serde_json for `T`.
    pub const fn json() -> SerdeFns<T> {
        SerdeFns {
            to_json: |value| serde_json::to_value(value),
            from_json: |json| serde_json::from_value(json),
            encode: encode::<T>,
            decode: decode::<T>,
            decode_owned: decode_owned::<T>,
        }
    }
}

fn encode<T: Serialize + 'static>(value: &T, format: ValueFormat) -> Option<Vec<u8>> {
    match format {
        ValueFormat::Json => serde_json::to_vec(value).ok(),
        ValueFormat::Binary => {
            direct::encode_bytes(value).or_else(|| postcard::to_allocvec(value).ok())
        }
        _ => None,
    }
}

fn decode<T: DeserializeOwned + 'static>(bytes: &[u8], format: ValueFormat) -> Option<T> {
    match format {
        ValueFormat::Json => serde_json::from_slice(bytes).ok(),
        ValueFormat::Binary => match direct::decode_bytes(bytes) {
            Direct::Decoded(value) => value,
            Direct::NotBytes => postcard::from_bytes(bytes).ok(),
        },
        _ => None,
    }
}

fn decode_owned<T: DeserializeOwned + 'static>(
    buffer: Vec<u8>,
    value: Range<usize>,
    format: ValueFormat,
) -> Option<T> {
    if format == ValueFormat::Binary && direct::is_bytes::<T>() {
        return direct::take_bytes(buffer, value);
    }
    decode(buffer.get(value)?, format)
}

/// How a region's keys and values are weighed, shown and persisted.
/// `#[cache_region]` builds it from what the types implement; for regions
/// registered by hand, [`RegionCodecs::plain`] or [`RegionCodecs::serde`].
pub struct RegionCodecs<K, V> {
    pub(crate) key_text: Option<fn(&K) -> String>,
    pub(crate) key_serde: Option<SerdeFns<K>>,
    pub(crate) value_serde: Option<SerdeFns<V>>,
    pub(crate) weigh: fn(&K, &V) -> u32,
}

impl<K, V> Clone for RegionCodecs<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for RegionCodecs<K, V> {}

impl<K, V> RegionCodecs<K, V> {
    /// No text form, no serde: the memory tier only, no patterns, no
    /// browsing; weights are `size_of` the key and value.
    pub fn plain() -> RegionCodecs<K, V> {
        RegionCodecs {
            key_text: None,
            key_serde: None,
            value_serde: None,
            weigh: weigh_size_of::<K, V>,
        }
    }

    /// Whether values can be persisted and shown (the value type has serde).
    pub fn has_value_serde(&self) -> bool {
        self.value_serde.is_some()
    }

    /// Whether keys have a text form (for patterns, events, files).
    pub fn has_key_text(&self) -> bool {
        self.key_text.is_some()
    }
}

impl<K, V> RegionCodecs<K, V>
where
    K: Serialize + DeserializeOwned + 'static,
    V: Serialize + DeserializeOwned + 'static,
{
    /// serde_json for keys and values; keys' text form from their JSON
    /// (a string key is its own text); weights from the JSON size.
    pub fn serde() -> RegionCodecs<K, V> {
        RegionCodecs {
            key_text: Some(key_text_serde::<K>),
            key_serde: Some(SerdeFns::json()),
            value_serde: Some(SerdeFns::json()),
            weigh: weigh_serde::<K, V>,
        }
    }
}

/// The text form of a key from its JSON: a string is itself, a number or a
/// boolean its literal, anything else its compact JSON.
pub(crate) fn text_of_json(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn key_text_serde<K: Serialize + 'static>(key: &K) -> String {
    if let Some(text) = direct::key_text(key) {
        return text;
    }
    match serde_json::to_value(key) {
        // A string key's text is the string itself: moved, not copied.
        Ok(Value::String(text)) => text,
        Ok(value) => text_of_json(&value),
        // A Serialize impl that fails (a map with non-string keys...):
        // no better text than the type's name.
        Err(_) => String::from("<unserializable key>"),
    }
}

fn key_text_display<K: Display>(key: &K) -> String {
    key.to_string()
}

/// Counts bytes written, to weigh a value by its serialized size without
/// keeping the bytes.
struct Count(u64);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn saturate(weight: u64) -> u32 {
    u32::try_from(weight).unwrap_or(u32::MAX).max(1)
}

fn serde_size<T: Serialize>(value: &T) -> u64 {
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => size_of::<T>() as u64,
    }
}

fn weigh_size_of<K, V>(_: &K, _: &V) -> u32 {
    saturate((size_of::<K>() + size_of::<V>()) as u64)
}

fn weigh_serde<K, V: Serialize>(_: &K, value: &V) -> u32 {
    saturate(size_of::<K>() as u64 + serde_size(value))
}

fn weigh_trait<K, V: CacheWeight>(_: &K, value: &V) -> u32 {
    saturate(size_of::<K>() as u64 + value.cache_weight())
}

/// Opens a region's typed store from its codecs.
type OpenFn = fn(&StoreContext, &dyn std::any::Any) -> Result<Arc<dyn ErasedStore>, CacheError>;

/// Opens a region's typed store; what a declaration's kit function returns.
pub struct RegionKit {
    pub(crate) key_type: TypeId,
    pub(crate) value_type: TypeId,
    key_name: &'static str,
    value_name: &'static str,
    pub(crate) open: OpenFn,
    pub(crate) codecs: Box<dyn std::any::Any + Send + Sync>,
    copy: fn(&dyn std::any::Any) -> Box<dyn std::any::Any + Send + Sync>,
}

fn copy_codecs<K: 'static, V: 'static>(
    codecs: &dyn std::any::Any,
) -> Box<dyn std::any::Any + Send + Sync> {
    match codecs.downcast_ref::<RegionCodecs<K, V>>() {
        Some(codecs) => Box::new(*codecs),
        None => Box::new(RegionCodecs::<K, V>::plain()),
    }
}

/// What a region's key type must be: hashed and compared to find entries,
/// cloned into them, shared across threads, owning its data. Every type
/// that is all of that is one; the trait exists so that a declaration with
/// another type gets this message rather than a bound deep in the runtime.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a cache region's key type",
    label = "not usable as a region key",
    note = "a key must be `Hash + Eq + Clone + Send + Sync + 'static`: derive `Hash, PartialEq, Eq, Clone` for it, or use an owned key such as `String`, an integer id or an enum"
)]
pub trait RegionKey: Hash + Eq + Clone + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + Send + Sync + 'static> RegionKey for T {}

/// What a region's value type must be: cloned out on every get, shared
/// across threads, owning its data (see [`RegionKey`] for why a trait).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a cache region's value type",
    label = "not usable as a region value",
    note = "a get hands out a copy of the cached value, so a value must be `Clone + Send + Sync + 'static`: derive `Clone`, or wrap the value in `Arc` (`value = Arc<{Self}>`) to share one instance"
)]
pub trait RegionValue: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> RegionValue for T {}

impl RegionKit {
    /// The kit of a region with keys `K` and values `V`.
    pub fn new<K: RegionKey, V: RegionValue>(codecs: RegionCodecs<K, V>) -> RegionKit {
        RegionKit {
            key_type: TypeId::of::<K>(),
            value_type: TypeId::of::<V>(),
            key_name: std::any::type_name::<K>(),
            value_name: std::any::type_name::<V>(),
            open: open_erased::<K, V>,
            codecs: Box::new(codecs),
            copy: copy_codecs::<K, V>,
        }
    }

    pub(crate) fn open(&self, context: &StoreContext) -> Result<Arc<dyn ErasedStore>, CacheError> {
        (self.open)(context, &*self.codecs)
    }

    /// Whether this kit is for keys `K` and values `V`.
    pub(crate) fn is_for<K: 'static, V: 'static>(&self) -> bool {
        self.key_type == TypeId::of::<K>() && self.value_type == TypeId::of::<V>()
    }

    /// The key and value types' names, as `std::any::type_name` spells them.
    pub(crate) fn type_names(&self) -> (&'static str, &'static str) {
        (self.key_name, self.value_name)
    }

    /// A copy (the codecs are function pointers).
    pub(crate) fn clone_kit(&self) -> RegionKit {
        RegionKit {
            key_type: self.key_type,
            value_type: self.value_type,
            key_name: self.key_name,
            value_name: self.value_name,
            open: self.open,
            codecs: (self.copy)(&*self.codecs),
            copy: self.copy,
        }
    }
}

/// What a declaration's kit is made of, chosen by associated constants:
/// each `Pick::<K, V>::X` below is the inherent constant when its bound
/// holds, else the `None` default of [`Fallbacks`], which the expansion
/// imports. The constants
/// are chosen by path, one lookup each, with the declaration's concrete
/// types.
pub struct Pick<K, V>(PhantomData<fn() -> (K, V)>);

impl<K: Serialize + 'static, V> Pick<K, V> {
    /// The key's text from its JSON.
    pub const KEY_TEXT_SERDE: Option<fn(&K) -> String> = Some(key_text_serde::<K>);
}

impl<K: Display, V> Pick<K, V> {
    /// The key's text from `Display`.
    pub const KEY_TEXT_DISPLAY: Option<fn(&K) -> String> = Some(key_text_display::<K>);
}

impl<K: Serialize + DeserializeOwned + 'static, V> Pick<K, V> {
    /// The key's serde functions.
    pub const KEY_SERDE: Option<SerdeFns<K>> = Some(SerdeFns::json());
}

impl<K, V: Serialize + DeserializeOwned + 'static> Pick<K, V> {
    /// The value's serde functions.
    pub const VALUE_SERDE: Option<SerdeFns<V>> = Some(SerdeFns::json());
}

impl<K, V: CacheWeight> Pick<K, V> {
    /// The value's own weight.
    pub const WEIGH_TRAIT: Option<fn(&K, &V) -> u32> = Some(weigh_trait::<K, V>);
}

impl<K, V: Serialize> Pick<K, V> {
    /// The value's weight from its JSON size.
    pub const WEIGH_SERDE: Option<fn(&K, &V) -> u32> = Some(weigh_serde::<K, V>);
}

/// What [`Pick`] falls back to when an inherent constant's bound does not
/// hold: none of each. One trait, imported once by the expansion, so each
/// constant is looked up against one trait rather than six.
pub trait Fallbacks<K, V> {
    /// No serde text for the key.
    const KEY_TEXT_SERDE: Option<fn(&K) -> String> = None;
    /// No `Display` text for the key.
    const KEY_TEXT_DISPLAY: Option<fn(&K) -> String> = None;
    /// No serde for the key.
    const KEY_SERDE: Option<SerdeFns<K>> = None;
    /// No serde for the value.
    const VALUE_SERDE: Option<SerdeFns<V>> = None;
    /// No [`CacheWeight`] for the value.
    const WEIGH_TRAIT: Option<fn(&K, &V) -> u32> = None;
    /// No serde weight for the value.
    const WEIGH_SERDE: Option<fn(&K, &V) -> u32> = None;
}
impl<K, V> Fallbacks<K, V> for Pick<K, V> {}

impl<K, V> RegionCodecs<K, V> {
    /// The codecs from what [`Pick`] found, in order of preference: key
    /// text from serde, else `Display`; weight from [`CacheWeight`], else
    /// the JSON size, else `size_of`.
    #[doc(hidden)]
    pub fn __picked(
        key_text_serde: Option<fn(&K) -> String>,
        key_text_display: Option<fn(&K) -> String>,
        key_serde: Option<SerdeFns<K>>,
        value_serde: Option<SerdeFns<V>>,
        weigh_trait: Option<fn(&K, &V) -> u32>,
        weigh_serde: Option<fn(&K, &V) -> u32>,
    ) -> RegionCodecs<K, V> {
        RegionCodecs {
            key_text: key_text_serde.or(key_text_display),
            key_serde,
            value_serde,
            weigh: weigh_trait.or(weigh_serde).unwrap_or(weigh_size_of::<K, V>),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;
    struct Heavy;
    impl CacheWeight for Heavy {
        fn cache_weight(&self) -> u64 {
            1_000
        }
    }

    #[derive(Serialize, serde::Deserialize)]
    struct Id(u64);

    #[test]
    fn picks_choose_what_the_types_support() {
        macro_rules! pick {
            ($k:ty, $v:ty) => {{
                type P = Pick<$k, $v>;
                RegionCodecs::__picked(
                    P::KEY_TEXT_SERDE,
                    P::KEY_TEXT_DISPLAY,
                    P::KEY_SERDE,
                    P::VALUE_SERDE,
                    P::WEIGH_TRAIT,
                    P::WEIGH_SERDE,
                )
            }};
        }
        let codecs = pick!(String, Vec<u8>);
        assert_eq!(
            (codecs.key_text.expect("serde"))(&"user:1".to_owned()),
            "user:1"
        );
        assert!(codecs.key_serde.is_some() && codecs.value_serde.is_some());
        assert_eq!((codecs.weigh)(&String::new(), &vec![1, 2, 3]), 24 + 7);

        let codecs = pick!(Id, Opaque);
        assert_eq!((codecs.key_text.expect("serde"))(&Id(42)), "42");
        assert!(codecs.value_serde.is_none());
        assert_eq!((codecs.weigh)(&Id(1), &Opaque), 8);

        let codecs = pick!(std::net::Ipv4Addr, Heavy);
        assert_eq!(
            (codecs.key_text.expect("text"))(&[10, 0, 0, 1].into()),
            "10.0.0.1"
        );
        assert_eq!((codecs.weigh)(&[10, 0, 0, 1].into(), &Heavy), 1_004);

        let codecs = pick!(Opaque, Opaque);
        assert!(codecs.key_text.is_none() && codecs.key_serde.is_none());

        // Display without serde: the text comes from Display.
        struct Shown;
        impl Display for Shown {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("shown")
            }
        }
        let codecs = pick!(Shown, Opaque);
        assert_eq!((codecs.key_text.expect("display"))(&Shown), "shown");
        assert!(codecs.key_serde.is_none());
    }

    #[test]
    fn key_text_of_json_values() {
        assert_eq!(text_of_json(&Value::from("a b")), "a b");
        assert_eq!(text_of_json(&Value::from(7)), "7");
        assert_eq!(text_of_json(&serde_json::json!({"t": 1})), "{\"t\":1}");
    }
}
