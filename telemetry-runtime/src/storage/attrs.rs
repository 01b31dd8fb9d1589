//! Attribute sets: an order-independent hash and equality, so that
//! `[a, b]` and `[b, a]` find the same series without sorting or allocating.

use opentelemetry::{Array, KeyValue, Value};
use rustc_hash::FxHasher;
use std::hash::Hasher;

/// Longest attribute value exported, in bytes; longer strings are cut at a
/// character boundary and end in `…`.
pub(crate) const MAX_VALUE_LEN: usize = 2048;

/// Hash of an attribute set that does not depend on the order of its items.
#[inline]
pub(crate) fn hash_set(attrs: &[KeyValue]) -> u64 {
    let mut acc = 0u64;
    for kv in attrs {
        let mut h = FxHasher::default();
        h.write(kv.key.as_str().as_bytes());
        h.write_u8(0xff);
        hash_value(&mut h, &kv.value);
        // Finalise each item so the sum does not cancel out.
        acc = acc.wrapping_add(mix(h.finish()));
    }
    acc
}

#[inline(always)]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

#[inline]
fn hash_value(h: &mut FxHasher, v: &Value) {
    match v {
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(*b as u8)
        }
        Value::I64(i) => {
            h.write_u8(2);
            h.write_i64(*i)
        }
        Value::F64(f) => {
            h.write_u8(3);
            h.write_u64(f.to_bits())
        }
        Value::String(s) => {
            h.write_u8(4);
            h.write(s.as_str().as_bytes())
        }
        other => {
            // Arrays and future variants: hash their rendering (rare, cold).
            h.write_u8(5);
            h.write(other.to_string().as_bytes())
        }
    }
}

/// Whether two values are the same label value (`f64` compared by bits, so
/// that NaN finds its series).
#[inline]
pub(crate) fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.as_str() == y.as_str(),
        (Value::I64(x), Value::I64(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(Array::F64(x)), Value::Array(Array::F64(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => a == b,
    }
}

/// Whether `stored` holds exactly the items of `given`, in any order.
#[inline]
pub(crate) fn set_eq(stored: &[KeyValue], given: &[KeyValue]) -> bool {
    if stored.len() != given.len() {
        return false;
    }
    // Fast path: same order as the first call.
    if stored
        .iter()
        .zip(given)
        .all(|(s, g)| s.key == g.key && value_eq(&s.value, &g.value))
    {
        return true;
    }
    given.iter().all(|g| {
        stored
            .iter()
            .any(|s| s.key == g.key && value_eq(&s.value, &g.value))
    })
}

/// The attribute list stored for export: duplicate keys collapsed (the last
/// one wins, as in the OpenTelemetry SDK), sorted by key, and over-long
/// string values truncated by the documented rule.
pub(crate) fn normalise(given: &[KeyValue]) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::with_capacity(given.len());
    for kv in given {
        let kv = truncate(kv);
        match out.iter_mut().find(|o| o.key == kv.key) {
            Some(slot) => *slot = kv,
            None => out.push(kv),
        }
    }
    out.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    out
}

fn truncate(kv: &KeyValue) -> KeyValue {
    if let Value::String(s) = &kv.value {
        let s = s.as_str();
        if s.len() > MAX_VALUE_LEN {
            let mut end = MAX_VALUE_LEN - '…'.len_utf8();
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            return KeyValue::new(kv.key.clone(), format!("{}…", &s[..end]));
        }
    }
    kv.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter() {
        let a = [KeyValue::new("m", "GET"), KeyValue::new("s", 200)];
        let b = [KeyValue::new("s", 200), KeyValue::new("m", "GET")];
        assert_eq!(hash_set(&a), hash_set(&b));
        assert!(set_eq(&a, &b));
        assert!(!set_eq(&a, &[KeyValue::new("m", "GET")]));
        assert!(!set_eq(
            &a,
            &[KeyValue::new("m", "GET"), KeyValue::new("s", 201)]
        ));
    }

    #[test]
    fn swapped_values_hash_differently() {
        let a = [KeyValue::new("a", "x"), KeyValue::new("b", "y")];
        let b = [KeyValue::new("a", "y"), KeyValue::new("b", "x")];
        assert_ne!(hash_set(&a), hash_set(&b));
        assert!(!set_eq(&a, &b));
    }

    #[test]
    fn nan_finds_itself() {
        let a = [KeyValue::new("v", f64::NAN)];
        assert!(set_eq(&a, &a));
    }

    #[test]
    fn normalise_sorts_dedups_and_truncates() {
        let long = "é".repeat(MAX_VALUE_LEN);
        let n = normalise(&[
            KeyValue::new("z", 1),
            KeyValue::new("a", long),
            KeyValue::new("z", 2),
        ]);
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].key.as_str(), "a");
        assert_eq!(n[1].value, Value::I64(2));
        let s = n[0].value.as_str();
        assert!(s.len() <= MAX_VALUE_LEN && s.ends_with('…'));
    }
}
