//! Records through a derived metrics struct and reads exact values and
//! labels back from the real backend.

use telemetry_runtime::{Counter, Gauge, Histogram, LabelSet, LabelValue, Metrics};
use tests::{backend, setup};

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    #[label(value = "POST")]
    Post,
}

#[derive(LabelSet, Clone, Copy)]
struct Route {
    method: Method,
    #[label(name = "route")]
    path: &'static str,
    cached: bool,
}

#[derive(Metrics)]
#[metrics(prefix = "derive_e2e")]
struct ApiMetrics {
    /// Requests served.
    requests_total: Counter<Route>,
    #[metric(unit = "s", buckets = [0.01, 0.1])]
    latency_seconds: Histogram<Route>,
    #[metric(name = "derive_e2e_workers")]
    workers: Gauge,
}

#[test]
fn derived_struct_arrives_with_exact_values_and_labels() {
    let id = setup();
    let m = ApiMetrics::global();
    let home = Route {
        method: Method::Get,
        path: "/",
        cached: true,
    };
    let post = Route {
        method: Method::Post,
        path: "/cart",
        cached: false,
    };
    m.requests_total.add(3, home);
    m.requests_total.bind(post).add(2);
    m.latency_seconds.record(0.005, home);
    m.latency_seconds.record(0.05, home);
    m.workers.record(6.0, &[]);
    telemetry_runtime::flush().expect("flush");

    let b = backend();
    let l = b.instance_label();
    let labels = b.wait_for_value(
        &format!(
            "derive_e2e_requests_total{{{l}=\"{id}\",method=\"get\",route=\"/\",cached=\"true\"}}"
        ),
        3.0,
    );
    assert_eq!(labels.get("method").map(String::as_str), Some("get"));
    b.wait_for_value(
        &format!("derive_e2e_requests_total{{{l}=\"{id}\",method=\"POST\",route=\"/cart\",cached=\"false\"}}"),
        2.0,
    );
    b.wait_for_value(
        &format!("derive_e2e_latency_seconds_count{{{l}=\"{id}\",route=\"/\"}}"),
        2.0,
    );
    b.wait_for_value(
        &format!("derive_e2e_latency_seconds_bucket{{{l}=\"{id}\",route=\"/\",le=\"0.01\"}}"),
        1.0,
    );
    b.wait_for_value(
        &format!("derive_e2e_latency_seconds_sum{{{l}=\"{id}\",route=\"/\"}}"),
        0.055,
    );
    b.wait_for_value(&format!("derive_e2e_workers{{{l}=\"{id}\"}}"), 6.0);
}
