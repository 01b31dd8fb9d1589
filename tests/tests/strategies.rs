//! What users query, under both of VictoriaMetrics' naming modes: as sent
//! (Prometheus's `NoTranslation`) and with `-opentelemetry.usePrometheusNaming`
//! (Prometheus's default, `UnderscoreEscapingWithSuffixes`). For every
//! metric `strategies_child` declares, the backend's list of stored names
//! equals the catalog's prediction under the matching strategy, and every
//! generated query returns the expected number.

use std::process::Command;
use telemetry_runtime::TranslationStrategy;
use tests::vm::{Vm, VmOptions};

/// What each generated query returns on the child's workload, by title.
fn expected(title: &str) -> f64 {
    match title {
        "strategy.requests increase" => 10.0,
        "strategy.bytes.sent increase" => 512.0,
        "strategy.queue.items" | "strategy.queue.items max" => 3.0,
        "strategy.cpu.utilization" | "strategy.cpu.utilization max" => 0.25,
        "strategy.memory.usage" | "strategy.memory.usage max" => 1024.0,
        // Four values of 0.2 in the bucket (0.1, 1]: interpolated.
        "strategy.rpc.duration p50" => 0.1 + 0.9 * 0.5,
        "strategy.rpc.duration p95" => 0.1 + 0.9 * 0.95,
        "strategy.rpc.duration p99" => 0.1 + 0.9 * 0.99,
        "strategy.rpc.duration average" => 0.2,
        // The metered function: 10 calls, 3 errors, every one under a
        // second (the first bucket, [0, 1]).
        "error ratio" => 0.3,
        "in flight" => 0.0,
        "strategy.step.duration p50" => 0.5,
        "strategy.step.duration p95" => 0.95,
        "strategy.step.duration p99" => 0.99,
        // Rates over an unknown span: only their sign is known.
        _ => f64::NAN,
    }
}

fn check(vm: &Vm, strategy: TranslationStrategy, instance_label: &str, instance: &str) {
    let selector = format!(
        "{}=\"{instance}\"",
        telemetry_runtime::__private::promql_name(instance_label)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_strategies_child"))
        .env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", vm.otlp_endpoint())
        .env("OTEL_SERVICE_INSTANCE_ID", instance)
        .env("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", strategy.as_str())
        .env("STRATEGY_SELECTOR", &selector)
        // Its series are read after it exited, with instant queries.
        .env("HYPERACTOR_OTEL_STALE_MARKERS", "off")
        .output()
        .expect("run strategies_child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let predicted: Vec<String> = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    // The backend's names for this process's series.
    let all = format!("{{{selector}}}");
    vm.wait_until(&all, |r| r.len() >= predicted.len());
    assert_eq!(tests::vm::stored_names(vm, &all), predicted, "{strategy}");
    // The dotted key, as the backend stores it.
    let label = v["method_label"].as_str().unwrap();
    let method = telemetry_runtime::__private::promql_name(label);
    let requests = predicted.iter().find(|n| n.contains("requests")).unwrap();
    let requests = match telemetry_runtime::__private::promql_name(requests) {
        q if q.starts_with('"') => format!("{{{q}, {selector}}}"),
        bare => format!("{bare}{{{selector}}}"),
    };
    let q = format!("sum by ({method}) ({requests})");
    let r = vm.wait_until(&q, |r| r.len() == 2);
    let mut by: Vec<(String, f64)> = r
        .iter()
        .map(|(l, v)| (l.get(label).cloned().unwrap_or_default(), *v))
        .collect();
    by.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by,
        [("GET".to_owned(), 6.0), ("POST".to_owned(), 4.0)],
        "{strategy}"
    );
    // Every generated query and rule.
    let rule = |name: &str| -> f64 {
        match name.split(':').nth(1).unwrap_or(name) {
            _ if name == "MeteredFunctionErrorRatioHigh" => 0.3,
            "function_errors" => 0.3,
            "function_calls_in_flight" => 0.0,
            "function_calls" => f64::NAN,
            _ if name.ends_with("p50_1h") => 0.5,
            _ if name.ends_with("p95_1h") => 0.95,
            _ if name.ends_with("p99_1h") => 0.99,
            _ => panic!("no expectation for rule {name}"),
        }
    };
    let queries = v["queries"].as_array().unwrap().iter();
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 7, "{rules:?}");
    for (q, is_rule) in queries
        .map(|q| (q, false))
        .chain(rules.iter().map(|r| (r, true)))
    {
        let (title, expr) = (q[0].as_str().unwrap(), q[1].as_str().unwrap());
        if title.starts_with("otel.sdk.") {
            // The runtime's own health: values depend on the run's
            // exports; each query runs and returns finite numbers.
            vm.wait_until(expr, |r| !r.is_empty() && r.iter().all(|s| s.1.is_finite()));
            continue;
        }
        let want = if is_rule {
            rule(title)
        } else {
            expected(title)
        };
        vm.wait_until(expr, |r| {
            let total: f64 = r.iter().map(|s| s.1).sum();
            !r.is_empty()
                && if want.is_nan() {
                    total.is_finite() && total > 0.0
                } else {
                    (total - want).abs() <= 1e-9 * want.abs().max(1.0)
                }
        });
    }
}

#[test]
fn stored_names_and_queries_match_each_naming_mode() {
    let as_sent = Vm::start(VmOptions {
        as_sent: true,
        ..Default::default()
    });
    check(
        &as_sent,
        TranslationStrategy::NoTranslation,
        "service.instance.id",
        "strategies-as-sent",
    );
    let prometheus_naming = Vm::start(VmOptions::default());
    check(
        &prometheus_naming,
        TranslationStrategy::UnderscoreEscapingWithSuffixes,
        "service_instance_id",
        "strategies-prometheus-naming",
    );
}
