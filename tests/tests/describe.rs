//! The catalog's own description: Markdown and JSON (golden files), and
//! every generated PromQL expression, dashboard query and rule run against
//! the real backend on data recorded here, with the expected numbers.

use std::collections::BTreeMap;
use std::time::Duration;
use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram,
    declare_static_up_down_counter, kv_pairs, metered, Counter, LabelSet, LabelValue, Metrics,
    QueryOptions,
};
use tests::{backend, setup};

declare_static_counter!(
    REQUESTS,
    "describe_requests_total",
    description = "Requests served."
);
declare_static_histogram!(
    LATENCY,
    "describe_latency_seconds",
    unit = "s",
    buckets = [0.1, 0.5, 1.0]
);
declare_static_up_down_counter!(QUEUE, "describe_queue_items", description = "Items queued.");
declare_static_gauge!(TEMP, "describe_temperature_celsius", unit = "Cel");

#[derive(LabelValue, Clone, Copy)]
enum Tier {
    Free,
    Paid,
}

#[derive(LabelSet, Clone, Copy)]
struct TierLabels {
    tier: Tier,
}

#[derive(Metrics)]
#[metrics(prefix = "describe")]
struct Billing {
    /// Invoices sent.
    invoices_total: Counter<TierLabels>,
}

#[metered(
    buckets = [0.001, 1.0],
    histogram = "describe_call_duration_seconds",
    objective(latency = 0.1, percentile = 0.9, error_ratio = 0.2)
)]
fn work(i: u32) -> Result<(), String> {
    std::thread::sleep(Duration::from_millis(2));
    if i % 10 < 3 {
        Err("odd".into())
    } else {
        Ok(())
    }
}

fn golden(name: &str, actual: &str) {
    let path = tests::repo_root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{name} changed; run with UPDATE_GOLDEN=1 and review"
    );
}

#[test]
fn markdown_and_json_match_their_golden_files() {
    setup();
    let c = telemetry_runtime::catalog();
    // One strategy for the golden files, whichever the backend runs.
    let strategy = telemetry_runtime::TranslationStrategy::UnderscoreEscapingWithSuffixes;
    golden("catalog.md", &c.to_markdown_for(strategy));
    golden("catalog.json", &c.to_json_for(strategy));
    let parsed: serde_json::Value = serde_json::from_str(&c.to_json_for(strategy)).unwrap();
    let names: Vec<&str> = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "describe_call_duration_seconds",
            "describe_invoices_total",
            "describe_latency_seconds",
            "describe_queue_items",
            "describe_requests_total",
            "describe_temperature_celsius",
            "function_calls_in_flight",
            "function_calls_total",
            "otel.sdk.exporter.attempts",
            "otel.sdk.exporter.metric_data_point.exported",
            "otel.sdk.exporter.operation.duration",
            "otel.sdk.exporter.operation.last_duration",
            "otel.sdk.exporter.request.bytes",
            "otel.sdk.exporter.retries",
            "otel.sdk.metric.measurement.dropped",
            "otel.sdk.metric.measurement.overflowed",
            "otel.sdk.metric.series",
        ]
    );
    // The dashboard shows them in a row of their own.
    let dash = c.grafana_dashboard(&telemetry_runtime::QueryOptions::default());
    assert!(dash.contains("\"title\": \"telemetry health\""));
}

/// What each generated query must return on the data of `record()`, by
/// (group, title). `None`: any positive finite value (rates over an
/// unknown span).
fn expected() -> BTreeMap<(&'static str, &'static str), Option<f64>> {
    let mut e = BTreeMap::new();
    for (g, t, v) in [
        (
            "describe_requests_total",
            "describe_requests_total rate",
            None,
        ),
        (
            "describe_requests_total",
            "describe_requests_total increase",
            Some(10.0),
        ),
        (
            "describe_latency_seconds",
            "describe_latency_seconds p50",
            Some(0.3),
        ),
        (
            "describe_latency_seconds",
            "describe_latency_seconds p95",
            Some(0.48),
        ),
        (
            "describe_latency_seconds",
            "describe_latency_seconds p99",
            Some(0.496),
        ),
        (
            "describe_latency_seconds",
            "describe_latency_seconds average",
            Some(0.2),
        ),
        (
            "describe_latency_seconds",
            "describe_latency_seconds rate",
            None,
        ),
        ("describe_queue_items", "describe_queue_items", Some(3.0)),
        (
            "describe_queue_items",
            "describe_queue_items max",
            Some(3.0),
        ),
        (
            "describe_temperature_celsius",
            "describe_temperature_celsius",
            Some(21.5),
        ),
        (
            "describe_temperature_celsius",
            "describe_temperature_celsius max",
            Some(21.5),
        ),
        (
            "describe_invoices_total",
            "describe_invoices_total rate",
            None,
        ),
        (
            "describe_invoices_total",
            "describe_invoices_total increase",
            Some(5.0),
        ),
        (
            "describe_invoices_total",
            "describe_invoices_total rate by tier",
            None,
        ),
        ("work (describe)", "calls per second", None),
        ("work (describe)", "error ratio", Some(0.3)),
        (
            "work (describe)",
            "describe_call_duration_seconds p50",
            Some(0.5005),
        ),
        (
            "work (describe)",
            "describe_call_duration_seconds p95",
            Some(0.95005),
        ),
        (
            "work (describe)",
            "describe_call_duration_seconds p99",
            Some(0.99001),
        ),
        (
            "work (describe)",
            "describe_call_duration_seconds average",
            None,
        ),
        (
            "work (describe)",
            "describe_call_duration_seconds rate",
            None,
        ),
        ("work (describe)", "in flight", Some(0.0)),
    ] {
        e.insert((g, t), v);
    }
    e
}

fn record() {
    // Every series exists (at zero) in a first export, so that increase()
    // and rate() see where it started.
    let get = REQUESTS.bind(kv_pairs!("method" => "GET"));
    let post = REQUESTS.bind(kv_pairs!("method" => "POST"));
    let lat = LATENCY.bind(&[]);
    QUEUE.add(0, &[]);
    TEMP.record(0.0, &[]);
    let billing = Billing::global();
    let paid = billing.invoices_total.bind(TierLabels { tier: Tier::Paid });
    let free = billing.invoices_total.bind(TierLabels { tier: Tier::Free });
    telemetry_runtime::flush().expect("baseline flush");
    // Distinct sample timestamps for the two exports.
    std::thread::sleep(Duration::from_millis(1100));
    get.add(6);
    post.add(4);
    for _ in 0..4 {
        lat.record(0.2);
    }
    QUEUE.add(5, &[]);
    QUEUE.add(-2, &[]);
    TEMP.record(21.5, &[]);
    paid.add(3);
    free.add(2);
    for i in 0..10 {
        let _ = work(i);
    }
    telemetry_runtime::flush().expect("flush");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn every_generated_query_returns_the_expected_numbers() {
    let id = setup();
    record();
    let b = backend();
    let cat = telemetry_runtime::catalog();
    let opts = QueryOptions {
        selector: format!("{}=\"{id}\"", b.instance_label()),
        window: "1h".into(),
        native_histograms: false,
        job_label: b.job_label().into(),
        instance_label: b.instance_label().into(),
        error_ratio_alert: 0.05,
        strategy: b.strategy,
        resource_attributes: Vec::new(),
    };
    let want = expected();
    let mut checked = 0;
    for (group, queries) in cat.queries(&opts) {
        for q in queries {
            if group.starts_with("otel.sdk.") {
                // The runtime's own health (its values depend on the
                // exports of this run): each query runs and returns
                // finite numbers.
                b.wait_until(&q.expr, |r| {
                    !r.is_empty() && r.iter().all(|s| s.1.is_finite())
                });
                continue;
            }
            let key = want
                .keys()
                .find(|(g, t)| *g == group && *t == q.title)
                .unwrap_or_else(|| panic!("no expectation for {group} / {}: {}", q.title, q.expr));
            let expect = want[key];
            let extrapolated = q.title.ends_with(" increase");
            let r = b.wait_until(&q.expr, |r| {
                let total: f64 = r.iter().map(|s| s.1).sum();
                !r.is_empty()
                    && match expect {
                        Some(v) => b.matches(total, v, extrapolated),
                        None => total.is_finite() && total > 0.0,
                    }
            });
            assert!(!r.is_empty(), "{}", q.expr);
            checked += 1;
        }
    }
    assert_eq!(checked, want.len());

    // The dashboard: valid JSON, templated, and every panel's query runs
    // (with $job and $instance set to this process) and returns data.
    let dash: serde_json::Value = serde_json::from_str(&cat.grafana_dashboard(&opts)).unwrap();
    assert_eq!(dash["schemaVersion"], 39);
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "job", "instance"]);
    let mut panels = 0;
    for p in dash["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            continue;
        }
        assert!(p["gridPos"]["w"].as_u64().unwrap() > 0);
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$job", "e2e")
                .replace("$instance", id);
            b.wait_until(&expr, |r| !r.is_empty());
            panels += 1;
        }
    }
    assert!(panels >= checked, "{panels} dashboard queries");

    // The rules: every recording rule runs and returns data, and the
    // error-ratio alert fires on this data (0.3 > 0.05).
    let rules = cat.prometheus_rules(&opts);
    for (name, expr) in cat.rule_expressions(&opts) {
        assert!(rules.contains(name.split(':').next().unwrap()), "{name}");
        assert!(rules.contains(&expr.replace('"', "\\\"")), "{expr}");
        let r = b.wait_until(&expr, |r| !r.is_empty());
        if name.starts_with("function:function_errors")
            || name == "MeteredFunctionErrorRatioHigh"
            || name.starts_with("MeteredFunctionErrorObjective")
        {
            // The error ratio (0.3) is above both thresholds: they fire.
            assert!(close(r[0].1, 0.3), "{r:?}");
        }
        if name.starts_with("MeteredFunctionLatencyObjective") {
            // p90 = 0.001 + 0.999 * 0.9 = 0.9001 > 0.1: it fires.
            assert!(close(r[0].1, 0.9001), "{r:?}");
        }
    }
}
