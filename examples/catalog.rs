//! Prints this binary's metric catalog, and writes the generated
//! dashboard and rules: `cargo run -p examples --example catalog [md|json|queries|dashboard|rules] [DIR]`.
//!
//! With a directory, writes catalog.md, catalog.json, dashboard.json and
//! rules.yml there (the same as `TELEMETRY_CATALOG_DIR=DIR` at start-up).

use telemetry_runtime::{
    declare_static_counter, declare_static_histogram, metered, Counter, LabelSet, LabelValue,
    Metrics, QueryOptions,
};

declare_static_counter!(
    JOBS,
    "jobs_processed_total",
    description = "Jobs processed."
);
declare_static_histogram!(
    JOB_SIZE,
    "job_size_bytes",
    unit = "By",
    buckets = [1024.0, 65536.0, 1048576.0],
    description = "Size of a job's input."
);

#[derive(LabelValue)]
#[allow(dead_code)] // only described here, never recorded
enum Outcome {
    Done,
    Retried,
}

#[derive(LabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Metrics)]
#[metrics(prefix = "queue")]
struct QueueMetrics {
    /// Messages handled, by outcome.
    messages_total: Counter<OutcomeLabels>,
}

#[metered]
fn handle(job: u32) -> Result<u32, String> {
    Ok(job)
}

fn main() {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    let _ = (
        &JOBS,
        &JOB_SIZE,
        QueueMetrics::global(),
        handle as fn(u32) -> _,
    );
    let catalog = telemetry_runtime::catalog();
    let opts = QueryOptions::default();
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "md".into());
    if let Some(dir) = args.next() {
        catalog
            .write_to(std::path::Path::new(&dir), &opts)
            .expect("write the catalog files");
        println!("wrote catalog.md, catalog.json, dashboard.json and rules.yml to {dir}");
        return;
    }
    match what.as_str() {
        "json" => print!("{}", catalog.to_json()),
        "dashboard" => print!("{}", catalog.grafana_dashboard(&opts)),
        "rules" => print!("{}", catalog.prometheus_rules(&opts)),
        "queries" => {
            for (group, queries) in catalog.queries(&opts) {
                println!("## {group}");
                for q in queries {
                    println!("- {}: `{}`", q.title, q.expr);
                }
            }
        }
        _ => print!("{}", catalog.to_markdown()),
    }
}
