//! The drop-in API for `hyperactor_telemetry` code, in process: statics
//! behind `&`, their OpenTelemetry views, timers, and observable gauges
//! whose callback panics. (End to end: `tests/monarch-app`.)

use std::process::Command;
use std::time::Duration;
use telemetry_runtime::{
    declare_static_counter, declare_static_histogram, declare_static_timer, kv_pairs, Counter,
    Histogram, TimeUnit,
};

declare_static_counter!(BY_REF, "dropin.by_ref");
declare_static_histogram!(HIST, "dropin.hist", buckets = [1.0, 10.0]);
declare_static_timer!(pub(crate) TIMER, "dropin.timer", TimeUnit::Millis, buckets = [1.0, 5.0]);

/// `add` and `record` take `&self`: a function can take the instrument.
fn bump(c: &Counter, n: u64) {
    c.add(n, kv_pairs!("via" => "ref"));
}

fn observe(h: &Histogram, v: f64) {
    h.record(v, &[]);
}

/// Turns export off, once, before any test of this binary records.
fn setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none"));
}

#[test]
fn statics_work_behind_references_and_as_opentelemetry_instruments() {
    setup();
    bump(&BY_REF, 2);
    let otel: &opentelemetry::metrics::Counter<u64> = &BY_REF;
    otel.add(3, &[telemetry_runtime::KeyValue::new("via", "ref")]);
    observe(&HIST, 0.5);
    let otel_h: &opentelemetry::metrics::Histogram<f64> = &HIST;
    otel_h.record(5.0, &[]);
    let s = telemetry_runtime::snapshot();
    assert_eq!(s.value("dropin.by_ref", &[("via", "ref")]), Some(5.0));
    assert_eq!(s.histogram("dropin.hist", &[]), Some((2, 5.5)));
}

#[test]
fn timers_count_whole_units_into_the_default_or_given_buckets() {
    setup();
    assert_eq!(TIMER.metadata().name, "dropin.timer.ms");
    assert_eq!(TIMER.metadata().unit, "ms");
    assert_eq!(TIMER.unit().as_str(), "ms");
    TIMER.record(Duration::from_micros(1500), &[]); // 1 ms: bucket <= 1
    TIMER.record(Duration::from_micros(4999), &[]); // 4 ms: bucket <= 5
    TIMER.record(Duration::from_secs(1), &[]); // 1000 ms: +Inf
    {
        let _g = TIMER.start(&[]);
    }
    let s = telemetry_runtime::snapshot();
    let (count, sum) = s.histogram("dropin.timer.ms", &[]).unwrap();
    assert_eq!(count, 4);
    // 1.5 + 4.999 + 1000 ms (to a tick or so: nanoseconds go to clock
    // ticks and back) and a scope of well under a second.
    assert!((1006.498..2006.5).contains(&sum), "{sum}");
}

#[test]
fn a_panicking_callback_fails_only_its_gauge_with_one_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_observable_panic"))
        .env("HYPERACTOR_OTEL_BACKEND", "none")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "broken=None fine=Some(7.0)\nbroken=None fine=Some(7.0)\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("telemetry-runtime: the callback of observable gauge `dropin.broken`")
            && lines[0].contains("(boom)"),
        "{stderr}"
    );
}
