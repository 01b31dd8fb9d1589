//! Bad input: malformed configuration, hostile attribute keys and values,
//! a cardinality explosion, non-finite values. Each in a child process,
//! read back from the real backend.

use tests::fault::{enc, figure, runtime_lines, Child};
use tests::{backend, free_port, Kind};

fn child(env: &[(&str, &str)]) -> Child {
    Child::spawn(env!("CARGO_BIN_EXE_reliability_child"), env)
}

fn instance(tag: &str) -> String {
    format!("input-{tag}-{}-{}", std::process::id(), free_port())
}

fn sel(id: &str, extra: &str) -> String {
    let l = backend().instance_label();
    if extra.is_empty() {
        format!("{{{l}=\"{id}\"}}")
    } else {
        format!("{{{l}=\"{id}\",{extra}}}")
    }
}

/// A child exporting to the test backend, only on `flush` and at exit.
fn to_backend(id: &str, extra: &[(&str, &str)]) -> Child {
    let endpoint = backend().otlp_endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_INSTANCE_ID", id),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
    ];
    env.extend_from_slice(extra);
    child(&env)
}

/// Every variable malformed (but the endpoint, so that the data can be
/// checked): one message each naming the variable, no panic, defaults used,
/// data delivered.
#[test]
fn malformed_configuration_is_reported_once_per_variable_and_defaults_used() {
    let id = instance("config");
    let bad: &[(&str, &str)] = &[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "-5"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999999999999999"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "weekly",
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "fancy",
        ),
        ("OTEL_SDK_DISABLED", "maybe"),
        ("HYPERACTOR_OTEL_BACKEND", "graphite"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no equals sign here"),
        ("OTEL_RESOURCE_ATTRIBUTES", "k=%zz"),
        ("OTEL_SERVICE_NAME", ""),
    ];
    let mut c = to_backend(&id, bad);
    c.ok("add 6 phase=config");
    let flush = c.cmd("flush");
    assert!(flush.starts_with("ok"), "{flush}");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let lines = runtime_lines(&err);
    for (var, _) in bad {
        let n = lines.iter().filter(|l| l.contains(var)).count();
        assert_eq!(n, 1, "{var}: {err}");
    }
    assert_eq!(lines.len(), bad.len(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The malformed endpoint is ignored in favour of the valid
    // signal-specific one; defaults elsewhere: cumulative, explicit
    // buckets, service name "monarch".
    let b = backend();
    let labels = b.wait_for_value(
        &format!("reliability_events_total{}", sel(&id, "phase=\"config\"")),
        6.0,
    );
    assert_eq!(
        labels.get(b.job_label()).map(String::as_str),
        Some("monarch")
    );
    b.wait_for_value(
        &format!("count(reliability_size_bytes_bucket{})", sel(&id, "")),
        4.0,
    );
}

#[test]
fn malformed_endpoint_falls_back_to_the_loopback_default() {
    let mut c = child(&[
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "localhost:9090"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "1000"),
    ]);
    c.ok("add 1");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let lines = runtime_lines(&err);
    assert!(
        lines[0].contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=\"localhost:9090\" is not valid")
            && lines[0].contains("http://localhost:9090/api/v1/otlp/v1/metrics"),
        "{err}"
    );
}

/// Keys and values that are hostile to a Prometheus-style backend: each is
/// stored as the rule in `storage/normalise.rs` says, and none makes the
/// backend drop the request (the plain series sent in the same request
/// arrives).
#[test]
fn hostile_attributes_are_stored_or_cut_by_the_documented_rule() {
    let id = instance("attrs");
    let mut c = to_backend(&id, &[]);
    let huge = "x".repeat(10_000);
    let odd = "line1\nline2 \"quoted\" back\\slash \u{fffd} nul\0 tab\t é 😀 {}=,";
    let many: Vec<String> = (0..30).map(|i| format!("k{i:02}=v{i}")).collect();
    let long_key = "k".repeat(300);
    let cmds = [
        format!("add 1 case=huge v={}", enc(&huge)),
        format!("add 2 case=odd v={}", enc(odd)),
        // `__name__` must not rename the metric; `le` must not break the
        // histogram's buckets.
        "add 3 case=name __name__=evil_total".to_string(),
        "hist 5 case=le le=3".to_string(),
        // Two spellings of one label under the backend's escaping, and an
        // empty value next to no attribute: one series each, counts summed.
        "add 4 case=dot a.b=x".to_string(),
        "add 5 case=dot a_b=x".to_string(),
        "add 6 case=empty e=".to_string(),
        "add 7 case=empty".to_string(),
        format!("add 8 case=many {}", many.join(" ")),
        format!("add 9 case=longkey {}=v", long_key),
        "add 10 case=reserved job=j service.name=s".to_string(),
        "add 11 case=plain".to_string(),
        // Beyond i64::MAX: sent as a double, not a negative integer.
        "add 10000000000000000000 case=max".to_string(),
    ];
    for cmd in &cmds {
        c.ok(cmd);
    }
    let flush = c.cmd("flush");
    assert!(flush.starts_with("ok"), "{flush}");
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let b = backend();
    let q = |extra: &str| format!("reliability_events_total{}", sel(&id, extra));
    b.wait_for_value(&q("case=\"plain\""), 11.0);
    // Cut at 2048 bytes: 2045 bytes of the value and "…".
    let cut = format!("{}…", "x".repeat(2045));
    b.wait_for_value(&q(&format!("case=\"huge\",v=\"{cut}\"")), 1.0);
    let r = b.wait_until(&q("case=\"odd\""), |r| r.len() == 1);
    assert_eq!(r[0].0.get("v").map(String::as_str), Some(odd));
    assert_eq!(r[0].1, 2.0);
    b.wait_for_value(&q("case=\"name\",key__name__=\"evil_total\""), 3.0);
    let r = b.query(&format!("evil_total{}", sel(&id, ""))).unwrap();
    assert!(r.is_empty(), "{r:?}");
    b.wait_for_value(
        &format!(
            "reliability_size_bytes_bucket{}",
            sel(&id, "case=\"le\",key_le=\"3\",le=\"10\"")
        ),
        1.0,
    );
    if b.strategy.escapes() {
        // One label to the backend: merged before sending.
        b.wait_for_value(&q("case=\"dot\",a_b=\"x\""), 9.0);
    } else {
        // Two labels (`NoTranslation`): two series.
        b.wait_for_value(&q("case=\"dot\",a_b=\"x\""), 5.0);
        b.wait_for_value(&q("case=\"dot\",\"a.b\"=\"x\""), 4.0);
    }
    b.wait_for_value(&q("case=\"empty\""), 13.0);
    let r = b.wait_until(&q("case=\"many\""), |r| r.len() == 1);
    // 24 attributes kept (case, k00..k22 in sorted order), the rest dropped.
    assert_eq!(r[0].1, 8.0);
    assert!(
        r[0].0.contains_key("k22") && !r[0].0.contains_key("k23"),
        "{r:?}"
    );
    let r = b.wait_until(&q("case=\"longkey\""), |r| r.len() == 1);
    assert!(r[0].0.contains_key(&"k".repeat(128)), "{r:?}");
    let r = b.wait_until(&q("case=\"reserved\""), |r| r.len() == 1);
    assert_eq!(r[0].0.get("key_job").map(String::as_str), Some("j"));
    assert_eq!(
        r[0].0
            .get(&b.strategy.label("key_service.name"))
            .map(String::as_str),
        Some("s")
    );
    b.wait_for_value(&q("case=\"max\""), 1e19);
    // Each lossy change is reported once.
    let lines = runtime_lines(&err);
    for needle in [
        "more than 24 attributes",
        "longer than 128 bytes",
        "\"le\" clashes with a label the backend sets itself",
        "\"job\" clashes with a label the backend sets itself",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(needle)).count(),
            1,
            "{needle}: {err}"
        );
    }
}

/// A user id as a label, 1,000,000 distinct values: storage stays at the
/// cardinality limit (2000 series + one overflow series), the counts are
/// all there, and one warning says so.
#[test]
fn cardinality_explosion_is_bounded_with_one_warning() {
    let id = instance("card");
    let mut c = to_backend(&id, &[]);
    let r = c.ok("users 1000000");
    println!(
        "RELIABILITY: 1,000,000 distinct label values: {} series kept, storage {} bytes, RSS {} -> {} KiB",
        figure(&r, "series"),
        figure(&r, "heap_bytes"),
        figure(&r, "rss_kb_before"),
        figure(&r, "rss_kb_after"),
    );
    assert_eq!(figure(&r, "series"), 2000);
    assert!(figure(&r, "heap_bytes") < 4 << 20, "{r}");
    let again = c.ok("users 1000000");
    assert_eq!(figure(&again, "heap_bytes"), figure(&r, "heap_bytes"));
    assert!(c.cmd("flush").starts_with("ok"));
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let warnings: Vec<_> = runtime_lines(&err)
        .into_iter()
        .filter(|l| l.contains("cardinality limit"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("reliability_user_logins_total"));
    let b = backend();
    let m = format!("reliability_user_logins_total{}", sel(&id, ""));
    b.wait_for_value(&format!("count({m})"), 2001.0);
    b.wait_for_value(&format!("sum({m})"), 2_000_000.0);
    b.wait_for_value(
        &format!(
            "reliability_user_logins_total{}",
            sel(&id, "otel_metric_overflow=\"true\"")
        ),
        2_000_000.0 - 2.0 * 2000.0,
    );
}

/// NaN is not recorded by a histogram (one warning); infinities land in
/// the edge buckets and make the sum infinite; negative values land in the
/// first bucket; a gauge exports what it was given.
#[test]
fn non_finite_and_negative_values_follow_the_documented_rule() {
    let id = instance("nonfinite");
    let mut c = to_backend(&id, &[]);
    for cmd in [
        "hist NaN case=nan",
        "hist 5 case=nan",
        "hist NaN case=nan",
        "hist inf case=inf",
        "hist -inf case=ninf",
        "hist -2.5 case=neg",
        "gauge inf g=inf",
        "gauge -inf g=ninf",
        "gauge NaN g=nan",
        "updown -7 case=neg",
    ] {
        c.ok(cmd);
    }
    assert!(c.cmd("flush").starts_with("ok"));
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let nan: Vec<_> = runtime_lines(&err)
        .into_iter()
        .filter(|l| l.contains("NaN"))
        .collect();
    assert_eq!(nan.len(), 1, "{err}");
    let b = backend();
    let h = |s: &str, extra: &str| format!("reliability_size_bytes_{s}{}", sel(&id, extra));
    b.wait_for_value(&h("count", "case=\"nan\""), 1.0);
    b.wait_for_value(&h("sum", "case=\"nan\""), 5.0);
    b.wait_for_value(&h("bucket", "case=\"inf\",le=\"100\""), 0.0);
    b.wait_for_value(&h("bucket", "case=\"inf\",le=\"+Inf\""), 1.0);
    b.wait_for_value(&h("sum", "case=\"inf\""), f64::INFINITY);
    b.wait_for_value(&h("bucket", "case=\"ninf\",le=\"1\""), 1.0);
    b.wait_for_value(&h("sum", "case=\"ninf\""), f64::NEG_INFINITY);
    b.wait_for_value(&h("bucket", "case=\"neg\",le=\"1\""), 1.0);
    b.wait_for_value(&h("sum", "case=\"neg\""), -2.5);
    let g = |extra: &str| format!("reliability_level_ratio{}", sel(&id, extra));
    b.wait_for_value(&g("g=\"inf\""), f64::INFINITY);
    b.wait_for_value(&g("g=\"ninf\""), f64::NEG_INFINITY);
    b.wait_for_value(
        &format!("reliability_open_items{}", sel(&id, "case=\"neg\"")),
        -7.0,
    );
    if b.kind == Kind::Victoria {
        // VictoriaMetrics does not store NaN samples (Prometheus does).
        let r = b.query(&g("g=\"nan\"")).unwrap();
        assert!(r.is_empty(), "{r:?}");
    }
}
