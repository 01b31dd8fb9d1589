//! Typed labels: label sets (`#[derive(LabelSet)]` structs) and label
//! values (`#[derive(LabelValue)]` enums, integers, `bool`, strings).
//!
//! A label set whose every value has a fixed, small cardinality is *dense*:
//! each combination has an index, and recording is an array lookup with no
//! hashing. Other label sets go through the instrument's lock-free hash
//! table and its cardinality limit.

use opentelemetry::{KeyValue, StringValue, Value};

/// Largest number of combinations a label set may have and still be dense.
pub const MAX_DENSE: usize = 4096;

/// A value of one label.
///
/// Derive it for a field-less enum with `#[derive(LabelValue)]`. Integers,
/// `bool`, `&'static str` and `String` implement it too.
pub trait LabelValue {
    /// Number of distinct values when fixed (enums, `bool`), else `None`.
    const CARDINALITY: Option<usize>;

    /// Index of this value in `0..CARDINALITY` (only called when
    /// `CARDINALITY` is `Some`).
    fn index(&self) -> usize;

    /// The attribute value.
    fn to_value(&self) -> Value;
}

/// A set of labels: the fields of a `#[derive(LabelSet)]` struct.
pub trait LabelSet {
    /// The label keys, in field order.
    const KEYS: &'static [&'static str];

    /// Number of combinations when every field has a fixed cardinality and
    /// the product is at most [`MAX_DENSE`], else `None`.
    const CARDINALITY: Option<usize>;

    /// Index of this combination in `0..CARDINALITY` (only called when
    /// `CARDINALITY` is `Some`).
    fn index(&self) -> usize;

    /// Calls `f` with the attributes (built on the stack).
    fn with_attributes<R>(&self, f: impl FnOnce(&[KeyValue]) -> R) -> R;
}

/// The product of label cardinalities, or `None` when one is unbounded or
/// the product exceeds [`MAX_DENSE`]. Used by the derive.
#[doc(hidden)]
pub const fn dense_product(cards: &[Option<usize>]) -> Option<usize> {
    let mut total: usize = 1;
    let mut i = 0;
    while i < cards.len() {
        match cards[i] {
            Some(n) => match total.checked_mul(n) {
                Some(t) if t <= MAX_DENSE => total = t,
                _ => return None,
            },
            None => return None,
        }
        i += 1;
    }
    Some(total)
}

macro_rules! unbounded_int {
    ($($t:ty),*) => {$(
        impl LabelValue for $t {
            const CARDINALITY: Option<usize> = None;
            fn index(&self) -> usize {
                0
            }
            fn to_value(&self) -> Value {
                crate::IntoAttributeValue::into_attribute_value(*self)
            }
        }
    )*};
}
unbounded_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl LabelValue for bool {
    const CARDINALITY: Option<usize> = Some(2);
    #[inline]
    fn index(&self) -> usize {
        *self as usize
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl LabelValue for &'static str {
    const CARDINALITY: Option<usize> = None;
    fn index(&self) -> usize {
        0
    }
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(*self))
    }
}

/// Allocates a copy per record: prefer an enum or `&'static str` on hot paths.
impl LabelValue for String {
    const CARDINALITY: Option<usize> = None;
    fn index(&self) -> usize {
        0
    }
    fn to_value(&self) -> Value {
        Value::String(StringValue::from(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_products() {
        assert_eq!(dense_product(&[]), Some(1));
        assert_eq!(dense_product(&[Some(3), Some(2)]), Some(6));
        assert_eq!(dense_product(&[Some(3), None]), None);
        assert_eq!(dense_product(&[Some(100), Some(100)]), None);
        assert_eq!(dense_product(&[Some(usize::MAX), Some(2)]), None);
    }
}
