//! Lazy start and exit flush, each in a child process of its own: the
//! values must reach the real backend with no init and no flush call.

use std::process::Command;
use tests::{backend, child_env};

/// Runs the scenario child in `mode`, exporting as `instance`, with extra
/// environment; asserts it succeeded and returns its standard error.
fn spawn(mode: &str, instance: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .arg(mode)
        .envs(child_env(instance))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{mode}: {stderr}");
    stderr
}

fn run(mode: &str) -> String {
    let instance = format!("scenario-{mode}-{}", std::process::id());
    spawn(mode, &instance, &[]);
    instance
}

/// The histogram's count and sum, as every scenario records them.
fn assert_histogram_totals(instance: &str) {
    let b = backend();
    let l = b.instance_label();
    b.wait_for_value(
        &format!("scenario_size_bytes_count{{{l}=\"{instance}\"}}"),
        3.0,
    );
    b.wait_for_value(
        &format!("scenario_size_bytes_sum{{{l}=\"{instance}\"}}"),
        555.0,
    );
}

fn assert_known(instance: &str) {
    let b = backend();
    let l = b.instance_label();
    b.wait_for_value(
        &format!("scenario_events_total{{{l}=\"{instance}\",phase=\"main\"}}"),
        7.0,
    );
    assert_histogram_totals(instance);
    b.wait_for_value(
        &format!("scenario_size_bytes_bucket{{{l}=\"{instance}\",le=\"100\"}}"),
        2.0,
    );
}

#[test]
fn returning_from_main_still_exports() {
    assert_known(&run("return"));
}

#[test]
fn process_exit_still_exports() {
    assert_known(&run("exit"));
}

#[test]
fn first_record_inside_current_thread_tokio() {
    assert_known(&run("tokio-current"));
}

#[test]
fn first_record_inside_multi_thread_tokio() {
    let instance = run("tokio-multi");
    assert_known(&instance);
    let l = backend().instance_label();
    backend().wait_for_value(
        &format!("scenario_events_total{{{l}=\"{instance}\",phase=\"task\"}}"),
        4.0,
    );
}

#[test]
fn racing_first_records_initialise_once_and_lose_nothing() {
    let instance = run("race");
    let l = backend().instance_label();
    backend().wait_for_value(
        &format!("scenario_events_total{{{l}=\"{instance}\",phase=\"race\"}}"),
        8000.0,
    );
    // One pipeline: exactly one instance id, one series.
    let r = backend()
        .query(&format!(
            "count(scenario_events_total{{{l}=\"{instance}\"}})"
        ))
        .unwrap();
    assert_eq!(r[0].1, 1.0);
}

#[test]
fn disabled_backend_exits_at_once() {
    let instance = format!("scenario-off-{}", std::process::id());
    let stderr = spawn(
        "return",
        &instance,
        &[("HYPERACTOR_OTEL_BACKEND", "none".as_ref())],
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn exponential_histograms_on_request() {
    let instance = format!("scenario-exp-{}", std::process::id());
    let aggregation = "base2_exponential_bucket_histogram";
    spawn(
        "return",
        &instance,
        &[(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            aggregation.as_ref(),
        )],
    );
    let b = backend();
    let l = b.instance_label();
    // Prometheus stores one native series; VictoriaMetrics `_count`,
    // `_sum` and `vmrange` buckets.
    let sel = format!("{l}=\"{instance}\"");
    b.wait_for_value(&b.exponential_count("scenario_size_bytes", &sel), 3.0);
    b.wait_for_value(&b.exponential_sum("scenario_size_bytes", &sel), 555.0);
    // No explicit `le` buckets were sent.
    let r = b
        .query(&format!(
            "scenario_size_bytes_bucket{{{l}=\"{instance}\",le!=\"\"}}"
        ))
        .unwrap();
    assert!(r.is_empty(), "{r:?}");
    if b.kind == tests::Kind::Victoria {
        // VictoriaMetrics turns exponential buckets into `vmrange` buckets.
        // 5, 50 and 500 span 6.6 octaves: at most 123 buckets fit them at
        // scale 4, where 5 lies in (2^(37/16), 2^(38/16)] = (4.967, 5.187].
        b.wait_for_value(
            &format!("scenario_size_bytes_bucket{{{l}=\"{instance}\",vmrange=\"4.967e+00...5.187e+00\"}}"),
            1.0,
        );
        b.wait_for_value(
            &format!("count(scenario_size_bytes_bucket{{{l}=\"{instance}\"}})"),
            3.0,
        );
    }
}

#[test]
fn catalog_files_are_written_at_start_up_when_asked() {
    let dir = std::env::temp_dir().join(format!("telemetry-catalog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    spawn(
        "return",
        "catalog-files",
        &[
            ("HYPERACTOR_OTEL_BACKEND", "none".as_ref()),
            ("TELEMETRY_CATALOG_DIR", dir.as_os_str()),
        ],
    );
    for f in ["catalog.md", "catalog.json", "dashboard.json"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains("scenario_size_bytes"), "{f}");
    }
    let rules = std::fs::read_to_string(dir.join("rules.yml")).unwrap();
    assert!(rules.contains("groups:"), "{rules}");
    let _ = std::fs::remove_dir_all(&dir);
}
