//! Metrics with OpenTelemetry names and units, a known workload, and what
//! the catalog predicts for the backend: the stored names and the
//! generated queries, printed as JSON on standard output for
//! `tests/strategies.rs`.
//!
//! Reads the usual `OTEL_*` variables, `HYPERACTOR_OTEL_TRANSLATION_STRATEGY`,
//! and `STRATEGY_SELECTOR` (the matcher of this process's series in the
//! generated queries).

use std::time::Duration;
use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram,
    declare_static_up_down_counter, kv_pairs, metered, QueryOptions, TranslationStrategy,
};

declare_static_counter!(REQUESTS, "strategy.requests");
declare_static_counter!(SENT, "strategy.bytes.sent", unit = "By");
declare_static_up_down_counter!(QUEUE, "strategy.queue.items", unit = "{item}");
declare_static_gauge!(CPU, "strategy.cpu.utilization", unit = "1");
declare_static_gauge!(MEMORY, "strategy.memory.usage", unit = "By");
declare_static_histogram!(
    RPC,
    "strategy.rpc.duration",
    unit = "s",
    buckets = [0.1, 1.0]
);

/// Fails on every call whose argument is a multiple of 3 (3 of 0..10).
#[metered(histogram = "strategy.step.duration", buckets = [1.0, 10.0])]
fn step(i: u32) -> Result<(), String> {
    if i.is_multiple_of(3) && i > 0 {
        Err("odd".into())
    } else {
        Ok(())
    }
}

fn main() {
    let strategy: TranslationStrategy = std::env::var("HYPERACTOR_OTEL_TRANSLATION_STRATEGY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    // Every series exists at zero in a first export, so that increase()
    // sees where it started.
    let get = REQUESTS.bind(kv_pairs!("http.request.method" => "GET"));
    let post = REQUESTS.bind(kv_pairs!("http.request.method" => "POST"));
    SENT.add(0, &[]);
    QUEUE.add(0, &[]);
    CPU.record(0.0, &[]);
    MEMORY.record(0.0, &[]);
    let rpc = RPC.bind(&[]);
    telemetry_runtime::flush().expect("baseline flush");
    // Distinct sample timestamps for the two exports.
    std::thread::sleep(Duration::from_millis(1100));
    get.add(6);
    post.add(4);
    SENT.add(512, &[]);
    QUEUE.add(5, &[]);
    QUEUE.add(-2, &[]);
    CPU.record(0.25, &[]);
    MEMORY.record(1024.0, &[]);
    for _ in 0..4 {
        rpc.record(0.2);
    }
    for i in 0..10 {
        let _ = step(i);
    }
    telemetry_runtime::flush().expect("flush");
    let catalog = telemetry_runtime::catalog();
    let opts = QueryOptions {
        selector: std::env::var("STRATEGY_SELECTOR").unwrap_or_default(),
        window: "1h".into(),
        native_histograms: false,
        strategy,
        ..QueryOptions::default()
    };
    let queries: Vec<serde_json::Value> = catalog
        .queries(&opts)
        .into_iter()
        .flat_map(|(_, qs)| qs)
        .map(|q| serde_json::json!([q.title, q.expr]))
        .collect();
    let rules: Vec<serde_json::Value> = catalog
        .rule_expressions(&opts)
        .into_iter()
        .map(|(name, expr)| serde_json::json!([name, expr]))
        .collect();
    let names: Vec<String> = catalog.stored_series_names(strategy, false);
    let label = catalog
        .get("strategy.requests")
        .next()
        .map(|m| m.stored_label(strategy, "http.request.method"));
    println!(
        "{}",
        serde_json::json!({"names": names, "queries": queries, "rules": rules, "method_label": label})
    );
}
