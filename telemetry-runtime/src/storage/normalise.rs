//! What an attribute set becomes on the wire, so that every Prometheus-style
//! backend stores it as one series of its own and never rejects the request
//! that carries it.
//!
//! Keys are sent as declared (`http.request.method`): the backend's
//! translation strategy decides the label name it stores (Prometheus's
//! default escapes it to `http_request_method`, `NoTranslation` keeps it).
//! Applied once, when a series is created (never on the hot path):
//!
//! 1. The few keys that would clash with a label the backend sets itself
//!    get `key_` in front (`key` for one starting with `__`), and a
//!    message once. Under every translation strategy, Prometheus would
//!    otherwise:
//!    - `__name__`, or any key starting with `__`: rename the metric, or
//!      collide with its own reserved labels;
//!    - `le` on a histogram: collide with the bucket bound of every
//!      `_bucket` series, so that the request is rejected;
//!    - `job` and `instance`: overwrite the labels made from
//!      `service.name` and `service.instance.id`, mixing processes;
//!    - the resource attributes the backend promotes (`service.*`,
//!      `telemetry.sdk.*`, the configured ones) and the `otel_scope_*`
//!      labels: collide with those labels.
//!
//!    `quantile` is kept: it only clashes on summaries, which are never
//!    exported. An empty key is dropped. Keys are cut at [`MAX_KEY_LEN`]
//!    bytes.
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

use super::attrs::MAX_VALUE_LEN;
use crate::diag;
use crate::translation::TranslationStrategy;
use opentelemetry::{Key, KeyValue, Value};

/// Longest attribute key exported, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 128;

/// Most attributes one series exports. VictoriaMetrics ignores series with
/// more than 40 labels (`-maxLabelsPerTimeseries`), and counts the resource
/// attributes it promotes to labels among them.
pub(crate) const MAX_ATTRIBUTES: usize = 24;

/// Label names that backends set on series themselves, as escaped names
/// (a key is compared after escaping, so `service.name` is one of them).
const RESERVED: &[&str] = &[
    "job",
    "instance",
    "service_name",
    "service_namespace",
    "service_instance_id",
    "service_version",
    "telemetry_sdk_name",
    "telemetry_sdk_language",
    "telemetry_sdk_version",
];

/// `key` as the escaping strategies store it (`service.name` as
/// `service_name`): the label names of [`RESERVED`] are escaped ones.
fn escaped(key: &str) -> String {
    crate::translation::stored_label(key, TranslationStrategy::UnderscoreEscapingWithSuffixes)
}

/// Whether `key` clashes with a label the backend sets itself.
fn reserved(key: &str, histogram: bool) -> bool {
    if histogram && key == "le" {
        return true;
    }
    let key = escaped(key);
    if RESERVED.contains(&key.as_str()) || key.starts_with("otel_scope_") {
        return true;
    }
    crate::config::current()
        .resource_attributes
        .iter()
        .any(|(k, _)| escaped(k) == key)
}

/// The label name `key` is exported as; `None` drops the attribute.
pub(crate) fn label_key(key: &Key, histogram: bool) -> Option<Key> {
    let k = key.as_str();
    if k.is_empty() {
        diag::warn_once("an attribute with an empty key was dropped");
        return None;
    }
    let dunder = k.starts_with("__");
    if !dunder && !reserved(k, histogram) && k.len() <= MAX_KEY_LEN {
        return Some(key.clone());
    }
    let mut name = k.to_owned();
    if dunder || reserved(k, histogram) {
        let prefix = if dunder { "key" } else { "key_" };
        diag::warn_once(&format!(
            "attribute key {k:?} clashes with a label the backend sets itself; it is exported as \
             \"{prefix}{k}\""
        ));
        name.insert_str(0, prefix);
    }
    if name.len() > MAX_KEY_LEN {
        diag::warn_once(&format!(
            "an attribute key longer than {MAX_KEY_LEN} bytes was cut to {MAX_KEY_LEN} bytes"
        ));
        let mut end = MAX_KEY_LEN;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
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

/// Applies the rule of this module to `given`, the attributes of a
/// histogram's series when `histogram`.
pub(crate) fn normalise(given: &[KeyValue], histogram: bool) -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::with_capacity(given.len());
    for kv in given {
        let Some(key) = label_key(&kv.key, histogram) else {
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
/// the sorted `(label, text)` pairs, without empty texts, each label name
/// as `strategy` stores it (under an escaping strategy `a.b` and `a_b`
/// are one label). Points with equal identities are one series and must
/// be merged before sending.
pub(crate) fn identity<'a>(
    pairs: impl Iterator<Item = (&'a str, String)>,
    strategy: TranslationStrategy,
) -> Vec<u8> {
    let mut items: Vec<(String, String)> = pairs
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (crate::translation::stored_label(k, strategy), v))
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
        keys_of(attrs, false)
    }

    fn keys_of(attrs: &[KeyValue], histogram: bool) -> Vec<String> {
        normalise(attrs, histogram)
            .iter()
            .map(|kv| format!("{}={}", kv.key, render(&kv.value)))
            .collect()
    }

    #[test]
    fn keys_are_sent_as_declared_but_for_backend_labels() {
        let given = [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("kéy", "v"),
            KeyValue::new("1abc", "d"),
            KeyValue::new("_x", "u"),
            KeyValue::new("__name__", "evil"),
            KeyValue::new("le", "1"),
            KeyValue::new("quantile", "0.5"),
            KeyValue::new("job", "j"),
            KeyValue::new("service.name", "s"),
            KeyValue::new("otel.scope.name", "o"),
            KeyValue::new("", "dropped"),
            KeyValue::new("ok_name", 1),
        ];
        assert_eq!(
            keys(&given),
            [
                "1abc=d",
                "_x=u",
                "http.request.method=GET",
                "key__name__=evil",
                "key_job=j",
                "key_otel.scope.name=o",
                "key_service.name=s",
                "kéy=v",
                "le=1",
                "ok_name=1",
                "quantile=0.5",
            ]
        );
        // `le` is the bucket bound of a histogram's series.
        assert!(keys_of(&given, true).contains(&"key_le=1".to_owned()));
    }

    #[test]
    fn empty_values_and_collisions() {
        assert_eq!(keys(&[KeyValue::new("k", "")]), Vec::<String>::new());
        // Two keys the escaping strategies store alike stay two here; the
        // exporter merges their points where the backend would.
        assert_eq!(
            keys(&[KeyValue::new("a.b", "1"), KeyValue::new("a_b", "2")]),
            ["a.b=1", "a_b=2"]
        );
        assert_eq!(
            keys(&[KeyValue::new("a", "1"), KeyValue::new("a", "")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn long_keys_values_and_many_attributes_are_cut() {
        let n = normalise_any(&[
            KeyValue::new("k".repeat(1000), "v"),
            KeyValue::new("v", "x".repeat(10_000)),
        ]);
        assert_eq!(n[0].key.as_str().len(), MAX_KEY_LEN);
        assert_eq!(n[1].value.as_str().len(), MAX_VALUE_LEN);
        let many: Vec<KeyValue> = (0..100)
            .map(|i| KeyValue::new(format!("k{i:03}"), i))
            .collect();
        let n = normalise_any(&many);
        assert_eq!(n.len(), MAX_ATTRIBUTES);
        assert_eq!(n[0].key.as_str(), "k000");
        assert_eq!(n[MAX_ATTRIBUTES - 1].key.as_str(), "k023");
    }

    #[test]
    fn identity_matches_how_backends_see_labels() {
        use TranslationStrategy::{NoTranslation, UnderscoreEscapingWithSuffixes as Escaping};
        let a = identity(
            [("k", "1".to_owned()), ("e", String::new())].into_iter(),
            Escaping,
        );
        let b = identity([("k", render(&Value::I64(1)))].into_iter(), Escaping);
        assert_eq!(a, b);
        assert_ne!(a, identity([("k", "2".to_owned())].into_iter(), Escaping));
        // `a.b` and `a_b`, `_x` and `key_x`, are one label only where the
        // backend escapes.
        let one = |k: &str, s| identity([(k, "x".to_owned())].into_iter(), s);
        assert_eq!(one("a.b", Escaping), one("a_b", Escaping));
        assert_eq!(one("_x", Escaping), one("key_x", Escaping));
        assert_ne!(one("a.b", NoTranslation), one("a_b", NoTranslation));
        assert_ne!(one("_x", NoTranslation), one("key_x", NoTranslation));
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

    fn normalise_any(given: &[KeyValue]) -> Vec<KeyValue> {
        normalise(given, false)
    }

    /// A key that no backend label can be overwritten by.
    fn is_safe_key(k: &str) -> bool {
        !k.is_empty() && k.len() <= MAX_KEY_LEN && !k.starts_with("__") && !reserved(k, true)
    }

    /// Random attribute sets: what is stored is always a valid, bounded,
    /// sorted set of distinct label names; normalising twice changes
    /// nothing; lookups find a set in any order. Bounded, so it runs in CI;
    /// `fuzz/` has the open-ended version.
    #[test]
    fn random_attribute_sets_follow_the_rule() {
        use super::super::attrs::{hash_set, set_eq};
        let mut rng = Rng(7);
        for case in 0..5000 {
            let given: Vec<KeyValue> = (0..rng.below(40))
                .map(|_| KeyValue::new(rng.label_text(6), rng.attr_value()))
                .collect();
            let n = normalise(&given, true);
            assert!(n.len() <= MAX_ATTRIBUTES, "case {case}");
            for w in n.windows(2) {
                assert!(w[0].key.as_str() < w[1].key.as_str(), "case {case}");
            }
            for kv in &n {
                assert!(is_safe_key(kv.key.as_str()), "case {case}: {:?}", kv.key);
                if let Value::String(v) = &kv.value {
                    assert!(!v.as_str().is_empty() && v.as_str().len() <= MAX_VALUE_LEN);
                }
            }
            let again = normalise(&n, true);
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
