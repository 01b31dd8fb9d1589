//! Issue 17: per-series start times, stale markers at shutdown, the
//! runtime's own health metrics and exemplars, read from the exact bytes a
//! `reliability_child` sends to a test receiver (decoded with
//! `opentelemetry-proto`), and, where a backend supports a feature, from
//! the backend.

use std::time::{SystemTime, UNIX_EPOCH};
use tests::fault::{Child, FaultServer, Reply};

const CHILD: &str = env!("CARGO_BIN_EXE_reliability_child");

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A child exporting to `server` only when told (`flush`, `shutdown`).
fn child(server: &FaultServer, extra: &[(&str, &str)]) -> Child {
    let endpoint = server.endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_INSTANCE_ID", "health"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "3000"),
        ("HYPERACTOR_OTEL_STALE_MARKERS", "on"),
    ];
    env.extend_from_slice(extra);
    Child::spawn(CHILD, &env)
}

#[test]
fn a_series_starts_when_it_was_first_recorded() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[]);
    c.ok("add 1 phase=early");
    c.ok("flush");
    let first = server.wait_requests(1)[0].clone();
    let early = first
        .number_point("reliability_events_total", &[("phase", "early")])
        .expect("early point");
    // The later series, created between two readings of the clock.
    let before = now_ns();
    c.ok("add 2 phase=late");
    let after = now_ns();
    c.ok("flush");
    let second = server.wait_requests(2)[1].clone();
    let late = second
        .number_point("reliability_events_total", &[("phase", "late")])
        .expect("late point");
    assert!(
        (before..=after).contains(&late.start_time_unix_nano),
        "late start {} not in [{before}, {after}]",
        late.start_time_unix_nano
    );
    // The early series keeps its own start, from before.
    let early_again = second
        .number_point("reliability_events_total", &[("phase", "early")])
        .expect("early point");
    assert_eq!(early_again.start_time_unix_nano, early.start_time_unix_nano);
    assert!(early.start_time_unix_nano < before);
    assert!(early.start_time_unix_nano > 0);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

/// The points of a request, as (metric, attributes) with their flags.
fn series_flags(r: &tests::fault::Request) -> Vec<(String, tests::fault::Attrs, u32)> {
    let mut out = Vec::new();
    for (_, m) in r.metrics() {
        for (a, p) in r.number_points(&m.name) {
            out.push((m.name.clone(), a, p.flags));
        }
        for (a, p) in r.histogram_points(&m.name) {
            out.push((m.name.clone(), a, p.flags));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// After the final values, `shutdown()` (and the exit flush, for a
/// process that never calls it) sends one more request in which every
/// point is flagged `NoRecordedValue`; the values before it carry no flag.
#[test]
fn shutdown_and_exit_end_every_series_with_a_stale_marker() {
    for end in ["shutdown", "quit", "exit"] {
        let server = FaultServer::always(Reply::ok());
        let mut c = child(&server, &[]);
        c.ok("add 4 phase=a");
        c.ok("hist 5 phase=b");
        c.ok("gauge 0.5");
        c.ok("updown -2");
        if end == "shutdown" {
            let r = c.cmd("shutdown");
            assert!(r.starts_with("ok"), "{r}");
        }
        let (status, err) = c.finish(if end == "shutdown" { "quit" } else { end });
        assert!(status.success(), "{err}");
        let reqs = server.wait_requests(2);
        assert_eq!(reqs.len(), 2, "{end}: values, then markers");
        let (values, markers) = (&reqs[0], &reqs[1]);
        assert_eq!(
            values.sum("reliability_events_total", &[("phase", "a")]),
            Some(4)
        );
        let v = series_flags(values);
        let m = series_flags(markers);
        assert!(v.len() >= 5, "{end}: {v:?}");
        assert!(v.iter().all(|(_, _, f)| *f == 0), "{end}: {v:?}");
        // Exactly the series of the values, each flagged.
        let flagged: Vec<_> = v
            .iter()
            .map(|(n, a, _)| (n.clone(), a.clone(), 1))
            .collect();
        assert_eq!(m, flagged, "{end}");
    }
}

/// Against the real backend: after the marker, an instant query no longer
/// returns the series, while the samples before it are still stored.
#[test]
fn the_backend_ends_a_marked_series_at_once() {
    let b = tests::backend();
    let instance = format!("stale-{}", std::process::id());
    let mut env: Vec<(String, String)> = tests::child_env(&instance);
    env.retain(|(k, _)| k != "HYPERACTOR_OTEL_STALE_MARKERS");
    env.push(("HYPERACTOR_OTEL_STALE_MARKERS".into(), "on".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = Child::spawn(CHILD, &env);
    c.ok("add 6 phase=stale");
    c.ok("flush");
    let l = b.instance_label();
    let name = b.strategy.metric_name(
        "reliability_events_total",
        "",
        telemetry_runtime::InstrumentKind::Counter,
    );
    let sel = format!("{{{l}=\"{instance}\",phase=\"stale\"}}");
    let instant = format!("{name}{sel}");
    // Before shutdown: the last value, as for any live series.
    b.wait_for_value(&instant, 6.0);
    let r = c.cmd("shutdown");
    assert!(r.starts_with("ok"), "{r}");
    // After it: gone from instant queries at once (not after 5 minutes)...
    let gone = b.wait_until(&instant, |r| r.is_empty());
    assert!(gone.is_empty());
    // ...while the samples before the marker stay queryable.
    b.wait_for_value(&format!("max_over_time({name}{sel}[10m])"), 6.0);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

/// The point of `name` whose attributes are `want`, in any order.
fn point_of(
    r: &tests::fault::Request,
    name: &str,
    want: &[(&str, &str)],
) -> Option<opentelemetry_proto::tonic::metrics::v1::NumberDataPoint> {
    let mut want = tests::fault::attrs(want);
    want.sort();
    r.number_points(name).into_iter().find_map(|(mut a, p)| {
        a.sort();
        (a == want).then_some(p)
    })
}

fn int(p: Option<opentelemetry_proto::tonic::metrics::v1::NumberDataPoint>) -> Option<i64> {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    match p?.value? {
        Value::AsInt(i) => Some(i),
        Value::AsDouble(d) => Some(d as i64),
    }
}

/// A controlled run: 3 NaN records, 5 attribute sets past the limit, 2
/// exports refused (HTTP 500), then one partial success (4 points
/// rejected) and one success. The fourth request carries the health of
/// the first three, exactly.
#[test]
fn health_metrics_count_a_controlled_run_exactly() {
    let server = FaultServer::start(|n, _| match n {
        0 | 1 => Reply::text(500, "down"),
        2 => Reply::partial(4, "some points refused"),
        _ => Reply::ok(),
    });
    let mut c = child(&server, &[]);
    for _ in 0..3 {
        c.ok("hist NaN");
    }
    // USERS keeps 2000 sets (the default limit): 5 more overflow.
    c.ok("users 2005");
    for expect in ["err", "err", "ok", "ok"] {
        let r = c.cmd("flush");
        assert!(r.starts_with(expect), "{r}");
    }
    let reqs = server.wait_requests(4);
    let last = &reqs[3];
    let name = ("otel.metric.name", "reliability_size_bytes");
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.metric.measurement.dropped",
            &[("error.type", "nan"), name]
        )),
        Some(3)
    );
    let users = ("otel.metric.name", "reliability_user_logins_total");
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.metric.measurement.overflowed",
            &[users]
        )),
        Some(5)
    );
    // 2000 sets and the overflow series.
    assert_eq!(
        int(point_of(last, "otel.sdk.metric.series", &[users])),
        Some(2001)
    );
    let component = ("otel.component.type", "otlp_http_metric_exporter");
    let points = |i: usize| reqs[i].flags().len() as i64;
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.exporter.metric_data_point.exported",
            &[component, ("error.type", "500")]
        )),
        Some(points(0) + points(1))
    );
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.exporter.metric_data_point.exported",
            &[component, ("error.type", "rejected")]
        )),
        Some(4)
    );
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.exporter.metric_data_point.exported",
            &[component]
        )),
        Some(points(2) - 4)
    );
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.exporter.attempts",
            &[component, ("error.type", "500")]
        )),
        Some(2)
    );
    assert_eq!(
        int(point_of(last, "otel.sdk.exporter.attempts", &[component])),
        Some(1)
    );
    // HTTP 500 is not retried: the counter's zero point.
    assert_eq!(
        int(point_of(last, "otel.sdk.exporter.retries", &[])),
        Some(0)
    );
    let bytes: usize = reqs[..3].iter().map(|r| r.body.len()).sum();
    assert_eq!(
        int(point_of(
            last,
            "otel.sdk.exporter.request.bytes",
            &[component]
        )),
        Some(bytes as i64)
    );
    let durations = last.histogram_points("otel.sdk.exporter.operation.duration");
    let count = |want: &[(&str, &str)]| {
        let mut want = tests::fault::attrs(want);
        want.sort();
        durations
            .iter()
            .find(|(a, _)| {
                let mut a = a.clone();
                a.sort();
                a == want
            })
            .map(|(_, p)| p.count)
    };
    assert_eq!(count(&[component, ("error.type", "500")]), Some(2));
    assert_eq!(count(&[component]), Some(1));
    assert!(point_of(
        last,
        "otel.sdk.exporter.operation.last_duration",
        &[component]
    )
    .is_some());
    // All under the runtime's own scope.
    assert!(last
        .metrics()
        .iter()
        .filter(|(_, m)| m.name.starts_with("otel.sdk."))
        .all(|(scope, _)| scope == "telemetry-runtime"));
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

/// `HYPERACTOR_OTEL_SELF_METRICS=off`: none of them is sent;
/// `HYPERACTOR_OTEL_STALE_MARKERS=off`: no marker request at the end.
#[test]
fn health_metrics_and_stale_markers_can_be_turned_off() {
    let server = FaultServer::always(Reply::ok());
    let mut c = Child::spawn(
        CHILD,
        &[
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &server.endpoint()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
            ("HYPERACTOR_OTEL_SELF_METRICS", "off"),
            ("HYPERACTOR_OTEL_STALE_MARKERS", "off"),
        ],
    );
    c.ok("hist NaN");
    c.ok("flush");
    c.ok("flush");
    let reqs = server.wait_requests(2);
    assert!(reqs[1].sum("reliability_events_total", &[]).is_some());
    assert!(
        reqs[1]
            .metrics()
            .iter()
            .all(|(_, m)| !m.name.starts_with("otel.sdk.")),
        "{:?}",
        reqs[1]
            .metrics()
            .iter()
            .map(|(_, m)| &m.name)
            .collect::<Vec<_>>()
    );
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    // Two flushes and the exit's export, no markers.
    assert_eq!(server.requests().len(), 3);
    assert!(server.requests()[2].flags().iter().all(|(_, f)| *f == 0));
}
