//! Building attribute lists: [`kv_pairs!`](crate::kv_pairs) and the
//! conversions it accepts.

use opentelemetry::{StringValue, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A value that can be an attribute (label) value: integers of any width,
/// floats, `bool`, and strings. Used by [`kv_pairs!`](crate::kv_pairs).
///
/// Unsigned integers above `i64::MAX` become strings, so nothing is wrapped.
pub trait IntoAttributeValue {
    /// The OpenTelemetry value.
    fn into_attribute_value(self) -> Value;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl IntoAttributeValue for $t {
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
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::F64(self)
    }
}

impl IntoAttributeValue for f32 {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::F64(self as f64)
    }
}

impl IntoAttributeValue for bool {
    #[inline]
    fn into_attribute_value(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoAttributeValue for &'static str {
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
        &[$(
            $crate::KeyValue::new(
                $key,
                $crate::IntoAttributeValue::into_attribute_value($value),
            )
        ),*]
    };
}
