//! The cost of exemplars: the same records outside any span and inside a
//! sampled span (whose records each write an exemplar), at 1 thread and 2
//! threads on different series. Its own process, with export enabled
//! (exemplars are offered only when something exports): the endpoint is a
//! closed port and the interval a day, so no export runs while it
//! measures. Ids: `case/impl/mode`, `impl` being `no_span` or
//! `sampled_span`.

use benches::{labels, ours, run_threads};
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, ContextGuard};
use std::cell::Cell;
use std::hint::black_box;
use telemetry_runtime::{kv_pairs, metered};

#[metered]
fn empty() {}

/// The other series of the 2-thread runs.
#[metered]
fn empty_other() {}

fn config() -> Criterion {
    let c = benches::criterion_config();
    std::env::remove_var("HYPERACTOR_OTEL_BACKEND");
    for (k, v) in [
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://127.0.0.1:9/v1/metrics",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "86400000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "1000"),
        ("HYPERACTOR_OTEL_STALE_MARKERS", "off"),
    ] {
        std::env::set_var(k, v);
    }
    c
}

thread_local! {
    static ATTACHED: Cell<bool> = const { Cell::new(false) };
}

/// Attaches a sampled span on this thread once, if `sampled`, for the
/// thread's whole life (its guard is forgotten: a guard kept in a
/// thread-local would be dropped after OpenTelemetry's own thread-local
/// context is gone). Every case calls it, so both variants pay the same
/// check.
#[inline(always)]
fn in_span(sampled: bool) {
    if sampled && !ATTACHED.with(Cell::get) {
        std::mem::forget(sampled_span());
        ATTACHED.with(|a| a.set(true));
    }
}

/// A sampled span's context, attached.
fn sampled_span() -> ContextGuard {
    let sc = SpanContext::new(
        TraceId::from_bytes([1; 16]),
        SpanId::from_bytes([2; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(sc).attach()
}

fn run<F, M>(c: &mut Criterion, group: &str, make: M)
where
    M: Fn(usize, bool) -> F,
    F: Fn() + Send + 'static,
{
    let mut g = c.benchmark_group(group);
    for (name, sampled) in [("no_span", false), ("sampled_span", true)] {
        // One thread: the main thread, in the span for this case only.
        let one = make(0, false);
        let attached = sampled.then(sampled_span);
        g.bench_function(format!("{name}/1t"), |b| b.iter(&one));
        drop(attached);
        g.bench_function(format!("{name}/2t-diff"), |b| {
            b.iter_custom(|iters| run_threads(2, true, iters, &|s| make(s, sampled)))
        });
    }
    g.finish();
}

fn exemplars(c: &mut Criterion) {
    // Starts the pipeline (and installs the context observer) first, and
    // exports once (refused: the port is closed), as a process does in
    // its first interval: an export anchors the clock exemplars read.
    ours::COUNTER.add(0, &[]);
    let _ = telemetry_runtime::flush();
    run(c, "exemplar_counter_bind", |s, sampled| {
        let (m, st) = labels(s);
        let b = ours::COUNTER.bind(kv_pairs!("method" => m, "status" => st));
        move || {
            in_span(sampled);
            b.add(black_box(1))
        }
    });
    run(c, "exemplar_counter_kv_pairs", |s, sampled| {
        let (m, st) = labels(s);
        move || {
            in_span(sampled);
            ours::COUNTER.add(black_box(1), kv_pairs!("method" => m, "status" => st))
        }
    });
    run(c, "exemplar_histogram_bind", |s, sampled| {
        let (m, st) = labels(s);
        let b = ours::HISTOGRAM.bind(kv_pairs!("method" => m, "status" => st));
        move || {
            in_span(sampled);
            b.record(black_box(0.003))
        }
    });
    run(c, "exemplar_metered_empty_fn", |s, sampled| {
        move || {
            in_span(sampled);
            if s == 0 {
                empty()
            } else {
                empty_other()
            }
        }
    });
}

criterion_group! {
    name = benches;
    config = config();
    targets = exemplars
}
criterion_main!(benches);
