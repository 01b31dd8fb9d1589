//! `#[derive(Metrics)]`, `#[derive(LabelSet)]` and `#[derive(LabelValue)]`:
//! registration, dense indexing, overflow, and values read in-process.

use std::sync::Once;
use telemetry_runtime::{Counter, Gauge, Histogram, LabelSet, LabelValue, Metrics, UpDownCounter};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none"));
}

#[derive(LabelValue, Clone, Copy)]
enum Method {
    Get,
    #[label(value = "POST")]
    Post,
    DeleteAll,
}

#[derive(LabelValue, Clone, Copy)]
enum Status {
    Ok,
    NotFound,
}

#[derive(LabelSet, Clone, Copy)]
struct RequestLabels {
    method: Method,
    status: Status,
}

#[derive(LabelSet)]
struct UserLabels {
    #[label(name = "user_id")]
    user: u64,
    admin: bool,
}

/// HTTP server metrics.
#[derive(Metrics)]
#[metrics(prefix = "derive_http")]
struct HttpMetrics {
    /// Requests served.
    requests_total: Counter<RequestLabels>,
    /// Time to first byte.
    #[metric(unit = "s", buckets = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5])]
    request_duration_seconds: Histogram<RequestLabels>,
    in_flight: UpDownCounter,
    #[metric(name = "derive_queue_depth")]
    queue: Gauge,
    #[metric(cardinality_limit = 3)]
    user_requests_total: Counter<UserLabels>,
    #[metric(flatten)]
    pool: PoolMetrics,
}

#[derive(Metrics)]
#[metrics(prefix = "derive_pool")]
struct PoolMetrics {
    /// Connections open.
    connections: Gauge<PoolLabels>,
}

#[derive(LabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[test]
fn label_sets_index_densely() {
    assert_eq!(<Method as LabelValue>::CARDINALITY, Some(3));
    assert_eq!(RequestLabels::CARDINALITY, Some(6));
    assert_eq!(RequestLabels::KEYS, &["method", "status"]);
    let all: Vec<usize> = [Method::Get, Method::Post, Method::DeleteAll]
        .iter()
        .flat_map(|m| {
            [Status::Ok, Status::NotFound].map(|s| {
                RequestLabels {
                    method: *m,
                    status: s,
                }
                .index()
            })
        })
        .collect();
    assert_eq!(all, [0, 1, 2, 3, 4, 5]);
    assert_eq!(UserLabels::CARDINALITY, None);
    assert_eq!(UserLabels::KEYS, &["user_id", "admin"]);
    RequestLabels {
        method: Method::DeleteAll,
        status: Status::NotFound,
    }
    .with_attributes(|a| {
        assert_eq!(a[0].value.as_str(), "delete_all");
        assert_eq!(a[1].value.as_str(), "not_found");
    });
    assert_eq!(Method::Post.to_value().as_str(), "POST");
}

#[test]
fn derived_metrics_record_and_register() {
    setup();
    let m = HttpMetrics::global();
    assert!(std::ptr::eq(m, HttpMetrics::global()));
    let get_ok = RequestLabels {
        method: Method::Get,
        status: Status::Ok,
    };
    m.requests_total.add(2, get_ok);
    m.requests_total.add(
        1,
        RequestLabels {
            method: Method::Post,
            status: Status::NotFound,
        },
    );
    m.requests_total.bind(get_ok).add(3);
    m.request_duration_seconds.record(0.003, get_ok);
    m.in_flight.add(4, &[]);
    m.queue.record(12.0, &[]);
    m.pool.connections.record(5.0, PoolLabels { pool: "db" });

    let s = telemetry_runtime::snapshot();
    assert_eq!(
        s.value(
            "derive_http_requests_total",
            &[("method", "get"), ("status", "ok")]
        ),
        Some(5.0)
    );
    assert_eq!(
        s.value(
            "derive_http_requests_total",
            &[("method", "POST"), ("status", "not_found")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.histogram("derive_http_request_duration_seconds", &[("method", "get")]),
        Some((1, 0.003))
    );
    assert_eq!(s.value("derive_http_in_flight", &[]), Some(4.0));
    assert_eq!(s.value("derive_queue_depth", &[]), Some(12.0));
    assert_eq!(
        s.value("derive_pool_connections", &[("pool", "db")]),
        Some(5.0)
    );

    let cat = telemetry_runtime::catalog();
    let req = cat.get("derive_http_requests_total").next().unwrap();
    assert_eq!(req.description, "Requests served.");
    assert_eq!(req.label_keys, &["method", "status"]);
    let dur = cat
        .get("derive_http_request_duration_seconds")
        .next()
        .unwrap();
    assert_eq!(dur.unit, "s");
    assert_eq!(dur.buckets, &[0.001, 0.005, 0.025, 0.1, 0.5, 2.5]);
    assert_eq!(dur.description, "Time to first byte.");
    assert!(cat.get("derive_pool_connections").next().is_some());
    assert!(cat.conflicts().is_empty());
}

#[test]
fn unbounded_label_sets_overflow_past_their_limit() {
    setup();
    let m = HttpMetrics::global();
    for user in 0..10u64 {
        m.user_requests_total
            .add(1, UserLabels { user, admin: false });
    }
    let s = telemetry_runtime::snapshot();
    let kept: f64 = (0..3)
        .map(|u| {
            s.value(
                "derive_http_user_requests_total",
                &[("user_id", &u.to_string())],
            )
            .unwrap_or(0.0)
        })
        .sum();
    assert_eq!(kept, 3.0);
    assert_eq!(
        s.value(
            "derive_http_user_requests_total",
            &[("otel_metric_overflow", "true")]
        ),
        Some(7.0)
    );
}
