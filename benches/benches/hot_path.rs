//! One record, per case and implementation, at 1 thread and 2 threads
//! (same series, different series). Ids: `case/impl/mode`.

use benches::{labels, measured_peer, otel, ours, prom, prom_client, run_threads};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use opentelemetry::KeyValue;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;
use telemetry_runtime::{kv_pairs, metered};

/// Which thread modes a case runs in.
#[derive(Clone, Copy)]
enum Modes {
    /// 1 thread, 2 threads on one series, 2 threads on two series.
    All,
    /// 1 thread and 2 threads on one series (no second series exists).
    NoDiff,
}

fn run<F, M>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, modes: Modes, make: M)
where
    M: Fn(usize) -> F,
    F: Fn() + Send + 'static,
{
    let one = make(0);
    g.bench_function(format!("{name}/1t"), |b| b.iter(&one));
    g.bench_function(format!("{name}/2t-same"), |b| {
        b.iter_custom(|iters| run_threads(2, false, iters, &make))
    });
    if let Modes::All = modes {
        g.bench_function(format!("{name}/2t-diff"), |b| {
            b.iter_custom(|iters| run_threads(2, true, iters, &make))
        });
    }
}

#[repr(align(128))]
struct Padded(AtomicU64);

static RAW: [Padded; 2] = [Padded(AtomicU64::new(0)), Padded(AtomicU64::new(0))];

fn otel_attrs(s: usize) -> [KeyValue; 2] {
    let (m, st) = labels(s);
    [KeyValue::new("method", m), KeyValue::new("status", st)]
}

fn counters(c: &mut Criterion) {
    benches::install_metrics_recorder();
    let mut g = c.benchmark_group("counter_unlabelled");
    run(&mut g, "raw_atomic", Modes::All, |s| {
        move || {
            RAW[s].0.fetch_add(1, Relaxed);
        }
    });
    run(&mut g, "ours", Modes::NoDiff, |_| {
        || ours::COUNTER.add(1, &[])
    });
    run(&mut g, "otel_sdk", Modes::NoDiff, |_| {
        || otel::counter().add(1, &[])
    });
    run(&mut g, "metrics", Modes::NoDiff, |_| {
        let h = metrics::counter!("m_unlabelled_total");
        move || h.increment(1)
    });
    run(&mut g, "prometheus_client", Modes::NoDiff, |_| {
        static C: std::sync::OnceLock<prometheus_client::metrics::counter::Counter> =
            std::sync::OnceLock::new();
        let h = C.get_or_init(Default::default).clone();
        move || {
            h.inc();
        }
    });
    run(&mut g, "prometheus", Modes::NoDiff, |_| {
        static C: std::sync::OnceLock<prometheus::IntCounter> = std::sync::OnceLock::new();
        let h = C
            .get_or_init(|| prometheus::IntCounter::new("p_unlabelled", "c").unwrap())
            .clone();
        move || h.inc()
    });
    run(&mut g, "measured", Modes::NoDiff, |_| {
        static C: std::sync::OnceLock<measured::Counter> = std::sync::OnceLock::new();
        let h = C.get_or_init(measured::Counter::new);
        move || h.inc()
    });
    g.finish();

    let mut g = c.benchmark_group("counter_fixed");
    run(&mut g, "raw_atomic", Modes::All, |s| {
        move || {
            RAW[s].0.fetch_add(1, Relaxed);
        }
    });
    run(&mut g, "ours_bind", Modes::All, |s| {
        let (m, st) = labels(s);
        let b = ours::COUNTER.bind(kv_pairs!("method" => m, "status" => st));
        move || b.add(1)
    });
    run(&mut g, "ours_typed", Modes::All, |s| {
        let l = ours::Labels::of(s);
        move || ours::Typed::global().requests_total.add(1, l)
    });
    run(&mut g, "otel_sdk_bound", Modes::All, |s| {
        let b = otel::counter().bind(&otel_attrs(s));
        move || b.add(1)
    });
    run(&mut g, "metrics", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = metrics::counter!("m_fixed_total", "method" => m, "status" => st);
        move || h.increment(1)
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let h = prom_client::counters()
            .get_or_create(&prom_client::labels(s))
            .clone();
        move || {
            h.inc();
        }
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = prom::counters().with_label_values(&[m, st]);
        move || h.inc()
    });
    run(&mut g, "measured", Modes::All, |s| {
        let grp = measured_peer::group(s);
        move || measured_peer::counters().inc(grp)
    });
    g.finish();

    let mut g = c.benchmark_group("counter_per_call");
    run(&mut g, "ours_kv_pairs", Modes::All, |s| {
        let (m, st) = labels(s);
        move || ours::COUNTER.add(1, kv_pairs!("method" => m, "status" => st))
    });
    run(&mut g, "otel_sdk", Modes::All, |s| {
        let (m, st) = labels(s);
        move || {
            otel::counter().add(
                1,
                &[KeyValue::new("method", m), KeyValue::new("status", st)],
            )
        }
    });
    run(&mut g, "metrics", Modes::All, |s| {
        let (m, st) = labels(s);
        move || metrics::counter!("m_per_call_total", "method" => m, "status" => st).increment(1)
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let (m, st) = labels(s);
        move || {
            prom_client::counters()
                .get_or_create(&[("method", m), ("status", st)])
                .inc();
        }
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        move || prom::counters().with_label_values(&[m, st]).inc()
    });
    g.finish();

    let mut g = c.benchmark_group("counter_per_call_varying");
    run(&mut g, "ours_kv_pairs", Modes::All, |s| {
        let next = varying(s);
        move || {
            let (m, st) = ("GET", next());
            ours::COUNTER.add(1, kv_pairs!("method" => m, "status" => st))
        }
    });
    run(&mut g, "otel_sdk", Modes::All, |s| {
        let next = varying(s);
        move || {
            let (m, st) = ("GET", next());
            otel::counter().add(
                1,
                &[KeyValue::new("method", m), KeyValue::new("status", st)],
            )
        }
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let next = varying(s);
        move || {
            let (m, st) = ("GET", next());
            prom::counters().with_label_values(&[m, st]).inc()
        }
    });
    g.finish();
}

/// The four `items` in turn, one per call.
fn cycle<T: Copy>(items: [T; 4]) -> impl Fn() -> T {
    let next = std::cell::Cell::new(0usize);
    move || {
        let n = next.get();
        next.set(n.wrapping_add(1));
        black_box(items[n & 3])
    }
}

/// Four `status` values per thread (200, 404, 500, 503, or 201, 403, 502,
/// 504 for the second series), a different one on each call: the call
/// site whose attributes change all the time.
fn varying(s: usize) -> impl Fn() -> &'static str {
    const SETS: [[&str; 4]; 2] = [["200", "404", "500", "503"], ["201", "403", "502", "504"]];
    cycle(SETS[s])
}

/// Values in four different buckets of [`benches::BUCKETS`], in turn.
fn spread() -> impl Fn() -> f64 {
    cycle([0.0004, 0.003, 0.02, 0.3])
}

fn value() -> f64 {
    black_box(0.003)
}

fn histograms(c: &mut Criterion) {
    benches::install_metrics_recorder();
    let mut g = c.benchmark_group("histogram_unlabelled");
    run(&mut g, "ours", Modes::NoDiff, |_| {
        || ours::HISTOGRAM.record(value(), &[])
    });
    run(&mut g, "otel_sdk", Modes::NoDiff, |_| {
        || otel::histogram().record(value(), &[])
    });
    run(&mut g, "metrics", Modes::NoDiff, |_| {
        let h = metrics::histogram!("m_h_unlabelled");
        move || h.record(value())
    });
    run(&mut g, "prometheus_client", Modes::NoDiff, |_| {
        use prometheus_client::metrics::histogram::Histogram;
        static H: std::sync::OnceLock<Histogram> = std::sync::OnceLock::new();
        let h = H.get_or_init(|| Histogram::new(benches::BUCKETS)).clone();
        move || h.observe(value())
    });
    run(&mut g, "prometheus", Modes::NoDiff, |_| {
        let h = prom::histograms().with_label_values(&["none", "none"]);
        move || h.observe(value())
    });
    run(&mut g, "measured", Modes::NoDiff, |_| {
        let h = measured_peer::histogram();
        move || h.observe(value())
    });
    g.finish();

    let mut g = c.benchmark_group("histogram_fixed");
    run(&mut g, "ours_bind", Modes::All, |s| {
        let (m, st) = labels(s);
        let b = ours::HISTOGRAM.bind(kv_pairs!("method" => m, "status" => st));
        move || b.record(value())
    });
    run(&mut g, "ours_typed", Modes::All, |s| {
        let l = ours::Labels::of(s);
        move || ours::Typed::global().latency_seconds.record(value(), l)
    });
    run(&mut g, "otel_sdk_bound", Modes::All, |s| {
        let b = otel::histogram().bind(&otel_attrs(s));
        move || b.record(value())
    });
    run(&mut g, "metrics", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = metrics::histogram!("m_h_fixed", "method" => m, "status" => st);
        move || h.record(value())
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let h = prom_client::histograms()
            .get_or_create(&prom_client::labels(s))
            .clone();
        move || h.observe(value())
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = prom::histograms().with_label_values(&[m, st]);
        move || h.observe(value())
    });
    run(&mut g, "measured", Modes::All, |s| {
        let grp = measured_peer::group(s);
        move || measured_peer::histograms().observe(grp, value())
    });
    g.finish();

    // The same handles, each call a value of the next of four buckets.
    let mut g = c.benchmark_group("histogram_fixed_spread");
    run(&mut g, "ours_bind", Modes::All, |s| {
        let (m, st) = labels(s);
        let b = ours::HISTOGRAM.bind(kv_pairs!("method" => m, "status" => st));
        let next = spread();
        move || b.record(next())
    });
    run(&mut g, "otel_sdk_bound", Modes::All, |s| {
        let b = otel::histogram().bind(&otel_attrs(s));
        let next = spread();
        move || b.record(next())
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let h = prom_client::histograms()
            .get_or_create(&prom_client::labels(s))
            .clone();
        let next = spread();
        move || h.observe(next())
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = prom::histograms().with_label_values(&[m, st]);
        let next = spread();
        move || h.observe(next())
    });
    g.finish();

    let mut g = c.benchmark_group("histogram_per_call");
    run(&mut g, "ours_kv_pairs", Modes::All, |s| {
        let (m, st) = labels(s);
        move || ours::HISTOGRAM.record(value(), kv_pairs!("method" => m, "status" => st))
    });
    run(&mut g, "otel_sdk", Modes::All, |s| {
        let (m, st) = labels(s);
        move || {
            otel::histogram().record(
                value(),
                &[KeyValue::new("method", m), KeyValue::new("status", st)],
            )
        }
    });
    run(&mut g, "metrics", Modes::All, |s| {
        let (m, st) = labels(s);
        move || metrics::histogram!("m_h_per_call", "method" => m, "status" => st).record(value())
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let (m, st) = labels(s);
        move || {
            prom_client::histograms()
                .get_or_create(&[("method", m), ("status", st)])
                .observe(value())
        }
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        move || {
            prom::histograms()
                .with_label_values(&[m, st])
                .observe(value())
        }
    });
    g.finish();
}

fn gauges(c: &mut Criterion) {
    benches::install_metrics_recorder();
    // 2 fixed attributes, through each library's handle or typed labels.
    let mut g = c.benchmark_group("gauge_set");
    run(&mut g, "ours_bind", Modes::All, |s| {
        let (m, st) = labels(s);
        let b = ours::GAUGE.bind(kv_pairs!("method" => m, "status" => st));
        move || b.record(value())
    });
    run(&mut g, "otel_sdk_bound", Modes::All, |s| {
        let b = otel::gauge().bind(&otel_attrs(s));
        move || b.record(value())
    });
    run(&mut g, "metrics", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = metrics::gauge!("m_gauge", "method" => m, "status" => st);
        move || h.set(value())
    });
    run(&mut g, "prometheus_client", Modes::All, |s| {
        let h = prom_client::gauges()
            .get_or_create(&prom_client::labels(s))
            .clone();
        move || {
            h.set(value());
        }
    });
    run(&mut g, "prometheus", Modes::All, |s| {
        let (m, st) = labels(s);
        let h = prom::gauges().with_label_values(&[m, st]);
        move || h.set(value())
    });
    run(&mut g, "measured", Modes::All, |s| {
        let grp = measured_peer::group(s);
        move || measured_peer::gauges().set(grp, value())
    });
    g.finish();
}

#[metered]
fn metered_empty() {}

/// A second metered function: the other series of the 2-thread runs.
#[metered]
fn metered_empty_other() {}

/// The same function written by hand with the OpenTelemetry SDK.
fn hand_written_sdk() {
    hand_written_sdk_named("hand_written_sdk")
}

/// A second hand-written function: the other series of the 2-thread runs.
fn hand_written_sdk_other() {
    hand_written_sdk_named("hand_written_sdk_other")
}

#[inline(always)]
fn hand_written_sdk_named(function: &'static str) {
    let start = Instant::now();
    black_box(());
    let elapsed = start.elapsed().as_secs_f64();
    let attrs = [
        KeyValue::new("function", function),
        KeyValue::new("result", "ok"),
    ];
    otel::counter().add(1, &attrs);
    otel::histogram().record(elapsed, &attrs);
}

fn metered(c: &mut Criterion) {
    let mut g = c.benchmark_group("metered_empty_fn");
    run(&mut g, "ours", Modes::All, |s| {
        if s == 0 {
            metered_empty
        } else {
            metered_empty_other
        }
    });
    run(&mut g, "hand_written_sdk", Modes::All, |s| {
        if s == 0 {
            hand_written_sdk
        } else {
            hand_written_sdk_other
        }
    });
    run(&mut g, "clock_std_instant", Modes::NoDiff, |_| {
        || {
            black_box(Instant::now());
        }
    });
    // The clock `#[metered]` reads: the TSC inline where quanta uses it.
    run(&mut g, "clock_ours", Modes::NoDiff, |_| {
        || {
            black_box(telemetry_runtime::__private::clock_ticks());
        }
    });
    run(&mut g, "clock_quanta_raw", Modes::NoDiff, |_| {
        let clock = quanta_clock();
        move || {
            black_box(clock.raw());
        }
    });
    g.finish();
}

fn quanta_clock() -> &'static quanta::Clock {
    static C: std::sync::OnceLock<quanta::Clock> = std::sync::OnceLock::new();
    C.get_or_init(quanta::Clock::new)
}

criterion_group! { name = hot_path; config = benches::criterion_config(); targets = counters, histograms, gauges, metered }
criterion_main!(hot_path);
