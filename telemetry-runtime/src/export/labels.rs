//! What an attribute set becomes on the wire, so that every Prometheus-style
//! backend stores it as one series of its own and never rejects the request
//! that carries it.
//!
//! Applied once, when a series is created (never on the hot path):
//!
//! 1. A key becomes a valid Prometheus label name: every character other
//!    than `[A-Za-z0-9_]` becomes `_` (what backends do themselves). A key
//!    starting with a digit gets `key_` in front, one starting with `_`
//!    gets `key` in front (so `__name__` cannot rename the metric), and one
//!    equal to a label the backend sets itself (`le`, `quantile`, `job`,
//!    `instance`, the `service_*`, `telemetry_sdk_*` and `otel_scope_*`
//!    labels, and the configured resource attributes) gets `key_` in front.
//!    An empty key is dropped. Keys are cut at [`MAX_KEY_LEN`] bytes.
//! 2. An attribute whose value is the empty string is dropped: Prometheus
//!    treats an empty label as an absent one.
//! 3. Duplicate keys (also after step 1) collapse: the last one wins.
//! 4. String values (and arrays, as their rendering) longer than
//!    [`MAX_VALUE_LEN`] bytes are cut at a character boundary and end in `…`.
//! 5. The set is sorted by key; past [`MAX_ATTRIBUTES`], the remaining keys
//!    are dropped.
//!
//! Different sets can so become equal, and distinct values can be rendered
//! alike (`1` and `"1"`): the exporter merges points whose labels are equal
//! ([`identity`]), so a request never holds two points of one series.

use crate::diag;
use crate::storage::attrs::MAX_VALUE_LEN;
use opentelemetry::{Key, KeyValue, Value};

/// Longest attribute key exported, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 128;

/// Most attributes one series exports. VictoriaMetrics ignores series with
/// more than 40 labels (`-maxLabelsPerTimeseries`), and counts the resource
/// attributes it promotes to labels among them.
pub(crate) const MAX_ATTRIBUTES: usize = 24;

/// Label names that backends set on series themselves.
const RESERVED: &[&str] = &[
    "le",
    "quantile",
    "job",
    "instance",
    "service_name",
    "service_namespace",
    "service_instance_id",
    "service_version",
    "telemetry_sdk_name",
    "telemetry_sdk_language",
    "telemetry_sdk_version",
    "otel_scope_name",
    "otel_scope_version",
    "otel_scope_schema_url",
];

/// Replaces every character outside `[A-Za-z0-9_]` by `_`.
fn sanitise(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn reserved(name: &str) -> bool {
    if RESERVED.contains(&name) || name.starts_with("otel_scope_") {
        return true;
    }
    crate::config::current()
        .resource_attributes
        .iter()
        .any(|(k, _)| sanitise(k) == name)
}

/// The label name `key` is exported as; `None` drops the attribute.
pub(crate) fn label_key(key: &Key) -> Option<Key> {
    let k = key.as_str();
    if k.is_empty() {
        diag::warn_once("an attribute with an empty key was dropped");
        return None;
    }
    let valid = k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !k.as_bytes()[0].is_ascii_digit()
        && !k.starts_with('_')
        && k.len() <= MAX_KEY_LEN;
    if valid && !reserved(k) {
        return Some(key.clone());
    }
    let mut name = sanitise(k);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "key_");
    } else if name.starts_with('_') {
        name.insert_str(0, "key");
    } else if reserved(&name) {
        diag::warn_once(&format!(
            "attribute key {name:?} is a label the backend sets itself; it is exported as \
             \"key_{name}\""
        ));
        name.insert_str(0, "key_");
    }
    if name.len() > MAX_KEY_LEN {
        diag::warn_once(&format!(
            "an attribute key longer than {MAX_KEY_LEN} bytes was cut to {MAX_KEY_LEN} bytes"
        ));
        name.truncate(MAX_KEY_LEN);
    }
    Some(Key::from(name))
}

/// The value exported; `None` drops the attribute (empty string).
fn label_value(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if s.as_str().is_empty() => None,
        Value::String(s) if s.as_str().len() > MAX_VALUE_LEN => {
            Some(Value::String(cut(s.as_str()).into()))
        }
        Value::Array(_) => {
            let text = v.to_string();
            if text.len() > MAX_VALUE_LEN {
                Some(Value::String(cut(&text).into()))
            } else {
                Some(v.clone())
            }
        }
        _ => Some(v.clone()),
    }
}

/// `s` cut to at most `MAX_VALUE_LEN` bytes, ending in `…`.
fn cut(s: &str) -> String {
    let mut end = MAX_VALUE_LEN - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Applies the rule of this module to `given`.
pub(crate) fn normalise(given: &[KeyValue]) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::with_capacity(given.len());
    for kv in given {
        let Some(key) = label_key(&kv.key) else {
            continue;
        };
        let value = label_value(&kv.value);
        let at = out.iter().position(|o| o.key == key);
        match (at, value) {
            (Some(i), Some(v)) => out[i] = KeyValue::new(key, v),
            // A later empty value removes an earlier one of the same key.
            (Some(i), None) => {
                out.remove(i);
            }
            (None, Some(v)) => out.push(KeyValue::new(key, v)),
            (None, None) => {}
        }
    }
    out.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    if out.len() > MAX_ATTRIBUTES {
        diag::warn_once(&format!(
            "an attribute set had more than {MAX_ATTRIBUTES} attributes; the keys after the first \
             {MAX_ATTRIBUTES} in sorted order were dropped"
        ));
        out.truncate(MAX_ATTRIBUTES);
    }
    out
}

/// How a backend renders a value as label text.
pub(crate) fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    }
}

/// The identity of a labelled point as a Prometheus-style backend sees it:
/// the sorted `(label, text)` pairs, without empty texts. Points with equal
/// identities are one series and must be merged before sending.
pub(crate) fn identity<'a>(pairs: impl Iterator<Item = (&'a str, String)>) -> Vec<u8> {
    let mut items: Vec<(String, String)> = pairs
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (sanitise(k), v))
        .collect();
    items.sort();
    items.dedup_by(|a, b| a.0 == b.0);
    let mut out = Vec::new();
    for (k, v) in items {
        out.extend_from_slice(k.as_bytes());
        out.push(0xff);
        out.extend_from_slice(v.as_bytes());
        out.push(0xfe);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(attrs: &[KeyValue]) -> Vec<String> {
        normalise(attrs)
            .iter()
            .map(|kv| format!("{}={}", kv.key, render(&kv.value)))
            .collect()
    }

    #[test]
    fn keys_become_label_names() {
        assert_eq!(
            keys(&[
                KeyValue::new("http.method", "GET"),
                KeyValue::new("kéy", "v"),
                KeyValue::new("1abc", "d"),
                KeyValue::new("_x", "u"),
                KeyValue::new("__name__", "evil"),
                KeyValue::new("le", "1"),
                KeyValue::new("job", "j"),
                KeyValue::new("service.name", "s"),
                KeyValue::new("", "dropped"),
                KeyValue::new("ok_name", 1),
            ]),
            [
                "http_method=GET",
                "k_y=v",
                "key_1abc=d",
                "key__name__=evil",
                "key_job=j",
                "key_le=1",
                "key_service_name=s",
                "key_x=u",
                "ok_name=1",
            ]
        );
    }

    #[test]
    fn empty_values_and_collisions() {
        assert_eq!(keys(&[KeyValue::new("k", "")]), Vec::<String>::new());
        assert_eq!(
            keys(&[KeyValue::new("a.b", "1"), KeyValue::new("a_b", "2")]),
            ["a_b=2"]
        );
        assert_eq!(
            keys(&[KeyValue::new("a", "1"), KeyValue::new("a", "")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn long_keys_values_and_many_attributes_are_cut() {
        let n = normalise(&[
            KeyValue::new("k".repeat(1000), "v"),
            KeyValue::new("v", "x".repeat(10_000)),
        ]);
        assert_eq!(n[0].key.as_str().len(), MAX_KEY_LEN);
        assert_eq!(n[1].value.as_str().len(), MAX_VALUE_LEN);
        let many: Vec<KeyValue> = (0..100)
            .map(|i| KeyValue::new(format!("k{i:03}"), i))
            .collect();
        let n = normalise(&many);
        assert_eq!(n.len(), MAX_ATTRIBUTES);
        assert_eq!(n[0].key.as_str(), "k000");
        assert_eq!(n[MAX_ATTRIBUTES - 1].key.as_str(), "k023");
    }

    #[test]
    fn identity_matches_how_backends_see_labels() {
        let a = identity([("k", "1".to_owned()), ("e", String::new())].into_iter());
        let b = identity([("k", render(&Value::I64(1)))].into_iter());
        assert_eq!(a, b);
        assert_ne!(a, identity([("k", "2".to_owned())].into_iter()));
    }

    use crate::test_rng::Rng;

    impl Rng {
        /// Random text of at most `max` pieces, now and then very long.
        fn label_text(&mut self, max: usize) -> String {
            const PIECES: &[&str] = &[
                "a",
                "Z",
                "0",
                "9",
                "_",
                "__",
                ".",
                "-",
                " ",
                "\n",
                "\"",
                "\\",
                "\0",
                "é",
                "😀",
                "\u{fffd}",
                "le",
                "job",
                "__name__",
                "service.name",
                "{",
                "}",
                "=",
            ];
            let n = self.below(max + 1);
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(self.pick(PIECES));
            }
            if self.below(50) == 0 {
                s.push_str(&"x".repeat(self.below(5000)));
            }
            s
        }
        fn attr_value(&mut self) -> Value {
            match self.below(6) {
                0 => Value::I64(self.next() as i64),
                1 => Value::Bool(self.below(2) == 0),
                2 => Value::F64(f64::from_bits(self.next())),
                _ => Value::String(self.label_text(8).into()),
            }
        }
    }

    fn is_label_name(k: &str) -> bool {
        !k.is_empty()
            && k.len() <= MAX_KEY_LEN
            && !k.starts_with(|c: char| c.is_ascii_digit() || c == '_')
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !RESERVED.contains(&k)
    }

    /// Random attribute sets: what is stored is always a valid, bounded,
    /// sorted set of distinct label names; normalising twice changes
    /// nothing; lookups find a set in any order. Bounded, so it runs in CI;
    /// `fuzz/` has the open-ended version.
    #[test]
    fn random_attribute_sets_follow_the_rule() {
        use crate::storage::attrs::{hash_set, set_eq};
        let mut rng = Rng(7);
        for case in 0..5000 {
            let given: Vec<KeyValue> = (0..rng.below(40))
                .map(|_| KeyValue::new(rng.label_text(6), rng.attr_value()))
                .collect();
            let n = normalise(&given);
            assert!(n.len() <= MAX_ATTRIBUTES, "case {case}");
            for w in n.windows(2) {
                assert!(w[0].key.as_str() < w[1].key.as_str(), "case {case}");
            }
            for kv in &n {
                assert!(is_label_name(kv.key.as_str()), "case {case}: {:?}", kv.key);
                if let Value::String(v) = &kv.value {
                    assert!(!v.as_str().is_empty() && v.as_str().len() <= MAX_VALUE_LEN);
                }
            }
            let again = normalise(&n);
            assert_eq!(again.len(), n.len(), "case {case}");
            assert!(set_eq(&again, &n), "case {case}: not idempotent");
            let mut shuffled = given.clone();
            shuffled.reverse();
            assert_eq!(hash_set(&given), hash_set(&shuffled), "case {case}");
            assert!(set_eq(&given, &shuffled) || has_duplicate_keys(&given));
        }
    }

    fn has_duplicate_keys(a: &[KeyValue]) -> bool {
        a.iter()
            .enumerate()
            .any(|(i, x)| a[..i].iter().any(|y| y.key == x.key))
    }
}
