//! Time to collect and encode one export of 1,000 and of 10,000 series.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

telemetry_runtime::declare_static_counter!(E0, "export_bench_0_total");
telemetry_runtime::declare_static_counter!(E1, "export_bench_1_total");
telemetry_runtime::declare_static_counter!(E2, "export_bench_2_total");
telemetry_runtime::declare_static_counter!(E3, "export_bench_3_total");
telemetry_runtime::declare_static_counter!(E4, "export_bench_4_total");
telemetry_runtime::declare_static_counter!(E5, "export_bench_5_total");
telemetry_runtime::declare_static_counter!(E6, "export_bench_6_total");
telemetry_runtime::declare_static_counter!(E7, "export_bench_7_total");
telemetry_runtime::declare_static_counter!(E8, "export_bench_8_total");
telemetry_runtime::declare_static_counter!(E9, "export_bench_9_total");

fn export(c: &mut Criterion) {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    let all = [&E0, &E1, &E2, &E3, &E4, &E5, &E6, &E7, &E8, &E9];
    benches::populate(&all[..1]);
    let mut g = c.benchmark_group("export");
    // One exporter's state throughout, as the pipeline keeps it from one
    // export to the next (its collector and body buffer).
    let mut exporter = telemetry_runtime::__Exporter::new();
    g.bench_function("collect_encode/1000", |b| {
        b.iter(|| exporter.export().len())
    });
    benches::populate(&all);
    g.bench_function("collect_encode/10000", |b| {
        b.iter(|| exporter.export().len())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
}

criterion_group! { name = benches_export; config = config(); targets = export }
criterion_main!(benches_export);
