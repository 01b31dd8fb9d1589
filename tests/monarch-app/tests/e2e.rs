//! The Monarch-shaped program against VictoriaMetrics in both of its
//! naming modes: as sent (like Prometheus's `NoTranslation`, queried with
//! Prometheus 3's quoting) and with `-opentelemetry.usePrometheusNaming`
//! (like Prometheus's default `UnderscoreEscapingWithSuffixes`). The
//! program records, returns from `main`, and its exit flush delivers.

use std::process::Command;
use tests::vm::{Vm, VmOptions};

/// Runs `monarch-app` against `vm` under instance id `instance`, telling
/// it the backend's translation strategy.
fn run_app(vm: &Vm, instance: &str, strategy: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_monarch-app"))
        .env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", vm.otlp_endpoint())
        .env("OTEL_SERVICE_INSTANCE_ID", instance)
        .env("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", strategy)
        .env("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
        // Its series are read after it exited, with instant queries.
        .env("HYPERACTOR_OTEL_STALE_MARKERS", "off")
        // The names Monarch's code sends, and only those (the runtime's
        // own metrics are tested in tests/tests/health.rs).
        .env("HYPERACTOR_OTEL_SELF_METRICS", "off")
        .status()
        .expect("run monarch-app");
    assert!(status.success(), "monarch-app failed: {status}");
}

/// The stored names, the PromQL selectors and the labels of one naming
/// mode.
struct Mode {
    vm: Vm,
    instance: &'static str,
    /// `service.instance.id` as a label.
    instance_label: &'static str,
    /// The Prometheus strategy the mode is like.
    strategy: &'static str,
    names: [&'static str; 21],
}

impl Mode {
    /// `name{instance, extra}` in the mode's quoting.
    fn sel(&self, name: &str, extra: &str) -> String {
        let inst = format!("\"{}\"=\"{}\"", self.instance_label, self.instance);
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        if name.contains('.') {
            format!("{{\"{name}\", {inst}{extra}}}")
        } else {
            format!("{name}{{{inst}{extra}}}")
        }
    }

    fn value(&self, name: &str, extra: &str, expected: f64) {
        self.vm.wait_for_value(&self.sel(name, extra), expected);
    }
}

fn check(m: &Mode, stored: &dyn Fn(usize) -> &'static str, method_key: &str) {
    run_app(&m.vm, m.instance, m.strategy);
    // Every name the program sends, stored as the mode stores it.
    let sel = format!("{{\"{}\"=\"{}\"}}", m.instance_label, m.instance);
    m.vm.wait_until(&sel, |r| r.len() >= m.names.len());
    let names = tests::vm::stored_names(&m.vm, &sel);
    let mut expected: Vec<String> = m.names.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
    // Counters: two declarations of `mailbox.posts` add up (3 + 4 for
    // actor 0); dotted attribute keys as the mode stores them.
    m.value(
        stored(0),
        &format!("actor_id=\"0\", \"{method_key}\"=\"POST\""),
        7.0,
    );
    m.value(stored(0), "actor_id=\"1\"", 3.0);
    m.value(stored(1), "reason=\"closed\"", 5.0);
    m.value(
        stored(2),
        "endpoint=\"ping\", retry=\"true\", attempt=\"3\", ratio=\"0.5\"",
        1.0,
    );
    // Through `&'static opentelemetry::metrics::Counter<u64>`, twice.
    m.value(stored(3), "", 2.0);
    m.value(stored(4), "transport=\"tcp\"", 3.0);
    m.value(stored(4), "transport=\"\"", 1.0);
    m.value(stored(5), "route=\"/ping\"", 2.0);
    // Up-down counter: 5 - 2 - 1 (the last through `&UpDownCounter<i64>`).
    m.value(stored(6), "", 2.0);
    // Gauge: the last value, set through `&Gauge<f64>`.
    m.value(stored(7), "", 2048.0);
    // Observable gauge: its callback ran at the exit export.
    m.value(stored(8), "", 512.0);
    // Histogram: 3 + 30 + 300 (the last through `&Histogram<f64>`).
    m.value(stored(9), "channel=\"tcp\"", 3.0);
    m.value(stored(10), "channel=\"tcp\"", 333.0);
    m.value(stored(11), "channel=\"tcp\", le=\"+Inf\"", 3.0);
    m.value(stored(11), "channel=\"tcp\", le=\"5\"", 1.0);
    // Timers: counts exact; sums within the unit's bounds (Monarch adds
    // whole units, which is at most one unit less per record).
    m.value(stored(12), "actor_id=\"0\"", 4.0);
    m.value(stored(14), "", 2.0);
    let sum =
        m.vm.wait_until(&m.sel(stored(15), ""), |r| r.len() == 1)
            .remove(0)
            .1;
    assert!(
        (9.0..11.0).contains(&sum),
        "7 ms + 2.5 ms as whole ms: {sum}"
    );
    assert!((sum - 9.5).abs() < 1e-6, "the exact total is 9.5 ms: {sum}");
    let handler =
        m.vm.wait_until(&m.sel(stored(13), "actor_id=\"0\""), |r| r.len() == 1)
            .remove(0)
            .1;
    // Four empty scopes: well under a second in nanoseconds.
    assert!((0.0..1e9).contains(&handler), "handler sum {handler} ns");
    // Measured durations: 1234 + 766 µs, to a clock tick.
    m.value(stored(18), "", 2.0);
    let sum =
        m.vm.wait_until(&m.sel(stored(19), ""), |r| r.len() == 1)
            .remove(0)
            .1;
    assert!((sum - 2000.0).abs() < 0.01, "1234 + 766 us: {sum}");
}

#[test]
fn monarch_code_arrives_in_both_naming_modes() {
    let as_sent = Mode {
        vm: Vm::start(VmOptions {
            as_sent: true,
            ..Default::default()
        }),
        instance: "monarch-as-sent",
        instance_label: "service.instance.id",
        strategy: "NoTranslation",
        names: [
            "mailbox.posts",
            "channel.errors",
            "endpoint_call_error",
            "actor.actor_mesh_controller.num_stalls",
            "channel.remote_messages",
            "app.requests",
            "proc.actors.active",
            "process.memory.rss_bytes",
            "process.heap.size",
            "channel.latency.us_count",
            "channel.latency.us_sum",
            "channel.latency.us_bucket",
            "actor.message_handler_duration.ns_count",
            "actor.message_handler_duration.ns_sum",
            "actor.spawn_duration.ms_count",
            "actor.spawn_duration.ms_sum",
            "actor.message_handler_duration.ns_bucket",
            "actor.spawn_duration.ms_bucket",
            "actor.dispatch_duration.us_count",
            "actor.dispatch_duration.us_sum",
            "actor.dispatch_duration.us_bucket",
        ],
    };
    let prometheus_naming = Mode {
        vm: Vm::start(VmOptions::default()),
        instance: "monarch-prometheus-naming",
        instance_label: "service_instance_id",
        strategy: "UnderscoreEscapingWithSuffixes",
        names: [
            "mailbox_posts_total",
            "channel_errors_total",
            "endpoint_call_error_total",
            "actor_actor_mesh_controller_num_stalls_total",
            "channel_remote_messages_total",
            "app_requests_total",
            "proc_actors_active",
            "process_memory_rss_bytes",
            "process_heap_size",
            "channel_latency_us_count",
            "channel_latency_us_sum",
            "channel_latency_us_bucket",
            "actor_message_handler_duration_ns_nanoseconds_count",
            "actor_message_handler_duration_ns_nanoseconds_sum",
            "actor_spawn_duration_ms_milliseconds_count",
            "actor_spawn_duration_ms_milliseconds_sum",
            "actor_message_handler_duration_ns_nanoseconds_bucket",
            "actor_spawn_duration_ms_milliseconds_bucket",
            "actor_dispatch_duration_us_microseconds_count",
            "actor_dispatch_duration_us_microseconds_sum",
            "actor_dispatch_duration_us_microseconds_bucket",
        ],
    };
    let a = |i: usize| as_sent.names[i];
    check(&as_sent, &a, "http.request.method");
    let p = |i: usize| prometheus_naming.names[i];
    check(&prometheus_naming, &p, "http_request_method");
}
