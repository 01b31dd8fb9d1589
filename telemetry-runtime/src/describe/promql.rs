//! The PromQL a user needs for each metric, chosen by kind and unit.

use super::{MeteredFunction, MetricSummary};
use crate::registry::InstrumentKind;

/// How the generated queries are written.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    /// Extra matchers added to every selector, e.g.
    /// `job="$job",instance=~"$instance"` (the dashboard's default).
    pub selector: String,
    /// Range of `rate()`, `increase()` and `*_over_time()`.
    pub window: String,
    /// Whether histograms are exponential (Prometheus native histograms).
    pub native_histograms: bool,
    /// The label that holds `service.name` (`job` in Prometheus).
    pub job_label: String,
    /// The label that holds `service.instance.id` (`instance` in Prometheus).
    pub instance_label: String,
    /// Error ratio above which the generated alert fires.
    pub error_ratio_alert: f64,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            selector: String::new(),
            window: "5m".into(),
            native_histograms: crate::storage::table::exponential_histograms(),
            job_label: "job".into(),
            instance_label: "instance".into(),
            error_ratio_alert: 0.05,
        }
    }
}

/// One generated query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// What it shows.
    pub title: String,
    /// The PromQL expression.
    pub expr: String,
    /// Grafana's unit for it (`s`, `ops`, `percentunit`, `bytes`, `short`).
    pub unit: &'static str,
}

fn q(title: impl Into<String>, expr: String, unit: &'static str) -> Query {
    Query {
        title: title.into(),
        expr,
        unit,
    }
}

/// A PromQL string literal body.
pub(super) fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `{a="b",<opts.selector>}` or nothing.
pub(super) fn sel(matchers: &[String], opts: &QueryOptions) -> String {
    let mut all: Vec<&str> = matchers.iter().map(String::as_str).collect();
    if !opts.selector.is_empty() {
        all.push(&opts.selector);
    }
    if all.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", all.join(","))
    }
}

fn value_unit(unit: &str) -> &'static str {
    match unit {
        "s" => "s",
        "ms" => "ms",
        "By" => "bytes",
        "1" => "percentunit",
        _ => "short",
    }
}

fn rate_unit(unit: &str) -> &'static str {
    match unit {
        "By" => "Bps",
        "s" => "short",
        _ => "ops",
    }
}

/// The quantiles every histogram gets.
pub const QUANTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")];

/// The queries of one histogram over `s` (a selector).
pub(super) fn histogram(name: &str, unit: &str, s: &str, opts: &QueryOptions) -> Vec<Query> {
    let w = &opts.window;
    let u = value_unit(unit);
    let mut out = Vec::new();
    if opts.native_histograms {
        for (quantile, label) in QUANTILES {
            out.push(q(
                format!("{name} {label}"),
                format!("histogram_quantile({quantile}, sum(rate({name}{s}[{w}])))"),
                u,
            ));
        }
        out.push(q(
            format!("{name} average"),
            format!("histogram_avg(sum(rate({name}{s}[{w}])))"),
            u,
        ));
        out.push(q(
            format!("{name} rate"),
            format!("histogram_count(sum(rate({name}{s}[{w}])))"),
            "ops",
        ));
    } else {
        for (quantile, label) in QUANTILES {
            out.push(q(
                format!("{name} {label}"),
                format!(
                    "histogram_quantile({quantile}, sum by (le) (rate({name}_bucket{s}[{w}])))"
                ),
                u,
            ));
        }
        out.push(q(
            format!("{name} average"),
            format!("sum(rate({name}_sum{s}[{w}])) / sum(rate({name}_count{s}[{w}]))"),
            u,
        ));
        out.push(q(
            format!("{name} rate"),
            format!("sum(rate({name}_count{s}[{w}]))"),
            "ops",
        ));
    }
    out
}

pub(super) fn for_metric(m: &MetricSummary, opts: &QueryOptions) -> Vec<Query> {
    let s = sel(&[], opts);
    let w = &opts.window;
    let name = m.name;
    let by: Vec<&str> = m.labels.iter().map(|(k, _)| k.as_str()).collect();
    match m.kind {
        InstrumentKind::Counter => {
            let mut out = vec![
                q(
                    format!("{name} rate"),
                    format!("sum(rate({name}{s}[{w}]))"),
                    rate_unit(m.unit),
                ),
                q(
                    format!("{name} increase"),
                    format!("sum(increase({name}{s}[{w}]))"),
                    value_unit(m.unit),
                ),
            ];
            if !by.is_empty() {
                out.push(q(
                    format!("{name} rate by {}", by.join(", ")),
                    format!("sum by ({}) (rate({name}{s}[{w}]))", by.join(", ")),
                    rate_unit(m.unit),
                ));
            }
            out
        }
        InstrumentKind::UpDownCounter => vec![
            q(
                name.to_string(),
                format!("sum({name}{s})"),
                value_unit(m.unit),
            ),
            // Peak of each series over the window, summed (no subquery, so
            // it needs no step alignment).
            q(
                format!("{name} max"),
                format!("sum(max_over_time({name}{s}[{w}]))"),
                value_unit(m.unit),
            ),
        ],
        InstrumentKind::Gauge => vec![
            q(name.to_string(), format!("{name}{s}"), value_unit(m.unit)),
            q(
                format!("{name} max"),
                format!("max_over_time({name}{s}[{w}])"),
                value_unit(m.unit),
            ),
        ],
        InstrumentKind::Histogram => histogram(name, m.unit, &s, opts),
    }
}

/// The selectors of one metered function: all its calls, and its failed
/// ones (`result` is `error` or `panic`).
pub(super) fn function_selectors(f: &MeteredFunction, opts: &QueryOptions) -> (String, String) {
    let m = vec![
        format!("function=\"{}\"", escape(&f.function)),
        format!("module=\"{}\"", escape(&f.module)),
    ];
    let mut errs = m.clone();
    errs.push("result=~\"error|panic\"".into());
    (sel(&m, opts), sel(&errs, opts))
}

/// The RED set of one metered function: rate, errors, duration, in flight.
pub(super) fn red(f: &MeteredFunction, opts: &QueryOptions) -> Vec<Query> {
    let (s, se) = function_selectors(f, opts);
    let w = &opts.window;
    let mut out = Vec::new();
    if f.calls {
        out.push(q(
            "calls per second",
            format!("sum(rate(function_calls_total{s}[{w}]))"),
            "ops",
        ));
        out.push(q(
            "error ratio",
            format!(
                "sum(rate(function_calls_total{se}[{w}])) / sum(rate(function_calls_total{s}[{w}]))"
            ),
            "percentunit",
        ));
    }
    if let Some(h) = &f.histogram {
        out.extend(histogram(h, "s", &s, opts));
    }
    if f.in_flight {
        out.push(q(
            "in flight",
            format!("sum(function_calls_in_flight{s})"),
            "short",
        ));
    }
    out
}

pub(super) fn all(
    metrics: &[MetricSummary],
    functions: &[MeteredFunction],
    opts: &QueryOptions,
) -> Vec<(String, Vec<Query>)> {
    let mut out: Vec<(String, Vec<Query>)> = metrics
        .iter()
        .filter(|m| !m.is_metered())
        .map(|m| (m.name.to_owned(), for_metric(m, opts)))
        .collect();
    for f in functions {
        out.push((format!("{} ({})", f.function, f.module), red(f, opts)));
    }
    out
}
