//! What a declaration says about its metric: name, kind, unit, buckets,
//! labels, where it was written. Plain data, built at compile time by the
//! macros and read by every layer above.

use std::fmt;

/// The kind of an instrument, as OpenTelemetry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstrumentKind {
    /// A monotonic sum (`Counter`); exported as a cumulative OTLP sum.
    Counter,
    /// A sum that goes up and down (`UpDownCounter`); a non-monotonic sum.
    UpDownCounter,
    /// The last value set (`Gauge`).
    Gauge,
    /// A distribution in explicit buckets (`Histogram`).
    Histogram,
}

impl InstrumentKind {
    /// The lower-case name used in messages and in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            InstrumentKind::Counter => "counter",
            InstrumentKind::UpDownCounter => "up_down_counter",
            InstrumentKind::Gauge => "gauge",
            InstrumentKind::Histogram => "histogram",
        }
    }
}

impl fmt::Display for InstrumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a metric was declared in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// Source file, as `file!()` gives it.
    pub file: &'static str,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
    /// Module path, as `module_path!()` gives it.
    pub module_path: &'static str,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Everything known at compile time about one declared metric.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The metric's name on the wire and in Prometheus.
    pub name: &'static str,
    /// Its kind.
    pub kind: InstrumentKind,
    /// Its unit (UCUM, e.g. `s`, `By`), or `""`.
    pub unit: &'static str,
    /// Its description, or `""`.
    pub description: &'static str,
    /// Upper bounds of the histogram buckets, ascending; empty for other kinds.
    pub buckets: &'static [f64],
    /// Where it was declared.
    pub location: Location,
    /// Attribute sets kept before new ones go to the overflow series.
    pub cardinality_limit: usize,
    /// Attributes added to every series of this declaration (for example the
    /// `function` and `module` labels of a metered function).
    pub const_attributes: &'static [(&'static str, &'static str)],
    /// Attribute sets exported as zero before anything is recorded (for
    /// example `result="ok"`, `"error"`, `"panic"` of a metered function),
    /// so that `rate()` works from the first export. `&[&[]]` for one
    /// unlabelled zero point.
    pub zero_series: &'static [&'static [(&'static str, &'static str)]],
    /// The label keys of a typed label set (`#[derive(LabelSet)]`), in
    /// field order; empty when attributes are free-form.
    pub label_keys: &'static [&'static str],
    /// For each of `label_keys`, its fixed values when known (enums, `bool`),
    /// else an empty slice.
    pub label_values: &'static [&'static [&'static str]],
    /// Service-level objectives, as `(name, value)`: `latency_seconds`,
    /// `percentile` and `error_ratio` (from `#[metered(objective(..))]`).
    pub objectives: &'static [(&'static str, f64)],
}

/// The module that declares the runtime's own health metrics (`otel.sdk.*`,
/// `health.rs` checks that it is its own path).
pub(crate) const HEALTH_MODULE: &str = "telemetry_runtime::health";

impl Metadata {
    /// Whether this is one of the runtime's own health metrics.
    pub(crate) fn is_runtime_health(&self) -> bool {
        self.location.module_path == HEALTH_MODULE
    }
}

/// Default buckets of `function_call_duration_seconds`: 1 µs to 60 s.
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
];

/// Default buckets of a histogram with unit `s` (Prometheus's defaults).
pub const DEFAULT_SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Default buckets of a histogram with unit `ms`.
pub const DEFAULT_MILLISECONDS_BUCKETS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];
/// Default buckets of any other histogram (OpenTelemetry's defaults).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];
