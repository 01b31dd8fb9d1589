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
    assert_eq!(
        early_again.start_time_unix_nano,
        early.start_time_unix_nano
    );
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
        // Every series of the values, and nothing else, is marked.
        let unflagged: Vec<_> = v.iter().map(|(n, a, _)| (n.clone(), a.clone(), 1)).collect();
        assert_eq!(m, unflagged, "{end}");
    }
}

/// Against the real backend: after the marker, an instant query no longer
/// returns the series, while the samples before it are still stored.
#[test]
fn the_backend_ends_a_marked_series_at_once() {
    let b = tests::backend();
    let instance = format!("stale-{}", std::process::id());
    let env: Vec<(String, String)> = tests::child_env(&instance);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut c = Child::spawn(CHILD, &env);
    c.ok("add 6 phase=stale");
    c.ok("flush");
    let l = b.instance_label();
    let name = b
        .strategy
        .metric_name("reliability_events_total", "", telemetry_runtime::InstrumentKind::Counter);
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
