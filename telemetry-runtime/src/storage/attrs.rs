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

/// A cheap fingerprint of an attribute list from its *values* alone, in
/// list order: the bytes of short string values (at most two loads up to
/// 16 bytes, so that strings built per call, such as an actor id from
/// `to_string()`, find their series as literals do), the address of
/// longer ones, the bits of the others. Equal sets in another order or
/// with other keys over the same values can get the same or other
/// fingerprints, so it only keys a cache whose hits are verified; the
/// canonical lookup uses [`hash_set`]. Keys are left out because the sets
/// of one instrument mostly share them, and reading them would double the
/// work.
#[inline(always)]
pub(crate) fn fingerprint(attrs: &[KeyValue]) -> u64 {
    let bits = |kv: &KeyValue| match &kv.value {
        Value::String(s) => short_str_bits(s.as_str()),
        other => other_bits(other),
    };
    let mut acc = attrs.len() as u64;
    // Two items (the most common list) without the loop's bookkeeping.
    if let [a, b] = attrs {
        acc = acc.rotate_left(23) ^ bits(a);
        acc = acc.rotate_left(23) ^ bits(b);
    } else {
        for kv in attrs {
            acc = acc.rotate_left(23) ^ bits(kv);
        }
    }
    fold(acc ^ K1, K2)
}

/// [`fingerprint`]'s word for a value that is not a string (rarer).
#[inline(never)]
fn other_bits(v: &Value) -> u64 {
    match v {
        Value::I64(i) => *i as u64,
        Value::Bool(b) => *b as u64 ^ 0x5151,
        Value::F64(f) => f.to_bits(),
        _ => 0x7777,
    }
}

/// The bytes of a string of at most 16 bytes folded into a word (its
/// address for longer ones), with its length.
#[inline(always)]
fn short_str_bits(s: &str) -> u64 {
    let b = s.as_bytes();
    let n = b.len();
    // The shortest first: most label values are a few bytes.
    let bits = if n < 4 {
        match n {
            0 => 0,
            1 => b[0] as u64,
            2 => b[0] as u64 | (b[1] as u64) << 8,
            _ => b[0] as u64 | (b[1] as u64) << 8 | (b[2] as u64) << 16,
        }
    } else if n <= 16 {
        let (x, y) = short_words(b);
        x ^ y.rotate_left(29)
    } else {
        b.as_ptr() as u64
    };
    bits ^ ((n as u64) << 56)
}

/// Every byte of a string of at most 16 bytes, in two words: two
/// overlapping loads of 8 or 4 bytes, or the first, middle and last byte
/// below 4.
#[inline(always)]
fn short_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
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
        short_words(b)
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
    a.len() == b.len()
        && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || bytes_eq(a.as_bytes(), b.as_bytes()))
}

/// Equality of two byte strings of the same length; up to 16 bytes (most
/// label keys and values) in two or four loads, without calling `memcmp`,
/// which costs more than the comparison when two values differ.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 16 {
        return a == b;
    }
    // Overlapping reads cover every byte of lengths between the widths.
    if n >= 8 {
        read8(a, 0) == read8(b, 0) && read8(a, n - 8) == read8(b, n - 8)
    } else if n >= 4 {
        read4(a, 0) == read4(b, 0) && read4(a, n - 4) == read4(b, n - 4)
    } else if n > 0 {
        // First, middle and last cover lengths 1 to 3.
        a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]
    } else {
        true
    }
}

/// Whether two values are the same label value (`f64` compared by bits, so
/// that NaN finds its series).
#[inline(always)]
pub(crate) fn value_eq(a: &Value, b: &Value) -> bool {
    // Strings first, on their own: label values are mostly strings, and
    // one test of both tags keeps this short enough to inline everywhere.
    if let (Value::String(x), Value::String(y)) = (a, b) {
        return str_eq(x.as_str(), y.as_str());
    }
    match (a, b) {
        (Value::I64(x), Value::I64(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => other_value_eq(a, b),
    }
}

/// [`value_eq`] for floats, arrays and mixed kinds (rare).
#[cold]
#[inline(never)]
fn other_value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(Array::F64(x)), Value::Array(Array::F64(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
        }
        _ => a == b,
    }
}

/// Whether two items are the same attribute.
#[inline(always)]
fn item_eq(s: &KeyValue, g: &KeyValue) -> bool {
    str_eq(s.key.as_str(), g.key.as_str()) && value_eq(&s.value, &g.value)
}

/// Whether `stored` holds the items of `given` in the same order: the
/// cheap half of [`set_eq`], enough where a miss only costs a slower
/// lookup.
#[inline(always)]
pub(crate) fn list_eq(stored: &[KeyValue], given: &[KeyValue]) -> bool {
    if stored.len() != given.len() {
        return false;
    }
    // An indexed loop: the iterator form was left out of line.
    let mut i = 0;
    while i < given.len() {
        if !item_eq(&stored[i], &given[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `stored` holds exactly the items of `given`, in any order (the
/// reference of [`probe_set_eq`], which lookups use).
#[cfg(test)]
pub(crate) fn set_eq(stored: &[KeyValue], given: &[KeyValue]) -> bool {
    stored.len() == given.len()
        && given.iter().all(|g| stored.iter().any(|s| item_eq(s, g)))
        && stored.iter().all(|s| given.iter().any(|g| item_eq(s, g)))
}

/// One attribute of a stored list, flattened for comparison: the key's
/// bytes, and the value as a string's bytes or a number's bits. Comparing
/// a given attribute against it reads the given side's enums only, not
/// the stored side's as well (half the branches of [`item_eq`]).
#[derive(Clone, Copy)]
pub(crate) struct Probe {
    key_ptr: *const u8,
    key_len: usize,
    /// A string value's address, a number's bits, or (arrays) the stored
    /// `Value`'s address.
    value: u64,
    /// A string value's length, or one of the `NOT_STR` tags.
    value_len: u64,
}

// SAFETY: a `Probe` only points into the attribute lists of a series,
// which are never freed nor written after the series is published.
unsafe impl Send for Probe {}
unsafe impl Sync for Probe {}

/// Tags of non-string values in [`Probe::value_len`]: above any length.
const NOT_STR: u64 = 1 << 63;
const I64_TAG: u64 = NOT_STR | 1;
const BOOL_TAG: u64 = NOT_STR | 2;
const F64_TAG: u64 = NOT_STR | 3;
/// Arrays and future variants: compared through the stored `KeyValue`.
const OTHER_TAG: u64 = NOT_STR | 4;

impl Probe {
    /// The probe of `kv`, which must outlive it (a series' own list).
    pub(crate) fn of(kv: &KeyValue) -> Probe {
        let key = kv.key.as_str();
        let (value, value_len) = match &kv.value {
            Value::String(s) => (s.as_str().as_ptr() as u64, s.as_str().len() as u64),
            Value::I64(i) => (*i as u64, I64_TAG),
            Value::Bool(b) => (*b as u64, BOOL_TAG),
            Value::F64(f) => (f.to_bits(), F64_TAG),
            other => (other as *const Value as u64, OTHER_TAG),
        };
        Probe {
            key_ptr: key.as_ptr(),
            key_len: key.len(),
            value,
            value_len,
        }
    }

    /// The key's bytes.
    #[inline(always)]
    fn key(&self) -> &[u8] {
        // SAFETY: the bytes of a key of the series' own list (see `of`).
        unsafe { std::slice::from_raw_parts(self.key_ptr, self.key_len) }
    }

    /// Whether `g` is this attribute.
    #[inline(always)]
    fn eq(&self, g: &KeyValue) -> bool {
        let k = g.key.as_str();
        if k.len() != self.key_len
            || !(std::ptr::eq(k.as_ptr(), self.key_ptr) || bytes_eq(k.as_bytes(), self.key()))
        {
            return false;
        }
        // Strings first, on their own: label values are mostly strings,
        // and one test of the tag is shorter than the match's table.
        if let Value::String(v) = &g.value {
            let v = v.as_str();
            return v.len() as u64 == self.value_len
                && (v.as_ptr() as u64 == self.value
                    // SAFETY: a string value of the series' own list:
                    // `value_len` is its length (not a tag, as equal to a
                    // `str`'s length).
                    || bytes_eq(v.as_bytes(), unsafe {
                        std::slice::from_raw_parts(self.value as *const u8, v.len())
                    }));
        }
        self.eq_other(&g.value)
    }

    /// [`eq`](Self::eq)'s value comparison for values that are not strings.
    #[inline(never)]
    fn eq_other(&self, g: &Value) -> bool {
        match g {
            Value::I64(i) => self.value_len == I64_TAG && self.value == *i as u64,
            Value::Bool(b) => self.value_len == BOOL_TAG && self.value == *b as u64,
            Value::F64(f) => self.value_len == F64_TAG && self.value == f.to_bits(),
            _ => {
                self.value_len == OTHER_TAG
                    // SAFETY: the address of a value of the series' own
                    // list (see `of`).
                    && other_value_eq(unsafe { &*(self.value as *const Value) }, g)
            }
        }
    }
}

/// Whether `given` holds the items of a stored list (its `probes`) in
/// the same order.
#[inline(always)]
pub(crate) fn probe_list_eq(probes: &[Probe], given: &[KeyValue]) -> bool {
    if probes.len() != given.len() {
        return false;
    }
    // Two items (the most common list) without the loop's bookkeeping.
    if let ([p0, p1], [g0, g1]) = (probes, given) {
        return p0.eq(g0) && p1.eq(g1);
    }
    // An indexed loop: the iterator form was left out of line.
    let mut i = 0;
    while i < given.len() {
        if !probes[i].eq(&given[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `given` holds exactly the items of a stored list (`stored`,
/// whose probes are `probes`), in any order.
#[inline(always)]
pub(crate) fn probe_set_eq(probes: &[Probe], stored: &[KeyValue], given: &[KeyValue]) -> bool {
    if probe_list_eq(probes, given) {
        return true;
    }
    // Both ways, so that duplicates can't stand in for a missing item.
    probes.len() == given.len()
        && given.iter().all(|g| probes.iter().any(|p| p.eq(g)))
        && stored.iter().all(|s| given.iter().any(|g| item_eq(s, g)))
}

#[cfg(test)]
mod tests {
    use super::super::normalise::normalise;
    use super::*;

    fn normalise_any(given: &[KeyValue]) -> Vec<KeyValue> {
        normalise(given, false)
    }

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
    fn bytes_eq_agrees_with_slices() {
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for n in 0..40 {
            for _ in 0..200 {
                let a: Vec<u8> = (0..n).map(|_| (rng.next() % 3) as u8).collect();
                let mut b = a.clone();
                if n > 0 && rng.next() % 2 == 0 {
                    let i = (rng.next() % n as u64) as usize;
                    b[i] ^= 1;
                }
                assert_eq!(bytes_eq(&a, &b), a == b, "{a:?} {b:?}");
            }
        }
        assert!(!bytes_eq(b"ab", b"abc"));
    }

    /// Random short lists over few keys and values (strings static and
    /// owned, integers, booleans, floats, arrays, duplicates).
    fn random_list(rng: &mut crate::test_rng::Rng) -> Vec<KeyValue> {
        let n = rng.below(4);
        (0..n)
            .map(|_| {
                let key = rng.pick(&["a", "b", "method"]);
                let value = match rng.below(7) {
                    0 => Value::from(rng.pick(&["x", "GET", "actor-0123456789abcdef0"])),
                    1 => Value::from(
                        rng.pick(&["x", "GET", "actor-0123456789abcdef0"])
                            .to_string(),
                    ),
                    2 => Value::I64(rng.below(2) as i64),
                    3 => Value::Bool(rng.below(2) == 0),
                    4 => Value::F64(if rng.below(2) == 0 { f64::NAN } else { 1.0 }),
                    5 => Value::Array(opentelemetry::Array::I64(vec![rng.below(2) as i64])),
                    _ => Value::I64(1),
                };
                KeyValue::new(key, value)
            })
            .collect()
    }

    #[test]
    fn probes_agree_with_the_reference() {
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..20_000 {
            let stored = random_list(&mut rng);
            let given = if rng.below(3) == 0 {
                let mut g = stored.clone();
                g.reverse();
                g
            } else {
                random_list(&mut rng)
            };
            let probes: Vec<Probe> = stored.iter().map(Probe::of).collect();
            assert_eq!(
                probe_set_eq(&probes, &stored, &given),
                set_eq(&stored, &given),
                "case {case}: {stored:?} {given:?}"
            );
            assert_eq!(
                probe_list_eq(&probes, &given),
                list_eq(&stored, &given),
                "case {case}: {stored:?} {given:?}"
            );
        }
    }

    #[test]
    fn nan_finds_itself() {
        let a = [KeyValue::new("v", f64::NAN)];
        assert!(set_eq(&a, &a));
    }

    #[test]
    fn normalise_sorts_dedups_and_truncates() {
        let long = "é".repeat(MAX_VALUE_LEN);
        let n = normalise_any(&[
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
