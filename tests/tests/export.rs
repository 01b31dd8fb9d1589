//! Every instrument kind, declared statically, bound, with per-call
//! attributes and through the plain OpenTelemetry API, recorded with known
//! values and read back from the real backend.

use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram,
    declare_static_up_down_counter, kv_pairs, KeyValue,
};
use tests::{backend, setup};

declare_static_counter!(REQUESTS, "e2e_requests_total", description = "Requests.");
declare_static_up_down_counter!(QUEUE, "e2e_queue_items");
declare_static_gauge!(TEMP, "e2e_temperature_celsius", unit = "Cel");
declare_static_histogram!(
    LATENCY,
    "e2e_latency_seconds",
    unit = "s",
    buckets = [0.01, 0.1, 1.0]
);
declare_static_counter!(NEVER, "e2e_never_recorded_total");

fn sel(extra: &str) -> String {
    let id = setup();
    let l = backend().instance_label();
    if extra.is_empty() {
        format!("{{{l}=\"{id}\"}}")
    } else {
        format!("{{{l}=\"{id}\",{extra}}}")
    }
}

#[test]
fn static_instruments_arrive_exactly() {
    setup();
    // Per-call attributes, in either order: one series.
    REQUESTS.add(3, kv_pairs!("method" => "GET", "status" => 200));
    REQUESTS.add(4, kv_pairs!("status" => 200, "method" => "GET"));
    // Bound handle on another series.
    let posts = REQUESTS.bind(kv_pairs!("method" => "POST", "status" => 500));
    for _ in 0..5 {
        posts.add(2);
    }
    QUEUE.add(10, &[]);
    QUEUE.add(-3, &[]);
    QUEUE.bind(kv_pairs!("queue" => "b")).add(-2);
    TEMP.record(19.5, kv_pairs!("room" => "a"));
    TEMP.record(21.25, kv_pairs!("room" => "a"));
    for v in [0.005, 0.05, 0.05, 0.5, 5.0] {
        LATENCY.record(v, kv_pairs!("route" => "/x"));
    }
    let bound = LATENCY.bind(kv_pairs!("route" => "/y"));
    bound.record(0.01);
    telemetry_runtime::flush().expect("flush");

    let b = backend();
    b.wait_for_value(
        &format!("e2e_requests_total{}", sel("method=\"GET\",status=\"200\"")),
        7.0,
    );
    b.wait_for_value(
        &format!(
            "e2e_requests_total{}",
            sel("method=\"POST\",status=\"500\"")
        ),
        10.0,
    );
    b.wait_for_value(&format!("e2e_queue_items{}", sel("queue=\"\"")), 7.0);
    b.wait_for_value(&format!("e2e_queue_items{}", sel("queue=\"b\"")), -2.0);
    b.wait_for_value(
        &format!("e2e_temperature_celsius{}", sel("room=\"a\"")),
        21.25,
    );
    b.wait_for_value(
        &format!("e2e_latency_seconds_count{}", sel("route=\"/x\"")),
        5.0,
    );
    b.wait_for_value(
        &format!("e2e_latency_seconds_sum{}", sel("route=\"/x\"")),
        5.605,
    );
    for (le, n) in [("0.01", 1.0), ("0.1", 3.0), ("1", 4.0), ("+Inf", 5.0)] {
        b.wait_for_value(
            &format!(
                "e2e_latency_seconds_bucket{}",
                sel(&format!("route=\"/x\",le=\"{le}\""))
            ),
            n,
        );
    }
    // Upper bounds are inclusive: 0.01 lands in the le="0.01" bucket.
    b.wait_for_value(
        &format!(
            "e2e_latency_seconds_bucket{}",
            sel("route=\"/y\",le=\"0.01\"")
        ),
        1.0,
    );
}

#[test]
fn declared_but_never_recorded_is_exported_as_zero() {
    setup();
    telemetry_runtime::flush().expect("flush");
    backend().wait_for_value(&format!("e2e_never_recorded_total{}", sel("")), 0.0);
}

#[test]
fn resource_labels_arrive() {
    let id = setup();
    REQUESTS.add(1, kv_pairs!("method" => "HEAD", "status" => 204));
    telemetry_runtime::flush().expect("flush");
    let b = backend();
    let labels = b.wait_for_value(
        &format!("e2e_requests_total{}", sel("method=\"HEAD\"")),
        1.0,
    );
    assert_eq!(labels.get(b.job_label()).map(String::as_str), Some("e2e"));
    assert_eq!(labels.get(b.instance_label()).map(String::as_str), Some(id));
    let r = b.wait_until(&b.resource_query(id, "e2e_requests_total"), |r| {
        !r.is_empty()
    });
    let res = &r[0].0;
    // Resource attribute keys as the backend's strategy stores them.
    let get = |key: &str| res.get(&b.strategy.label(key)).map(String::as_str);
    assert_eq!(get("deployment.environment"), Some("test"));
    assert_eq!(get("team"), Some("obs,infra"));
    assert_eq!(get("telemetry.sdk.name"), Some("telemetry-runtime"));
    assert_eq!(get("telemetry.sdk.language"), Some("rust"));
}

#[test]
fn plain_opentelemetry_api_goes_through_the_same_pipeline() {
    setup();
    // Through our helper: starts the pipeline first.
    let meter = telemetry_runtime::meter("e2e-lib");
    let c = meter.u64_counter("e2e_sdk_events_total").build();
    c.add(5, &[KeyValue::new("kind", "a")]);
    let h = meter
        .f64_histogram("e2e_sdk_wait_seconds")
        .with_unit("s")
        .with_boundaries(vec![1.0, 2.0])
        .build();
    h.record(1.5, &[]);
    // Through the global provider, after the pipeline started.
    let g = opentelemetry::global::meter_provider().meter("e2e-global");
    let up = g.i64_up_down_counter("e2e_sdk_open_files").build();
    up.add(3, &[]);
    telemetry_runtime::flush().expect("flush");
    let b = backend();
    b.wait_for_value(&format!("e2e_sdk_events_total{}", sel("kind=\"a\"")), 5.0);
    b.wait_for_value(&format!("e2e_sdk_wait_seconds_count{}", sel("")), 1.0);
    b.wait_for_value(
        &format!("e2e_sdk_wait_seconds_bucket{}", sel("le=\"2\"")),
        1.0,
    );
    b.wait_for_value(&format!("e2e_sdk_open_files{}", sel("")), 3.0);
}

#[test]
fn catalog_lists_declarations_with_their_shape() {
    setup();
    let cat = telemetry_runtime::catalog();
    let lat = cat.get("e2e_latency_seconds").next().unwrap();
    assert_eq!(lat.kind, telemetry_runtime::InstrumentKind::Histogram);
    assert_eq!(lat.unit, "s");
    assert_eq!(lat.buckets, &[0.01, 0.1, 1.0]);
    assert!(lat.location.file.ends_with("export.rs"));
    assert_eq!(lat.location.line, 15);
    let req = cat.get("e2e_requests_total").next().unwrap();
    assert_eq!(req.description, "Requests.");
    assert!(cat.conflicts().is_empty());
}
