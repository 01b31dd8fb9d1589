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
