//! Prometheus's OTLP translation strategies: what the backend stores for
//! the names and attribute keys this crate sends as declared.

use std::fmt;
use std::str::FromStr;

/// How the backend turns OpenTelemetry names into Prometheus names: its
/// `otlp.translation_strategy`, spelled as in `prometheus.yml`. Set it
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
