//! Building attribute lists: [`kv_pairs!`](crate::kv_pairs) and the
//! conversions it accepts.

use opentelemetry::{Key, StringValue, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A value that can be an attribute (label) value: integers of any width,
/// floats, `bool`, and strings. Used by [`kv_pairs!`](crate::kv_pairs).
///
/// Unsigned integers above `i64::MAX` become strings, so nothing is wrapped.
pub trait IntoAttributeValue {
    /// Whether the value may own heap memory (a `String`), so that the
    /// attribute list must run its destructors. `false` lets `kv_pairs!`
    /// skip them.
    const NEEDS_DROP: bool = true;

    /// The OpenTelemetry value.
    fn into_attribute_value(self) -> Value;
}

/// A key `kv_pairs!` accepts: `&'static str` (no destructor to run), or an
/// owned string.
pub trait IntoAttributeKey {
    /// Whether the key may own heap memory.
    const NEEDS_DROP: bool = true;

    /// The OpenTelemetry key.
    fn into_attribute_key(self) -> Key;
}

impl IntoAttributeKey for &'static str {
    const NEEDS_DROP: bool = false;
    #[inline]
    fn into_attribute_key(self) -> Key {
        Key::from_static_str(self)
    }
}

impl IntoAttributeKey for String {
    #[inline]
    fn into_attribute_key(self) -> Key {
        Key::from(self)
    }
}

impl IntoAttributeKey for Arc<str> {
    #[inline]
    fn into_attribute_key(self) -> Key {
        Key::from(self)
    }
}

impl IntoAttributeKey for Cow<'static, str> {
    #[inline]
    fn into_attribute_key(self) -> Key {
        Key::from(self)
    }
}

impl IntoAttributeKey for Key {
    #[inline]
    fn into_attribute_key(self) -> Key {
        self
    }
}

/// The attribute list `kv_pairs!` builds. When every key and value is
/// static (string literals, numbers, `bool`), nothing in it owns memory and
/// its destructors are skipped: they are most of the cost of a short list.
#[doc(hidden)]
pub struct AttributeList<const N: usize> {
    items: std::mem::ManuallyDrop<[opentelemetry::KeyValue; N]>,
    needs_drop: bool,
}

impl<const N: usize> AttributeList<N> {
    #[doc(hidden)]
    #[inline(always)]
    pub fn new(items: [opentelemetry::KeyValue; N], needs_drop: bool) -> Self {
        AttributeList {
            items: std::mem::ManuallyDrop::new(items),
            needs_drop,
        }
    }
}

impl<const N: usize> std::ops::Deref for AttributeList<N> {
    type Target = [opentelemetry::KeyValue];
    #[inline(always)]
    fn deref(&self) -> &[opentelemetry::KeyValue] {
        &self.items[..]
    }
}

impl<const N: usize> Drop for AttributeList<N> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.needs_drop {
            drop_items(&mut self.items);
        }
    }
}

/// The destructors of a list that owns memory, out of line so that the
/// static case inlines to a test of `needs_drop`.
#[cold]
#[inline(never)]
fn drop_items<const N: usize>(items: &mut std::mem::ManuallyDrop<[opentelemetry::KeyValue; N]>) {
    // SAFETY: called once, from `Drop`, and the items are never used again.
    unsafe { std::mem::ManuallyDrop::drop(items) }
}

/// `NEEDS_DROP` of a value's type, from a reference to the value.
#[doc(hidden)]
#[inline(always)]
pub const fn value_needs_drop<T: IntoAttributeValue>(_: &T) -> bool {
    T::NEEDS_DROP
}

/// `NEEDS_DROP` of a key's type, from a reference to the key.
#[doc(hidden)]
#[inline(always)]
pub const fn key_needs_drop<T: IntoAttributeKey>(_: &T) -> bool {
    T::NEEDS_DROP
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl IntoAttributeValue for $t {
            const NEEDS_DROP: bool = false;
            #[inline]
            fn into_attribute_value(self) -> Value {
                Value::I64(self as i64)
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_values {
    ($($t:ty),*) => {$(
        impl IntoAttributeValue for $t {
            // A value above i64::MAX becomes an owned string.
            const NEEDS_DROP: bool = true;
            #[inline]
            fn into_attribute_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                }
            }
        }
    )*};
}
wide_values!(u64, usize, isize, u128, i128);

impl IntoAttributeValue for f64 {
    const NEEDS_DROP: bool = false;
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::F64(self)
    }
}

impl IntoAttributeValue for f32 {
    const NEEDS_DROP: bool = false;
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::F64(self as f64)
    }
}

impl IntoAttributeValue for bool {
    const NEEDS_DROP: bool = false;
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoAttributeValue for &'static str {
    const NEEDS_DROP: bool = false;
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl IntoAttributeValue for String {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl IntoAttributeValue for &String {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::String(StringValue::from(self.clone()))
    }
}

impl IntoAttributeValue for Arc<str> {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl IntoAttributeValue for Cow<'static, str> {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::String(StringValue::from(self))
    }
}

impl IntoAttributeValue for Value {
    #[inline]
    fn into_attribute_value(self) -> Value {
        self
    }
}

/// Builds an attribute slice: `kv_pairs!("method" => "GET", "status" => 200)`
/// is a `&[KeyValue]` with a static-string key and a typed value each.
/// Static strings and numbers allocate nothing.
///
/// ```
/// use telemetry_runtime::{kv_pairs, KeyValue};
/// let attrs: &[KeyValue] = kv_pairs!("method" => "GET", "status" => 200, "cached" => true);
/// assert_eq!(attrs.len(), 3);
/// assert_eq!(attrs[1], KeyValue::new("status", 200i64));
/// ```
#[macro_export]
macro_rules! kv_pairs {
    ($($key:expr => $value:expr),* $(,)?) => {
        &*{
            #[allow(unused_mut)]
            let mut needs_drop = false;
            let items = [$({
                let (key, value) = ($key, $value);
                needs_drop |= $crate::__private::key_needs_drop(&key)
                    | $crate::__private::value_needs_drop(&value);
                $crate::KeyValue::new(
                    $crate::__private::IntoAttributeKey::into_attribute_key(key),
                    $crate::IntoAttributeValue::into_attribute_value(value),
                )
            }),*];
            $crate::__private::AttributeList::new(items, needs_drop)
        }
    };
}
