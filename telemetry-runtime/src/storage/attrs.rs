//! Attribute sets: an order-independent hash and equality, so that
//! `[a, b]` and `[b, a]` find the same series without sorting or allocating.

use opentelemetry::{Array, KeyValue, Value};

/// Longest attribute value exported, in bytes; longer strings are cut at a
/// character boundary and end in `…`.
pub(crate) const MAX_VALUE_LEN: usize = 2048;

/// Hash of an attribute set that does not depend on the order of its items.
#[inline]
pub(crate) fn hash_set(attrs: &[KeyValue]) -> u64 {
    let mut acc = 0u64;
    for kv in attrs {
        let h = hash_bytes(kv.key.as_str().as_bytes(), SEED);
        // Each item's hash is already mixed, so the sum does not cancel out.
        acc = acc.wrapping_add(hash_value(&kv.value, h));
    }
    acc
}

/// A cheap fingerprint of an attribute set from the *addresses* of its
/// strings (and the bits of its numbers), order-independent. Equal sets
/// built from different string copies get different fingerprints, so it
/// only keys a cache whose hits are verified by [`set_eq`]; the canonical
/// lookup uses [`hash_set`].
#[inline(always)]
pub(crate) fn fingerprint(attrs: &[KeyValue]) -> u64 {
    let mut acc = 0u64;
    for kv in attrs {
        let k = kv.key.as_str();
        let v = match &kv.value {
            Value::String(s) => {
                let s = s.as_str();
                (s.as_ptr() as u64).rotate_left(17) ^ s.len() as u64
            }
            Value::I64(i) => *i as u64,
            Value::Bool(b) => *b as u64 ^ 0x5151,
            Value::F64(f) => f.to_bits(),
            _ => 0x7777,
        };
        let key = (k.as_ptr() as u64) ^ ((k.len() as u64) << 48);
        acc = acc.wrapping_add(key.wrapping_mul(K1) ^ v);
    }
    fold(acc, K2)
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xbf58_476d_1ce4_e5b9;

/// Multiplies and folds the 128-bit product: the mixing step of
/// multiply-based hashes.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn read8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn read4(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w) as u64
}

/// A fast hash of short byte strings (label keys and values are usually a
/// few bytes): at most two loads and one multiply up to 16 bytes.
#[inline(always)]
fn hash_bytes(b: &[u8], seed: u64) -> u64 {
    let n = b.len();
    let (x, y) = if n <= 16 {
        if n >= 8 {
            (read8(b, 0), read8(b, n - 8))
        } else if n >= 4 {
            (read4(b, 0), read4(b, n - 4))
        } else if n > 0 {
            (
                ((b[0] as u64) << 16) | ((b[n / 2] as u64) << 8) | b[n - 1] as u64,
                0,
            )
        } else {
            (0, 0)
        }
    } else {
        let mut acc = seed;
        let mut i = 0;
        while i + 16 <= n {
            acc = fold(read8(b, i) ^ acc ^ K1, read8(b, i + 8) ^ K2);
            i += 16;
        }
        (acc ^ read8(b, n - 16), read8(b, n - 8))
    };
    fold(x ^ seed ^ K1, y ^ (n as u64) ^ K2)
}

#[inline(always)]
fn hash_value(v: &Value, seed: u64) -> u64 {
    match v {
        Value::String(s) => hash_bytes(s.as_str().as_bytes(), seed ^ 4),
        Value::I64(i) => fold(*i as u64 ^ seed ^ 2, K2),
        Value::Bool(b) => fold(*b as u64 ^ seed ^ 1, K2),
        Value::F64(f) => fold(f.to_bits() ^ seed ^ 3, K2),
        // Arrays and future variants: hash their rendering (rare, cold).
        other => hash_bytes(other.to_string().as_bytes(), seed ^ 5),
    }
}

/// String equality with a pointer fast path: `kv_pairs!` passes the same
/// static literals on every call.
#[inline(always)]
fn str_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a.as_bytes() == b.as_bytes())
}

/// Whether two values are the same label value (`f64` compared by bits, so
/// that NaN finds its series).
#[inline(always)]
pub(crate) fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => str_eq(x.as_str(), y.as_str()),
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
#[inline(always)]
pub(crate) fn set_eq(stored: &[KeyValue], given: &[KeyValue]) -> bool {
    if stored.len() != given.len() {
        return false;
    }
    // Fast path: same order as the first call.
    if stored
        .iter()
        .zip(given)
        .all(|(s, g)| str_eq(s.key.as_str(), g.key.as_str()) && value_eq(&s.value, &g.value))
    {
        return true;
    }
    given.iter().all(|g| {
        stored
            .iter()
            .any(|s| str_eq(s.key.as_str(), g.key.as_str()) && value_eq(&s.value, &g.value))
    })
}

/// The attribute list stored for export: keys made valid label names,
/// empty values dropped, duplicate keys collapsed (the last one wins, as in
/// the OpenTelemetry SDK), sorted by key, over-long keys and values
/// truncated, at most [`MAX_ATTRIBUTES`](crate::export::labels::MAX_ATTRIBUTES)
/// kept. The rule lives in `export/labels.rs` (it is about what backends
/// store) and is described in RELIABILITY.md.
pub(crate) fn normalise(given: &[KeyValue]) -> Vec<KeyValue> {
    crate::export::labels::normalise(given)
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
    fn hashes_spread_over_lengths() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..40 {
            let s = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"[..n].to_owned();
            assert!(seen.insert(hash_set(&[KeyValue::new("k", s)])), "{n}");
        }
        assert_ne!(
            hash_set(&[KeyValue::new("k", 1)]),
            hash_set(&[KeyValue::new("k", "1")])
        );
        assert_ne!(
            hash_set(&[KeyValue::new("k", true)]),
            hash_set(&[KeyValue::new("k", 1)])
        );
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
