//! One record into an exponential histogram
//! (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram`),
//! bound or typed, at 1 thread and 2 threads (same series, different
//! series). Its own process: the aggregation is chosen once per process.
//! Ids: `case/impl/mode`, as in `hot_path.rs`.

use benches::{labels, ours, run_threads};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use telemetry_runtime::kv_pairs;

fn config() -> Criterion {
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "base2_exponential_bucket_histogram",
    );
    benches::criterion_config()
}

fn run<F, M>(c: &mut Criterion, group: &str, name: &str, make: M)
where
    M: Fn(usize) -> F,
    F: Fn() + Send + 'static,
{
    let mut g = c.benchmark_group(group);
    let one = make(0);
    g.bench_function(format!("{name}/1t"), |b| b.iter(&one));
    g.bench_function(format!("{name}/2t-same"), |b| {
        b.iter_custom(|iters| run_threads(2, false, iters, &make))
    });
    g.bench_function(format!("{name}/2t-diff"), |b| {
        b.iter_custom(|iters| run_threads(2, true, iters, &make))
    });
    g.finish();
}

/// Values three decades apart, in turn (0.0004 to 0.3, as
/// `histogram_fixed_spread`).
fn spread() -> impl Fn() -> f64 {
    let i = std::cell::Cell::new(0usize);
    move || {
        let v = [0.0004, 0.003, 0.02, 0.3][i.get() & 3];
        i.set(i.get().wrapping_add(1));
        black_box(v)
    }
}

fn exponential(c: &mut Criterion) {
    run(c, "exp_histogram_fixed", "ours_bind", |s| {
        let (m, st) = labels(s);
        let b = ours::HISTOGRAM.bind(kv_pairs!("method" => m, "status" => st));
        move || b.record(black_box(0.003))
    });
    run(c, "exp_histogram_fixed", "ours_typed", |s| {
        let l = ours::Labels::of(s);
        move || {
            ours::Typed::global()
                .latency_seconds
                .record(black_box(0.003), l)
        }
    });
    run(c, "exp_histogram_fixed_spread", "ours_bind", |s| {
        let (m, st) = labels(s);
        let b = ours::HISTOGRAM.bind(kv_pairs!("method" => m, "status" => st));
        let next = spread();
        move || b.record(next())
    });
}

criterion_group! { name = exp; config = config(); targets = exponential }
criterion_main!(exp);
