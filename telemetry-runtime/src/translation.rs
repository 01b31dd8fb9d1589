//! Prometheus's OTLP translation strategies: what the backend stores for
//! the names and attribute keys this crate sends as declared.

use crate::meta::{InstrumentKind, Metadata};
use std::fmt;
use std::str::FromStr;

/// How the backend turns OpenTelemetry names into Prometheus names: its
/// `otlp.translation_strategy`, spelled as in `prometheus.yml`. The rules
/// are those of Prometheus 3.7 and later (`otlptranslator` v1); 3.5 and
/// 3.6 append a suffix a UTF-8 name already has, and 3.5 has no
/// `UnderscoreEscapingWithoutSuffixes`. Set it
/// with `HYPERACTOR_OTEL_TRANSLATION_STRATEGY` to the value the backend
/// runs; the catalog's stored names, the generated queries, and the
/// merging of attribute sets that the backend would see as one series
/// follow it.
///
/// VictoriaMetrics stores names as sent by default (`NoTranslation`), and
/// like Prometheus's default with `-opentelemetry.usePrometheusNaming`
/// (`UnderscoreEscapingWithSuffixes`).
///
/// ```
/// use telemetry_runtime::TranslationStrategy;
/// let s: TranslationStrategy = "NoTranslation".parse().unwrap();
/// assert!(!s.escapes() && !s.adds_suffixes());
/// assert_eq!(TranslationStrategy::default().to_string(), "UnderscoreEscapingWithSuffixes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TranslationStrategy {
    /// Prometheus's default: names and label names escaped to
    /// `[a-zA-Z0-9_:]`, with unit and type suffixes (`_seconds`, `_total`).
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escaped, without suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// UTF-8 kept, with suffixes.
    NoUTF8EscapingWithSuffixes,
    /// Names and label names stored as sent.
    NoTranslation,
}

impl TranslationStrategy {
    /// All four, in the order Prometheus documents them.
    pub const ALL: [TranslationStrategy; 4] = [
        TranslationStrategy::UnderscoreEscapingWithSuffixes,
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
        TranslationStrategy::NoUTF8EscapingWithSuffixes,
        TranslationStrategy::NoTranslation,
    ];

    /// The spelling of `prometheus.yml`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => "UnderscoreEscapingWithSuffixes",
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                "UnderscoreEscapingWithoutSuffixes"
            }
            TranslationStrategy::NoUTF8EscapingWithSuffixes => "NoUTF8EscapingWithSuffixes",
            TranslationStrategy::NoTranslation => "NoTranslation",
        }
    }

    /// Whether names and label names are escaped to the legacy character
    /// set (so that `a.b` and `a_b` are one label).
    pub const fn escapes(self) -> bool {
        matches!(
            self,
            TranslationStrategy::UnderscoreEscapingWithSuffixes
                | TranslationStrategy::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// The label name the backend stores for attribute `key`.
    ///
    /// ```
    /// use telemetry_runtime::TranslationStrategy as T;
    /// assert_eq!(T::UnderscoreEscapingWithSuffixes.label("k8s.cluster.name"), "k8s_cluster_name");
    /// assert_eq!(T::NoTranslation.label("k8s.cluster.name"), "k8s.cluster.name");
    /// ```
    pub fn label(self, key: &str) -> String {
        stored_label(key, self)
    }

    /// The name the backend stores for a metric declared as `name`, of
    /// `kind` and `unit` (for a histogram, the base name).
    ///
    /// ```
    /// use telemetry_runtime::{InstrumentKind, TranslationStrategy as T};
    /// let s = T::UnderscoreEscapingWithSuffixes;
    /// assert_eq!(s.metric_name("rpc.duration", "s", InstrumentKind::Histogram), "rpc_duration_seconds");
    /// ```
    pub fn metric_name(self, name: &str, unit: &str, kind: InstrumentKind) -> String {
        stored_name(name, unit, kind.into(), self)
    }

    /// Whether unit and type suffixes (`_seconds`, `_total`, `_ratio`) are
    /// added.
    pub const fn adds_suffixes(self) -> bool {
        matches!(
            self,
            TranslationStrategy::UnderscoreEscapingWithSuffixes
                | TranslationStrategy::NoUTF8EscapingWithSuffixes
        )
    }
}

impl fmt::Display for TranslationStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is none of the four strategies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStrategy(pub String);

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown translation strategy {:?}: one of UnderscoreEscapingWithSuffixes, \
             UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes, NoTranslation",
            self.0
        )
    }
}

impl std::error::Error for UnknownStrategy {}

impl FromStr for TranslationStrategy {
    type Err = UnknownStrategy;

    /// The spelling of `prometheus.yml`, in any case.
    fn from_str(s: &str) -> Result<Self, UnknownStrategy> {
        TranslationStrategy::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStrategy(s.to_owned()))
    }
}

/// What the translator needs to know of an instrument's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// A monotonic sum: `_total`.
    MonotonicCounter,
    /// A non-monotonic sum.
    Sum,
    /// A gauge: `_ratio` for unit `1`.
    Gauge,
    /// A histogram (explicit or exponential): the base name.
    Histogram,
}

impl From<InstrumentKind> for NameKind {
    fn from(k: InstrumentKind) -> NameKind {
        match k {
            InstrumentKind::Counter => NameKind::MonotonicCounter,
            InstrumentKind::UpDownCounter => NameKind::Sum,
            InstrumentKind::Gauge => NameKind::Gauge,
            InstrumentKind::Histogram => NameKind::Histogram,
        }
    }
}

/// The Prometheus word of a unit's main part; a unit not listed is
/// written as itself.
fn main_unit_word(u: &str) -> &str {
    telemetry_units::main_word(u).unwrap_or(u)
}

/// The word of a unit's part after `/`.
fn per_unit_word(u: &str) -> &str {
    telemetry_units::per_word(u).unwrap_or(u)
}

/// The suffixes a unit asks for: its main word and its `per_` word (empty
/// when none; annotations in braces ask for none).
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let main = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        main_unit_word(main).to_owned()
    };
    let per = match parts.next().map(str::trim) {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => {
            let w = per_unit_word(p);
            if w.is_empty() {
                String::new()
            } else {
                format!("per_{w}")
            }
        }
        _ => String::new(),
    };
    (main, per)
}

/// A character of a legacy metric name other than `_`.
fn legacy_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// A unit word made of legacy characters, runs of others one `_`, no `_`
/// in front.
fn clean_unit(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    for c in u.chars() {
        let c = if legacy_char(c) { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_start_matches('_').to_owned()
}

/// The stored name of a metric declared as `name` with `unit`, under
/// `strategy`, by Prometheus's translator (`otlptranslator`'s
/// `MetricNamer`). For a histogram this is the base name of `_bucket`,
/// `_count` and `_sum` (or the native histogram's own name).
pub(crate) fn stored_name(
    name: &str,
    unit: &str,
    kind: NameKind,
    strategy: TranslationStrategy,
) -> String {
    match (strategy.escapes(), strategy.adds_suffixes()) {
        (true, true) => escaped_with_suffixes(name, unit, kind),
        (true, false) => {
            // Runs of characters other than legacy ones and `_` become one
            // `_`; underscores stay as they are.
            let tokens: Vec<&str> = name
                .split(|c: char| !legacy_char(c) && c != '_')
                .filter(|t| !t.is_empty())
                .collect();
            digit_guard(tokens.join("_"))
        }
        (false, true) => utf8_with_suffixes(name, unit, kind),
        (false, false) => name.to_owned(),
    }
}

/// A legacy name may not start with a digit: `_` goes in front.
fn digit_guard(mut name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

fn escaped_with_suffixes(name: &str, unit: &str, kind: NameKind) -> String {
    // Tokens of legacy characters: every other character, `_` included,
    // separates them (so repeated underscores collapse).
    let mut tokens: Vec<String> = name
        .split(|c: char| !legacy_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (mut main, per) = (clean_unit(&main), clean_unit(&per));
    if tokens.contains(&main) {
        main.clear();
    }
    let per = if per == "per_" {
        String::new()
    } else {
        let p = per.trim_end_matches('_').to_owned();
        if tokens.contains(&p) {
            String::new()
        } else {
            p
        }
    };
    if !per.is_empty() {
        main = main.trim_end_matches('_').to_owned();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if kind == NameKind::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == NameKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    digit_guard(tokens.join("_"))
}

/// `name` without `suffix` and the one delimiter before it, when it ends
/// in them.
fn trim_suffix(name: &str, suffix: &str) -> String {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        name[..name.len() - suffix.len() - 1].to_owned()
    } else {
        name.to_owned()
    }
}

fn utf8_with_suffixes(name: &str, unit: &str, kind: NameKind) -> String {
    let mut name = name.to_owned();
    let ratio = unit == "1" && kind == NameKind::Gauge;
    if ratio {
        name = trim_suffix(&name, "ratio");
    }
    let total = kind == NameKind::MonotonicCounter;
    if total {
        name = trim_suffix(&name, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        name = trim_suffix(&name, &per);
    }
    if !main.is_empty() && !name.ends_with(&main) {
        name = format!("{name}_{main}");
    }
    if !per.is_empty() {
        name = format!("{name}_{per}");
    }
    if total {
        name.push_str("_total");
    }
    if ratio {
        name.push_str("_ratio");
    }
    name
}

/// The stored label name of an attribute key under `strategy`
/// (`otlptranslator`'s `LabelNamer`): as sent without escaping; else every
/// character outside `[a-zA-Z0-9_]` becomes `_`, and a name starting with
/// a digit gets `key_` in front, one starting with a single `_` gets
/// `key`.
pub(crate) fn stored_label(key: &str, strategy: TranslationStrategy) -> String {
    if !strategy.escapes() || key.is_empty() {
        return key.to_owned();
    }
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    out
}

/// A metric or label name in a PromQL selector: bare when it is a legacy
/// name, else quoted as Prometheus 3 reads UTF-8 names (`{"mailbox.posts"}`).
#[doc(hidden)]
pub fn promql_name(name: &str) -> String {
    let legacy = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    }) && !name.is_empty();
    if legacy {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

impl Metadata {
    /// The name the backend stores for this metric under `strategy`, by
    /// Prometheus's translation rules (unit words, `_total`, `_ratio`,
    /// escaping). For a histogram it is the base name: `_bucket`, `_count`
    /// and `_sum` follow from it.
    ///
    /// ```
    /// use telemetry_runtime::{declare_static_counter, TranslationStrategy as T};
    /// declare_static_counter!(POSTS, "doc.mailbox.posts");
    /// let m = POSTS.metadata();
    /// assert_eq!(m.stored_name(T::UnderscoreEscapingWithSuffixes), "doc_mailbox_posts_total");
    /// assert_eq!(m.stored_name(T::NoUTF8EscapingWithSuffixes), "doc.mailbox.posts_total");
    /// assert_eq!(m.stored_name(T::NoTranslation), "doc.mailbox.posts");
    /// ```
    pub fn stored_name(&self, strategy: TranslationStrategy) -> String {
        strategy.metric_name(self.name, self.unit, self.kind)
    }

    /// The label name the backend stores for attribute `key` under
    /// `strategy`.
    ///
    /// ```
    /// use telemetry_runtime::{declare_static_counter, TranslationStrategy as T};
    /// declare_static_counter!(POSTS, "doc.label.posts");
    /// let m = POSTS.metadata();
    /// assert_eq!(m.stored_label(T::UnderscoreEscapingWithSuffixes, "http.request.method"), "http_request_method");
    /// assert_eq!(m.stored_label(T::NoTranslation, "http.request.method"), "http.request.method");
    /// ```
    pub fn stored_label(&self, strategy: TranslationStrategy, key: &str) -> String {
        strategy.label(key)
    }
}

#[cfg(test)]
mod tests {
    use super::NameKind::*;
    use super::*;

    /// Cases from Prometheus's translator rules: (name, unit, kind) and the
    /// stored name under each strategy, in the order of
    /// [`TranslationStrategy::ALL`].
    #[test]
    fn stored_names_follow_prometheus_rules() {
        let cases: &[(&str, &str, NameKind, [&str; 4])] = &[
            // Counters get `_total`, once.
            (
                "mailbox.posts",
                "",
                MonotonicCounter,
                [
                    "mailbox_posts_total",
                    "mailbox_posts",
                    "mailbox.posts_total",
                    "mailbox.posts",
                ],
            ),
            (
                "http_requests_total",
                "",
                MonotonicCounter,
                [
                    "http_requests_total",
                    "http_requests_total",
                    "http_requests_total",
                    "http_requests_total",
                ],
            ),
            (
                "requests.total.count",
                "",
                MonotonicCounter,
                [
                    "requests_count_total",
                    "requests_total_count",
                    "requests.total.count_total",
                    "requests.total.count",
                ],
            ),
            // A non-monotonic sum gets none.
            (
                "proc.actors.active",
                "{actor}",
                Sum,
                [
                    "proc_actors_active",
                    "proc_actors_active",
                    "proc.actors.active",
                    "proc.actors.active",
                ],
            ),
            // Units: the word once, annotations none.
            (
                "http.server.request.duration",
                "s",
                Histogram,
                [
                    "http_server_request_duration_seconds",
                    "http_server_request_duration",
                    "http.server.request.duration_seconds",
                    "http.server.request.duration",
                ],
            ),
            (
                "rpc_latency_seconds",
                "s",
                Histogram,
                [
                    "rpc_latency_seconds",
                    "rpc_latency_seconds",
                    "rpc_latency_seconds",
                    "rpc_latency_seconds",
                ],
            ),
            (
                "process.memory.usage",
                "By",
                Gauge,
                [
                    "process_memory_usage_bytes",
                    "process_memory_usage",
                    "process.memory.usage_bytes",
                    "process.memory.usage",
                ],
            ),
            (
                "cpu.time",
                "s",
                MonotonicCounter,
                [
                    "cpu_time_seconds_total",
                    "cpu_time",
                    "cpu.time_seconds_total",
                    "cpu.time",
                ],
            ),
            (
                "disk.io",
                "TiBy",
                MonotonicCounter,
                [
                    "disk_io_tibibytes_total",
                    "disk_io",
                    "disk.io_tibibytes_total",
                    "disk.io",
                ],
            ),
            (
                "net.speed",
                "By/s",
                Gauge,
                [
                    "net_speed_bytes_per_second",
                    "net_speed",
                    "net.speed_bytes_per_second",
                    "net.speed",
                ],
            ),
            (
                "actor.message_handler_duration.ns",
                "ns",
                Histogram,
                [
                    "actor_message_handler_duration_ns_nanoseconds",
                    "actor_message_handler_duration_ns",
                    "actor.message_handler_duration.ns_nanoseconds",
                    "actor.message_handler_duration.ns",
                ],
            ),
            (
                "queue.items",
                "{item}",
                Gauge,
                ["queue_items", "queue_items", "queue.items", "queue.items"],
            ),
            (
                "odd",
                "furlongs",
                Gauge,
                ["odd_furlongs", "odd", "odd_furlongs", "odd"],
            ),
            (
                "odd.rate",
                "km.h/fortnight",
                Gauge,
                [
                    "odd_rate_km_h_per_fortnight",
                    "odd_rate",
                    "odd.rate_km.h_per_fortnight",
                    "odd.rate",
                ],
            ),
            // `1`: `_ratio` on gauges only.
            (
                "cpu.utilization",
                "1",
                Gauge,
                [
                    "cpu_utilization_ratio",
                    "cpu_utilization",
                    "cpu.utilization_ratio",
                    "cpu.utilization",
                ],
            ),
            (
                "load_ratio",
                "1",
                Gauge,
                ["load_ratio", "load_ratio", "load_ratio", "load_ratio"],
            ),
            (
                "errors",
                "1",
                MonotonicCounter,
                ["errors_total", "errors", "errors_total", "errors"],
            ),
            // Leading digits, repeated and odd characters.
            (
                "5xx.errors",
                "",
                MonotonicCounter,
                [
                    "_5xx_errors_total",
                    "_5xx_errors",
                    "5xx.errors_total",
                    "5xx.errors",
                ],
            ),
            (
                "a__b..c",
                "",
                Gauge,
                ["a_b_c", "a__b_c", "a__b..c", "a__b..c"],
            ),
            (
                "sys/cpu-seconds",
                "s",
                Gauge,
                [
                    "sys_cpu_seconds",
                    "sys_cpu_seconds",
                    "sys/cpu-seconds",
                    "sys/cpu-seconds",
                ],
            ),
        ];
        for (name, unit, kind, want) in cases {
            for (s, w) in TranslationStrategy::ALL.into_iter().zip(want) {
                assert_eq!(
                    stored_name(name, unit, *kind, s),
                    *w,
                    "{name} {unit:?} {kind:?} under {s}"
                );
            }
        }
    }

    #[test]
    fn stored_labels_follow_prometheus_rules() {
        let cases: &[(&str, &str)] = &[
            ("http.request.method", "http_request_method"),
            ("k8s.cluster.name", "k8s_cluster_name"),
            ("status", "status"),
            ("1abc", "key_1abc"),
            ("_x", "key_x"),
            ("__name__", "__name__"),
            ("a..b", "a__b"),
            ("kéy", "k_y"),
        ];
        for (key, escaped) in cases {
            for s in TranslationStrategy::ALL {
                let want = if s.escapes() { *escaped } else { *key };
                assert_eq!(stored_label(key, s), want, "{key} under {s}");
            }
        }
    }

    #[test]
    fn promql_names_are_quoted_when_not_legacy() {
        assert_eq!(promql_name("mailbox_posts_total"), "mailbox_posts_total");
        assert_eq!(promql_name("mailbox.posts"), "\"mailbox.posts\"");
        assert_eq!(promql_name("5x"), "\"5x\"");
        assert_eq!(promql_name("a\"b"), "\"a\\\"b\"");
    }
}
