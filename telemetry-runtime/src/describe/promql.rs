//! The PromQL a user needs for each metric, chosen by kind and unit.

use super::{MeteredFunction, MetricSummary};
use crate::meta::InstrumentKind;
use crate::translation::promql_name;
use crate::translation::TranslationStrategy;

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
    /// The backend's translation strategy: every expression uses the
    /// names it stores, quoted as Prometheus 3 reads UTF-8 names
    /// (`{"mailbox.posts"}`). Default: `HYPERACTOR_OTEL_TRANSLATION_STRATEGY`.
    pub strategy: TranslationStrategy,
    /// Resource attributes (as declared, `k8s.cluster.name`) to bring onto
    /// each counter's rate from `target_info`, with
    /// `* on (job, instance) group_left (..) target_info`.
    pub resource_attributes: Vec<String>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            selector: String::new(),
            window: "5m".into(),
            native_histograms: crate::config::exponential_histograms(),
            job_label: "job".into(),
            instance_label: "instance".into(),
            error_ratio_alert: 0.05,
            strategy: crate::config::current().translation_strategy,
            resource_attributes: Vec::new(),
        }
    }
}

impl QueryOptions {
    /// A label name as the backend stores attribute `key`, ready for
    /// PromQL (quoted when it is not a legacy name).
    pub fn label(&self, key: &str) -> String {
        promql_name(&self.strategy.label(key))
    }

    /// The stored name of a metric declared as `name` with `unit` and
    /// `kind`.
    pub fn stored_name(&self, name: &str, unit: &str, kind: InstrumentKind) -> String {
        self.strategy.metric_name(name, unit, kind)
    }
}

/// The series selector of metric `name` (as stored) with `s`, a selector
/// from [`sel`] (`{a="b"}` or nothing): `name{a="b"}` for a legacy name,
/// `{"mailbox.posts",a="b"}` for another.
pub(super) fn series(name: &str, s: &str) -> String {
    let quoted = promql_name(name);
    if !quoted.starts_with('"') {
        return format!("{name}{s}");
    }
    match s.strip_prefix('{') {
        Some(rest) => format!("{{{quoted},{rest}"),
        None => format!("{{{quoted}}}"),
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

/// The queries of one histogram declared as `name` (stored as `stored`)
/// over `s` (a selector).
pub(super) fn histogram(
    name: &str,
    stored: &str,
    unit: &str,
    s: &str,
    opts: &QueryOptions,
) -> Vec<Query> {
    let w = &opts.window;
    let u = value_unit(unit);
    let of = |suffix: &str| series(&format!("{stored}{suffix}"), s);
    let mut out = Vec::new();
    if opts.native_histograms {
        let h = of("");
        for (quantile, label) in QUANTILES {
            out.push(q(
                format!("{name} {label}"),
                format!("histogram_quantile({quantile}, sum(rate({h}[{w}])))"),
                u,
            ));
        }
        out.push(q(
            format!("{name} average"),
            format!("histogram_avg(sum(rate({h}[{w}])))"),
            u,
        ));
        out.push(q(
            format!("{name} rate"),
            format!("histogram_count(sum(rate({h}[{w}])))"),
            "ops",
        ));
    } else {
        let (bucket, sum, count) = (of("_bucket"), of("_sum"), of("_count"));
        for (quantile, label) in QUANTILES {
            out.push(q(
                format!("{name} {label}"),
                format!("histogram_quantile({quantile}, sum by (le) (rate({bucket}[{w}])))"),
                u,
            ));
        }
        out.push(q(
            format!("{name} average"),
            format!("sum(rate({sum}[{w}])) / sum(rate({count}[{w}]))"),
            u,
        ));
        out.push(q(
            format!("{name} rate"),
            format!("sum(rate({count}[{w}]))"),
            "ops",
        ));
    }
    out
}

pub(super) fn for_metric(m: &MetricSummary, opts: &QueryOptions) -> Vec<Query> {
    let w = &opts.window;
    let name = m.name;
    let stored = opts.stored_name(m.name, m.unit, m.kind);
    let x = series(&stored, &sel(&[], opts));
    let keys: Vec<&str> = m.labels.iter().map(|(k, _)| k.as_str()).collect();
    let by: Vec<String> = keys.iter().map(|k| opts.label(k)).collect();
    match m.kind {
        InstrumentKind::Counter => {
            let mut out = vec![
                q(
                    format!("{name} rate"),
                    format!("sum(rate({x}[{w}]))"),
                    rate_unit(m.unit),
                ),
                q(
                    format!("{name} increase"),
                    format!("sum(increase({x}[{w}]))"),
                    value_unit(m.unit),
                ),
            ];
            if !by.is_empty() {
                out.push(q(
                    format!("{name} rate by {}", keys.join(", ")),
                    format!("sum by ({}) (rate({x}[{w}]))", by.join(", ")),
                    rate_unit(m.unit),
                ));
            }
            if !opts.resource_attributes.is_empty() {
                let res: Vec<String> = opts
                    .resource_attributes
                    .iter()
                    .map(|k| opts.label(k))
                    .collect();
                let res = res.join(", ");
                out.push(q(
                    format!("{name} rate by {}", opts.resource_attributes.join(", ")),
                    format!(
                        "sum by ({res}) (rate({x}[{w}]) * on ({job}, {instance}) group_left ({res}) target_info)",
                        job = opts.job_label,
                        instance = opts.instance_label,
                    ),
                    rate_unit(m.unit),
                ));
            }
            out
        }
        InstrumentKind::UpDownCounter => vec![
            q(name.to_string(), format!("sum({x})"), value_unit(m.unit)),
            // Peak of each series over the window, summed (no subquery, so
            // it needs no step alignment).
            q(
                format!("{name} max"),
                format!("sum(max_over_time({x}[{w}]))"),
                value_unit(m.unit),
            ),
        ],
        InstrumentKind::Gauge => vec![
            q(name.to_string(), x.clone(), value_unit(m.unit)),
            q(
                format!("{name} max"),
                format!("max_over_time({x}[{w}])"),
                value_unit(m.unit),
            ),
        ],
        InstrumentKind::Histogram => histogram(name, &stored, m.unit, &sel(&[], opts), opts),
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
        let stored = opts.stored_name(h, "s", InstrumentKind::Histogram);
        out.extend(histogram(h, &stored, "s", &s, opts));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> MetricSummary {
        MetricSummary {
            name: "http.server.requests",
            kind: InstrumentKind::Counter,
            unit: "",
            description: "",
            labels: vec![("http.request.method".into(), Vec::new())],
            buckets: &[],
            declared_at: Vec::new(),
        }
    }

    fn exprs(strategy: TranslationStrategy) -> Vec<String> {
        let opts = QueryOptions {
            strategy,
            window: "2m".into(),
            selector: String::new(),
            resource_attributes: vec!["k8s.cluster.name".into()],
            ..QueryOptions::default()
        };
        for_metric(&counter(), &opts)
            .into_iter()
            .map(|q| q.expr)
            .collect()
    }

    /// The seed's join under Prometheus's default strategy, and its
    /// quoted form under `NoTranslation`; stored names in every query.
    #[test]
    fn counters_use_stored_names_and_join_resource_attributes() {
        assert_eq!(
            exprs(TranslationStrategy::UnderscoreEscapingWithSuffixes),
            [
                "sum(rate(http_server_requests_total[2m]))",
                "sum(increase(http_server_requests_total[2m]))",
                "sum by (http_request_method) (rate(http_server_requests_total[2m]))",
                "sum by (k8s_cluster_name) (rate(http_server_requests_total[2m]) * on (job, instance) group_left (k8s_cluster_name) target_info)",
            ]
        );
        assert_eq!(
            exprs(TranslationStrategy::NoTranslation),
            [
                "sum(rate({\"http.server.requests\"}[2m]))",
                "sum(increase({\"http.server.requests\"}[2m]))",
                "sum by (\"http.request.method\") (rate({\"http.server.requests\"}[2m]))",
                "sum by (\"k8s.cluster.name\") (rate({\"http.server.requests\"}[2m]) * on (job, instance) group_left (\"k8s.cluster.name\") target_info)",
            ]
        );
    }

    #[test]
    fn series_selectors_put_utf8_names_inside_the_braces() {
        assert_eq!(series("a_total", ""), "a_total");
        assert_eq!(series("a_total", "{x=\"1\"}"), "a_total{x=\"1\"}");
        assert_eq!(series("a.b", ""), "{\"a.b\"}");
        assert_eq!(series("a.b", "{x=\"1\"}"), "{\"a.b\",x=\"1\"}");
    }
}
