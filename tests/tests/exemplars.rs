//! Issue 17, exemplars: the exact bytes an `exemplar_child` sends to a test
//! receiver (decoded with `opentelemetry-proto`) carry, for records made
//! inside a sampled span, the value, the time and the span's trace and span
//! ids; records outside one, or in an unsampled span, carry none. Then the
//! filter's three values, a `tracing` span, the stale markers, and a real
//! backend.

use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar};
use std::time::{SystemTime, UNIX_EPOCH};
use tests::fault::{Child, FaultServer, Reply, Request};

const CHILD: &str = env!("CARGO_BIN_EXE_exemplar_child");
const TRACE: &str = "0102030405060708090a0b0c0d0e0f10";
const SPAN: &str = "1112131415161718";
const OTHER_TRACE: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0";
const OTHER_SPAN: &str = "b1b2b3b4b5b6b7b8";

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A child exporting to `server` only when told.
fn child(server: &FaultServer, extra: &[(&str, &str)]) -> Child {
    let endpoint = server.endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_INSTANCE_ID", "exemplars"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "3000"),
    ];
    env.extend_from_slice(extra);
    Child::spawn(CHILD, &env)
}

/// The exemplars of the point of `name` whose attributes are `want`
/// (number or histogram point); `None` without such a point.
fn exemplars(r: &Request, name: &str, want: &[(&str, &str)]) -> Option<Vec<Exemplar>> {
    let want = tests::fault::attrs(want);
    if let Some((_, p)) = r.number_points(name).into_iter().find(|(a, _)| *a == want) {
        return Some(p.exemplars);
    }
    r.histogram_points(name)
        .into_iter()
        .find(|(a, _)| *a == want)
        .map(|(_, p)| p.exemplars)
}

/// The exemplars of the metered function's `result="ok"` point (which
/// also has the function's own labels).
fn metered_ok(r: &Request) -> Vec<Exemplar> {
    let ok = ("result".to_string(), "ok".to_string());
    r.histogram_points("exemplar.work.duration")
        .into_iter()
        .find(|(a, _)| a.contains(&ok))
        .map(|(_, p)| p.exemplars)
        .expect("the metered call's point")
}

/// `(value, trace id, span id)` of each exemplar.
fn seen(ex: &[Exemplar]) -> Vec<(exemplar::Value, Vec<u8>, Vec<u8>)> {
    ex.iter()
        .map(|e| (e.value.unwrap(), e.trace_id.clone(), e.span_id.clone()))
        .collect()
}

fn int(v: i64) -> exemplar::Value {
    exemplar::Value::AsInt(v)
}

fn double(v: f64) -> exemplar::Value {
    exemplar::Value::AsDouble(v)
}

#[test]
fn records_in_a_sampled_span_carry_its_ids_and_others_none() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[]);
    let before = now_ns();
    c.ok("add 1 phase=none");
    c.ok("hist 5 phase=none");
    c.ok(&format!("span {OTHER_TRACE} {OTHER_SPAN} unsampled"));
    c.ok("add 1 phase=unsampled");
    c.ok("hist 5 phase=unsampled");
    c.ok("end");
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 3 phase=sampled");
    c.ok("add 4 phase=sampled");
    c.ok("bound 2 phase=bound");
    c.ok("otel 5 phase=otel");
    c.ok("typed 6");
    c.ok("updown -2 phase=sampled");
    c.ok("hist 0.5 phase=sampled");
    c.ok("hist 50 phase=sampled");
    c.ok("hist 60 phase=sampled");
    c.ok("metered ok");
    c.ok("timer 250 phase=sampled");
    c.ok("end");
    c.ok("add 1 phase=after");
    let after = now_ns();
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let (t, s) = (bytes(TRACE), bytes(SPAN));
    let ids = |v| (v, t.clone(), s.clone());
    let events = "exemplar.events";
    // Outside a span, in an unsampled span, after the span: none.
    for phase in ["none", "unsampled", "after"] {
        assert_eq!(
            exemplars(r, events, &[("phase", phase)]),
            Some(vec![]),
            "{phase}"
        );
    }
    for phase in ["none", "unsampled"] {
        let ex = exemplars(r, "exemplar.size", &[("phase", phase)]);
        assert_eq!(ex, Some(vec![]), "{phase}");
    }
    // The last measurement per series, through every way of adding.
    let sampled = exemplars(r, events, &[("phase", "sampled")]).unwrap();
    assert_eq!(seen(&sampled), [ids(int(4))]);
    assert!((before..=after).contains(&sampled[0].time_unix_nano));
    assert!(sampled[0].filtered_attributes.is_empty());
    let one = |name: &str, attrs: &[(&str, &str)]| seen(&exemplars(r, name, attrs).unwrap());
    assert_eq!(one(events, &[("phase", "bound")]), [ids(int(2))]);
    assert_eq!(one(events, &[("phase", "otel")]), [ids(int(5))]);
    assert_eq!(one("typed_total", &[]), [ids(int(6))]);
    assert_eq!(
        one("exemplar.open", &[("phase", "sampled")]),
        [ids(int(-2))]
    );
    // A histogram keeps the last per bucket (0.5 in the first; 50 then 60
    // in the third), in bucket order.
    assert_eq!(
        one("exemplar.size", &[("phase", "sampled")]),
        [ids(double(0.5)), ids(double(60.0))]
    );
    // The timer's value in its unit; a metered call's in seconds.
    assert_eq!(
        one("exemplar.handler.us", &[("phase", "sampled")]),
        [ids(double(250.0))]
    );
    let call = metered_ok(r);
    assert_eq!(call.len(), 1);
    assert_eq!((&call[0].trace_id, &call[0].span_id), (&t, &s));
    assert!(matches!(call[0].value, Some(exemplar::Value::AsDouble(v)) if v >= 0.0));
    // An exemplar is sent once.
    c.ok("flush");
    let r2 = &server.wait_requests(2)[1];
    for name in [events, "exemplar.size"] {
        let ex = exemplars(r2, name, &[("phase", "sampled")]);
        assert_eq!(ex, Some(vec![]), "{name}");
    }
    assert_eq!(metered_ok(r2), []);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

#[test]
fn a_tracing_span_gives_its_ids_through_tracing_opentelemetry() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[]);
    let answer = c.ok("tracing 7");
    let words: Vec<&str> = answer.split_whitespace().collect();
    let (trace, span) = (words[1], words[2]);
    assert_ne!(trace, "00000000000000000000000000000000");
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let ex = exemplars(r, "exemplar.events", &[("phase", "tracing")]).unwrap();
    assert_eq!(seen(&ex), [(int(7), bytes(trace), bytes(span))]);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

#[test]
fn always_on_offers_every_record_and_always_off_none() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[("OTEL_METRICS_EXEMPLAR_FILTER", "always_on")]);
    c.ok("add 1 phase=none");
    c.ok(&format!("span {OTHER_TRACE} {OTHER_SPAN} unsampled"));
    c.ok("add 2 phase=unsampled");
    c.ok("end");
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 3 phase=sampled");
    c.ok("end");
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let one = |phase| seen(&exemplars(r, "exemplar.events", &[("phase", phase)]).unwrap());
    // Without a sampled span, no ids.
    assert_eq!(one("none"), [(int(1), vec![], vec![])]);
    assert_eq!(one("unsampled"), [(int(2), vec![], vec![])]);
    assert_eq!(one("sampled"), [(int(3), bytes(TRACE), bytes(SPAN))]);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");

    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]);
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 3 phase=sampled");
    c.ok("hist 0.5 phase=sampled");
    c.ok("end");
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let ex = exemplars(r, "exemplar.events", &[("phase", "sampled")]);
    assert_eq!(ex, Some(vec![]));
    let ex = exemplars(r, "exemplar.size", &[("phase", "sampled")]);
    assert_eq!(ex, Some(vec![]));
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

#[test]
fn a_bad_filter_gets_one_message_and_the_default() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")]);
    c.ok("add 1 phase=none");
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 3 phase=sampled");
    c.ok("end");
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let ex = exemplars(r, "exemplar.events", &[("phase", "none")]);
    assert_eq!(ex, Some(vec![]));
    let ex = exemplars(r, "exemplar.events", &[("phase", "sampled")]).unwrap();
    assert_eq!(seen(&ex), [(int(3), bytes(TRACE), bytes(SPAN))]);
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let lines: Vec<&str> = tests::fault::runtime_lines(&err)
        .into_iter()
        .filter(|l| l.contains("OTEL_METRICS_EXEMPLAR_FILTER"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("\"sometimes\""), "{}", lines[0]);
    assert!(
        lines[0].contains("using the default (trace_based)"),
        "{}",
        lines[0]
    );
}

#[test]
fn stale_markers_carry_no_exemplars() {
    let server = FaultServer::always(Reply::ok());
    let mut c = child(&server, &[("HYPERACTOR_OTEL_STALE_MARKERS", "on")]);
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 3 phase=sampled");
    c.ok("end");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    // The exit flush: the values with the exemplar, then the markers.
    let rs = server.wait_requests(2);
    let ex = exemplars(&rs[0], "exemplar.events", &[("phase", "sampled")]).unwrap();
    assert_eq!(seen(&ex), [(int(3), bytes(TRACE), bytes(SPAN))]);
    let marker = rs[1]
        .number_point("exemplar.events", &[("phase", "sampled")])
        .unwrap();
    assert_eq!(marker.flags, 1);
    assert!(marker.exemplars.is_empty());
}

/// Against the real backend: values with exemplars are stored exactly;
/// on Prometheus (`--enable-feature=exemplar-storage`),
/// `/api/v1/query_exemplars` returns the trace id.
#[test]
fn the_backend_stores_values_with_exemplars() {
    let b = tests::backend();
    let instance = format!("exemplars-{}", std::process::id());
    let env: Vec<(String, String)> = tests::child_env(&instance);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = Child::spawn(CHILD, &env);
    // Twice: Prometheus appends a request's exemplars before its samples,
    // so an exemplar of a series that does not exist yet is refused (at
    // debug level); the second request's find their series.
    c.ok("add 3 phase=sampled");
    c.ok("hist 50 phase=sampled");
    c.ok("flush");
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("add 4 phase=sampled");
    c.ok("hist 50 phase=sampled");
    c.ok("end");
    c.ok("flush");
    let l = b.instance_label();
    let kind = telemetry_runtime::InstrumentKind::Counter;
    let name = b.strategy.metric_name("exemplar.events", "", kind);
    let sel = format!("{{__name__=\"{name}\",{l}=\"{instance}\",phase=\"sampled\"}}");
    b.wait_for_value(&sel, 7.0);
    let hist = b.strategy.metric_name(
        "exemplar.size",
        "By",
        telemetry_runtime::InstrumentKind::Histogram,
    );
    let hsel = format!("{{__name__=\"{hist}_count\",{l}=\"{instance}\",phase=\"sampled\"}}");
    b.wait_for_value(&hsel, 2.0);
    if b.kind == tests::Kind::Prometheus {
        let found = tests::query_exemplars(&b.url, &sel);
        assert!(
            found
                .iter()
                .any(|(trace, span)| trace == TRACE && span == SPAN),
            "{found:?}"
        );
    }
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}

#[test]
fn an_exponential_histogram_keeps_the_last_exemplar() {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    let server = FaultServer::always(Reply::ok());
    let mut c = child(
        &server,
        &[(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "base2_exponential_bucket_histogram",
        )],
    );
    c.ok(&format!("span {TRACE} {SPAN} sampled"));
    c.ok("hist 0.5 phase=sampled");
    c.ok("hist 50 phase=sampled");
    c.ok("end");
    c.ok("hist 7 phase=sampled");
    c.ok("flush");
    let r = &server.wait_requests(1)[0];
    let points: Vec<_> = r
        .metrics()
        .into_iter()
        .filter(|(_, m)| m.name == "exemplar.size")
        .flat_map(|(_, m)| match m.data {
            Some(Data::ExponentialHistogram(h)) => h.data_points,
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].count, 3);
    assert_eq!(
        seen(&points[0].exemplars),
        [(double(50.0), bytes(TRACE), bytes(SPAN))]
    );
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
}
