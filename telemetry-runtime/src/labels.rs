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

/// A value of one label. `#[derive(LabelValue)]` implements it for a
/// field-less enum: a fixed set of label values, snake_case by default.
/// Integers, `bool`, `&'static str` and `String` implement it too.
///
/// ```
/// use telemetry_runtime::LabelValue;
///
/// #[derive(LabelValue)]
/// enum Method { Get, #[label(value = "POST")] Post, DeleteAll }
/// assert_eq!(Method::CARDINALITY, Some(3));
/// assert_eq!(Method::DeleteAll.to_value().as_str(), "delete_all");
/// assert_eq!(Method::Post.to_value().as_str(), "POST");
/// ```
///
/// # Container attributes: `#[label(..)]`
/// - `crate = path`: where `telemetry_runtime` is, if it is re-exported.
///
/// # Variant attributes: `#[label(..)]`
/// - `value = "GET"`: the label value, instead of the snake_case name.
///
/// # Output
/// `impl LabelValue` with `CARDINALITY = Some(number of variants)`. A
/// variant with fields and a duplicate value are compile errors.
pub trait LabelValue {
    /// Number of distinct values when fixed (enums, `bool`), else `None`.
    const CARDINALITY: Option<usize>;

    /// The values, in index order, when fixed; empty when unbounded.
    const VALUES: &'static [&'static str] = &[];

    /// Index of this value in `0..CARDINALITY` (only called when
    /// `CARDINALITY` is `Some`).
    fn index(&self) -> usize;

    /// The attribute value.
    fn to_value(&self) -> Value;
}

/// A set of labels, implemented by `#[derive(LabelSet)]` on a struct whose
/// named fields are label values; the field names are the label keys.
///
/// ```
/// use telemetry_runtime::{LabelSet, LabelValue};
///
/// #[derive(LabelValue)]
/// enum Tier { Free, Paid }
///
/// #[derive(LabelSet)]
/// struct Labels {
///     tier: Tier,
///     #[label(name = "region_code")]
///     region: &'static str,
/// }
/// assert_eq!(Labels::KEYS, &["tier", "region_code"]);
/// assert_eq!(Labels::CARDINALITY, None); // a &str is unbounded: hashed storage
///
/// #[derive(LabelSet)]
/// struct Dense { tier: Tier, cached: bool }
/// assert_eq!(Dense::CARDINALITY, Some(4)); // dense: an array index per record
/// assert_eq!(Dense { tier: Tier::Paid, cached: true }.index(), 3);
/// ```
///
/// # Container attributes: `#[label(..)]`
/// - `crate = path`: where `telemetry_runtime` is, if it is re-exported.
///
/// # Field attributes: `#[label(..)]`
/// - `name = "key"`: the label key, instead of the field name.
///
/// # Output
/// `impl LabelSet`. The set is dense when every field has a fixed
/// cardinality (enums deriving [`LabelValue`], `bool`) and their product
/// is at most [`MAX_DENSE`]. Recording into a dense set is then an array
/// index, with no hashing, no lock and no allocation. A field that is not
/// a label value is a compile error on its type, and so is a duplicate key.
pub trait LabelSet {
    /// The label keys, in field order.
    const KEYS: &'static [&'static str];

    /// For each key, its fixed values when known, else an empty slice.
    const VALUES: &'static [&'static [&'static str]];

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
                crate::attributes::IntoAttributeValue::into_attribute_value(*self)
            }
        }
    )*};
}
unbounded_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl LabelValue for bool {
    const CARDINALITY: Option<usize> = Some(2);
    const VALUES: &'static [&'static str] = &["false", "true"];
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
