//! Faults: a backend that is down, restarted, hanging, slow or answering
//! errors; many threads; fork; shutdown; a kill. Each test drives a child
//! process (`reliability_child`) with a configuration of its own, against
//! the real backend or a VictoriaMetrics of its own, or against the
//! fault-injecting server of `tests::fault` where a real server cannot
//! misbehave on demand.
//!
//! Figures (slowest record, memory, how long a call took) are printed with
//! `RELIABILITY:` in front for RELIABILITY.md; no test judges a duration.

use tests::fault::{figure, millis, runtime_lines, Child, FaultServer, Reply};
use tests::vm::{Vm, VmOptions};
use tests::{backend, free_port};

fn child(env: &[(&str, &str)]) -> Child {
    Child::spawn(env!("CARGO_BIN_EXE_reliability_child"), env)
}

fn instance(tag: &str) -> String {
    format!("rel-{tag}-{}-{}", std::process::id(), free_port())
}

/// Environment of a child exporting to `endpoint` every `interval` ms.
fn env<'a>(
    endpoint: &'a str,
    instance: &'a str,
    interval: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint),
        ("OTEL_SERVICE_INSTANCE_ID", instance),
        ("OTEL_SERVICE_NAME", "reliability"),
        ("OTEL_METRIC_EXPORT_INTERVAL", interval),
    ];
    v.extend_from_slice(extra);
    v
}

/// `name{label="id",phase="phase"}`.
fn phase_query(name: &str, label: &str, id: &str, phase: &str) -> String {
    format!("{name}{}", sel(label, id, &format!("phase=\"{phase}\"")))
}

fn sel(label: &str, id: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!("{{{label}=\"{id}\"}}")
    } else {
        format!("{{{label}=\"{id}\",{extra}}}")
    }
}

#[test]
fn backend_down_at_start_then_up_loses_nothing() {
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}/opentelemetry/v1/metrics");
    let id = instance("down");
    let mut c = child(&env(
        &endpoint,
        &id,
        "200",
        &[
            ("OTEL_METRIC_EXPORT_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    ));
    c.ok("add 7 phase=down");
    for v in ["5", "50", "500"] {
        c.ok(&format!("hist {v} phase=down"));
    }
    let before = c.ok("stats");
    // Three seconds of recording while every export (every 200 ms) fails.
    let burst = c.ok("burst 3000");
    let after = c.ok("stats");
    let adds = figure(&burst, "adds");
    println!(
        "RELIABILITY: backend down: {adds} records over 3 s of failing exports (~15 exports); \
         slowest record {} ns; RSS {} -> {} KiB; storage {} -> {} bytes",
        figure(&burst, "slowest_ns"),
        figure(&burst, "rss_kb_before"),
        figure(&burst, "rss_kb_after"),
        figure(&before, "heap_bytes"),
        figure(&after, "heap_bytes"),
    );
    // Nothing is queued while the backend is down: storage holds one set of
    // cumulative cells per series (two new series: phase=burst of the
    // counter and of the histogram).
    assert_eq!(figure(&after, "series"), figure(&before, "series") + 2);
    let flush = c.cmd("flush");
    assert!(flush.starts_with("err"), "{flush}");
    println!(
        "RELIABILITY: flush with the backend down returned in {} ms: {flush}",
        millis(&flush)
    );

    // The backend comes up on that port: the next periodic export carries
    // every count recorded while it was down.
    let vm = Vm::start(VmOptions {
        port: Some(port),
        ..Default::default()
    });
    let l = "service_instance_id";
    vm.wait_for_value(
        &phase_query("reliability_events_total", l, &id, "down"),
        7.0,
    );
    vm.wait_for_value(
        &phase_query("reliability_events_total", l, &id, "burst"),
        adds as f64,
    );
    vm.wait_for_value(
        &phase_query("reliability_size_bytes_count", l, &id, "down"),
        3.0,
    );
    vm.wait_for_value(
        &phase_query("reliability_size_bytes_sum", l, &id, "down"),
        555.0,
    );
    vm.wait_for_value(
        &phase_query("reliability_size_bytes_count", l, &id, "burst"),
        (adds / 2) as f64,
    );
    let err = c.wait_stderr("export works again");
    let (status, _) = c.finish("quit");
    assert!(status.success());
    // The failure was logged once, not once per export.
    let failures: Vec<_> = runtime_lines(&err)
        .into_iter()
        .filter(|l| l.contains("Connection refused"))
        .collect();
    assert_eq!(failures.len(), 1, "{err}");
    assert!(failures[0].contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn backend_restarted_mid_run_totals_exact() {
    let mut vm = Vm::start(VmOptions::default());
    let endpoint = vm.otlp_endpoint();
    let id = instance("restart");
    let mut c = child(&env(
        &endpoint,
        &id,
        "200",
        &[
            ("OTEL_METRIC_EXPORT_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    ));
    let l = "service_instance_id";
    let q = phase_query("reliability_events_total", l, &id, "run");
    let h = phase_query("reliability_size_bytes_count", l, &id, "run");
    c.ok("add 10 phase=run");
    c.ok("hist 2 phase=run");
    vm.wait_for_value(&q, 10.0);
    // Killed hard (no flush of its own buffers), then started again on the
    // same port and data directory.
    vm.stop(libc::SIGKILL);
    c.ok("add 5 phase=run");
    c.ok("hist 20 phase=run");
    assert!(c.cmd("flush").starts_with("err"));
    vm.restart();
    c.ok("add 1 phase=run");
    vm.wait_for_value(&q, 16.0);
    vm.wait_for_value(&h, 2.0);
    // And once more with a graceful stop.
    vm.stop(libc::SIGTERM);
    c.ok("add 4 phase=run");
    vm.restart();
    vm.wait_for_value(&q, 20.0);
    let (status, _) = c.finish("quit");
    assert!(status.success());
}

#[test]
fn hanging_backend_bounds_every_call_and_never_delays_records() {
    let server = FaultServer::always(Reply::ok());
    let endpoint = server.endpoint();
    let id = instance("hang");
    let mut c = child(&env(
        &endpoint,
        &id,
        "200",
        &[
            ("OTEL_METRIC_EXPORT_TIMEOUT", "1500"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
        ],
    ));
    c.ok("add 1");
    // The same measurement with a healthy backend, then with one that
    // hangs: a record never waits for an export.
    let healthy = c.ok("burst 2000");
    server.set(|_, _| Reply::Hang);
    let hanging = c.ok("burst 2000");
    for (what, b) in [("healthy", &healthy), ("hanging", &hanging)] {
        println!(
            "RELIABILITY: {what} backend: {} records in 2 s (exports every 200 ms); slowest \
             call (3 records) {} ns; calls over 10 us: {}, over 100 us: {}, over 1 ms: {}",
            figure(b, "adds"),
            figure(b, "slowest_ns"),
            figure(b, "over_10us"),
            figure(b, "over_100us"),
            figure(b, "over_1ms"),
        );
    }
    // flush() returns (with an error) instead of hanging: its bound is
    // OTEL_METRIC_EXPORT_TIMEOUT + 250 ms.
    let flush = c.cmd("flush");
    assert!(flush.starts_with("err"), "{flush}");
    println!(
        "RELIABILITY: hanging backend: flush returned in {} ms (request timeout 500 ms, export \
         timeout 1500 ms): {flush}",
        millis(&flush)
    );
    let shutdown = c.cmd("shutdown");
    println!(
        "RELIABILITY: hanging backend: shutdown returned in {} ms: {shutdown}",
        millis(&shutdown)
    );
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let timeouts: Vec<_> = runtime_lines(&err)
        .into_iter()
        .filter(|l| l.contains("no answer within the request timeout (500 ms"))
        .collect();
    assert_eq!(timeouts.len(), 1, "{err}");
    // Timeouts are not retried within an export: one request per export.
    let n = server.requests().len();
    println!("RELIABILITY: hanging backend: {n} requests in ~4 s at a 200 ms interval");
    assert!(n <= 25, "{n} requests");
}

#[test]
fn slow_backend_within_and_beyond_the_request_timeout() {
    let server = FaultServer::always(Reply::Slow(
        std::time::Duration::from_millis(300),
        Box::new(Reply::ok()),
    ));
    let endpoint = server.endpoint();
    let id = instance("slow");
    let mut c = child(&env(
        &endpoint,
        &id,
        "3600000",
        &[
            ("OTEL_METRIC_EXPORT_TIMEOUT", "3000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    ));
    c.ok("add 3");
    let flush = c.cmd("flush");
    assert!(flush.starts_with("ok"), "{flush}");
    let req = server.requests().pop().unwrap();
    assert_eq!(req.sum("reliability_events_total", &[]), Some(3));
    println!(
        "RELIABILITY: backend answering in 300 ms: flush ok in {} ms",
        millis(&flush)
    );
    server.set(|_, _| Reply::Slow(std::time::Duration::from_secs(5), Box::new(Reply::ok())));
    let flush = c.cmd("flush");
    assert!(flush.starts_with("err"), "{flush}");
    println!(
        "RELIABILITY: backend answering in 5 s, request timeout 1 s: flush returned in {} ms: {flush}",
        millis(&flush)
    );
    let (status, _) = c.finish("quit");
    assert!(status.success());
}

#[test]
fn http_errors_logged_once_and_retried_only_where_the_spec_says() {
    let server = FaultServer::always(Reply::text(400, "bad field: metric x"));
    let endpoint = server.endpoint();
    let id = instance("http");
    let mut c = child(&env(
        &endpoint,
        &id,
        "3600000",
        &[
            ("OTEL_METRIC_EXPORT_TIMEOUT", "1500"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    ));
    c.ok("add 1");
    let mut seen = 0;
    let mut attempts = |c: &mut Child, expect: &str| -> (usize, String) {
        let r = c.cmd("flush");
        let n = server.requests().len();
        let attempts = n - seen;
        seen = n;
        assert!(r.contains(expect), "{r}");
        (attempts, r)
    };
    // Not retryable (OTLP/HTTP: only 429, 502, 503, 504 are): one request
    // per flush, the status and the backend's text in the message.
    for _ in 0..3 {
        let (n, r) = attempts(&mut c, "HTTP 400: bad field: metric x");
        assert_eq!(n, 1, "{r}");
    }
    server.set(|_, _| Reply::text(500, "internal"));
    let (n, _) = attempts(&mut c, "HTTP 500: internal");
    assert_eq!(n, 1);
    server.set(|_, _| Reply::text(401, "unauthorized"));
    let (n, r) = attempts(&mut c, "HTTP 401: unauthorized");
    assert_eq!(n, 1);
    assert!(r.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{r}");
    // Retryable: retried with backoff within the export timeout, never in
    // a tight loop, even when the server says `Retry-After: 0`.
    for (status, retry_after) in [
        (503, None),
        (429, Some("0")),
        (502, None),
        (504, None),
        (503, Some("18446744073709551615")),
    ] {
        server.set(move |_, _| {
            let headers = retry_after
                .map(|v| vec![("retry-after".to_string(), v.to_string())])
                .unwrap_or_default();
            Reply::Status(status, b"busy".to_vec(), headers)
        });
        let before = server.requests().len();
        let (n, r) = attempts(&mut c, &format!("HTTP {status}: busy"));
        let reqs = server.requests();
        let gaps: Vec<u128> = reqs[before..]
            .windows(2)
            .map(|w| (w[1].at - w[0].at).as_millis())
            .collect();
        println!(
            "RELIABILITY: HTTP {status} (retry-after {retry_after:?}): {n} attempts in one \
             1.5 s export, gaps {gaps:?} ms: {r}"
        );
        if retry_after == Some("18446744073709551615") {
            // A wait past the deadline ends the export at once (and the
            // huge value overflows nothing).
            assert_eq!(n, 1, "{r}");
        } else {
            assert!((2..=8).contains(&n), "{n} attempts");
        }
    }
    // Partial success: accepted, and the backend's message logged once.
    server.set(|_, _| Reply::partial(3, "3 points had bad labels"));
    for _ in 0..3 {
        attempts(&mut c, "ok");
    }
    server.set(|_, _| Reply::ok());
    attempts(&mut c, "ok");
    let (status, err) = c.finish("quit");
    assert!(status.success());
    let lines = runtime_lines(&err);
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("HTTP 400: bad field: metric x"), 1, "{err}");
    assert_eq!(count("HTTP 500"), 1, "{err}");
    assert_eq!(count("HTTP 401"), 1, "{err}");
    assert_eq!(count("failed: HTTP 503: busy"), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        count("rejected 3 data points: 3 points had bad labels"),
        1,
        "{err}"
    );
    assert!(count("export works again") >= 1, "{err}");
}

#[test]
fn many_threads_recording_while_exports_run_lose_nothing() {
    let b = backend();
    let endpoint = b.otlp_endpoint();
    let id = instance("threads");
    let mut c = child(&env(&endpoint, &id, "100", &[]));
    // 8 threads x 1,000,000 adds, while an export runs every 100 ms.
    c.ok("threads 8 1000000");
    assert!(c.cmd("flush").starts_with("ok"));
    let l = b.instance_label();
    b.wait_for_value(
        &phase_query("reliability_events_total", l, &id, "threads"),
        8_000_000.0,
    );
    b.wait_for_value(
        &phase_query("reliability_size_bytes_count", l, &id, "threads"),
        8_000.0,
    );
    let (status, _) = c.finish("quit");
    assert!(status.success());
}

#[test]
fn a_forked_child_exports_nothing_and_exits_at_once() {
    let b = backend();
    let endpoint = b.otlp_endpoint();
    let id = instance("fork");
    let mut c = child(&env(&endpoint, &id, "3600000", &[]));
    c.ok("add 2 phase=parent");
    assert!(c.cmd("flush").starts_with("ok"));
    let r = c.ok("fork");
    assert_eq!(r, "ok exited=true code=3");
    let err = c.wait_stderr("fork-child flush:");
    assert!(err.contains("fork-child flush: err"), "{err}");
    assert!(err.contains("a forked child exports nothing"), "{err}");
    // The parent goes on as before.
    c.ok("add 3 phase=parent");
    assert!(c.cmd("flush").starts_with("ok"));
    let l = b.instance_label();
    b.wait_for_value(
        &phase_query("reliability_events_total", l, &id, "parent"),
        5.0,
    );
    let r = b
        .query(&phase_query("reliability_events_total", l, &id, "forked"))
        .unwrap();
    assert!(r.is_empty(), "{r:?}");
    let (status, _) = c.finish("quit");
    assert!(status.success());
}

#[test]
fn records_after_shutdown_are_ignored_cheaply() {
    let b = backend();
    let endpoint = b.otlp_endpoint();
    let id = instance("after");
    let mut c = child(&env(&endpoint, &id, "3600000", &[]));
    c.ok("add 5 phase=before");
    assert!(c.cmd("shutdown").starts_with("ok"));
    let r = c.ok("after-shutdown 100000");
    assert!(r.contains("flush=err"), "{r}");
    assert!(r.contains("shut down"), "{r}");
    assert!(r.contains("shutdown_again=ok"), "{r}");
    println!(
        "RELIABILITY: after shutdown: 100000 records, slowest {} ns: {r}",
        figure(&r, "slowest_ns")
    );
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    assert!(runtime_lines(&err).is_empty(), "{err}");
    let l = b.instance_label();
    b.wait_for_value(
        &phase_query("reliability_events_total", l, &id, "before"),
        5.0,
    );
    let r = b
        .query(&phase_query("reliability_events_total", l, &id, "after"))
        .unwrap();
    assert!(r.is_empty(), "{r:?}");
}

#[test]
fn shutdown_before_anything_started_stays_shut_down() {
    let server = FaultServer::always(Reply::ok());
    let endpoint = server.endpoint();
    let id = instance("early");
    let mut c = child(&env(&endpoint, &id, "100", &[]));
    assert!(c.cmd("shutdown").starts_with("ok"));
    c.ok("add 1");
    let r = c.cmd("flush");
    assert!(r.starts_with("err") && r.contains("shut down"), "{r}");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    assert!(server.requests().is_empty());
}

#[test]
fn a_killed_process_loses_only_what_it_recorded_since_its_last_export() {
    let b = backend();
    let endpoint = b.otlp_endpoint();
    let l = b.instance_label();
    for (signal, tag) in [(libc::SIGKILL, "kill"), (libc::SIGTERM, "term")] {
        let id = instance(tag);
        let mut c = child(&env(&endpoint, &id, "3600000", &[]));
        c.ok("add 5 phase=signal");
        assert!(c.cmd("flush").starts_with("ok"));
        c.ok("add 3 phase=signal");
        let (status, _) = c.signal(signal);
        assert!(!status.success());
        // The 3 recorded after the last export are lost; nothing else.
        b.wait_for_value(
            &phase_query("reliability_events_total", l, &id, "signal"),
            5.0,
        );
    }
}
