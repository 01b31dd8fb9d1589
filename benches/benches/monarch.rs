//! Monarch-shaped calls: what code written for `hyperactor_telemetry`
//! does on its hot paths, recorded here and through the implementation
//! Monarch uses today (a `LazyLock` around the OpenTelemetry SDK's
//! instrument, as `hyperactor_telemetry` declares it). Ids:
//! `case/impl/mode`, 1 thread and 2 threads on different series.

use benches::run_threads;
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Instant;
use telemetry_runtime::{declare_static_counter, declare_static_timer, kv_pairs, TimeUnit};

declare_static_counter!(POSTS, "bench.mailbox.posts");
declare_static_timer!(HANDLER, "bench.message_handler_duration", TimeUnit::Nanos);

/// The SDK's meter, as `hyperactor_telemetry`'s global provider gives it.
static METER: LazyLock<opentelemetry::metrics::Meter> = LazyLock::new(|| {
    let p = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    let m = p.meter("hyperactor_telemetry");
    std::mem::forget(p);
    m
});

/// `declare_static_counter!` as `hyperactor_telemetry` expands it.
static SDK_POSTS: LazyLock<Counter<u64>> =
    LazyLock::new(|| METER.u64_counter("bench.sdk.mailbox.posts").build());

/// `declare_static_timer!` as `hyperactor_telemetry` expands it: a `u64`
/// histogram of whole nanoseconds.
static SDK_HANDLER: LazyLock<Histogram<u64>> = LazyLock::new(|| {
    METER
        .u64_histogram("bench.sdk.message_handler_duration.ns")
        .with_unit("ns")
        .build()
});

/// Monarch's timer guard: `Instant::now()` at start, the histogram record
/// of the elapsed nanoseconds on drop.
struct SdkGuard(Instant);

impl Drop for SdkGuard {
    fn drop(&mut self) {
        SDK_HANDLER.record(self.0.elapsed().as_nanos() as u64, &[]);
    }
}

/// An actor id, different per thread and per call (as per message).
fn ids(s: usize) -> impl Fn() -> u64 {
    let next = std::cell::Cell::new(s as u64 * 1000);
    move || {
        let n = next.get();
        next.set(n + 1);
        black_box(n % 8 + s as u64 * 1000)
    }
}

fn one_and_two<F, M>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    make: M,
) where
    M: Fn(usize) -> F,
    F: Fn() + Send + 'static,
{
    let one = make(0);
    g.bench_function(format!("{name}/1t"), |b| b.iter(&one));
    g.bench_function(format!("{name}/2t-diff"), |b| {
        b.iter_custom(|iters| run_threads(2, true, iters, &make))
    });
}

fn counter_strings(c: &mut Criterion) {
    let mut g = c.benchmark_group("monarch_counter_strings");
    // Only builds and drops the two `String` attributes: the part of
    // every row below that is not the recording.
    one_and_two(&mut g, "build_only", |s| {
        let id = ids(s);
        move || {
            let n = id();
            black_box(kv_pairs!("actor_id" => n.to_string(), "proc_id" => (n / 4).to_string()));
        }
    });
    one_and_two(&mut g, "ours", |s| {
        let id = ids(s);
        move || {
            let n = id();
            POSTS.add(
                1,
                kv_pairs!("actor_id" => n.to_string(), "proc_id" => (n / 4).to_string()),
            );
        }
    });
    one_and_two(&mut g, "hyperactor_sdk", |s| {
        let id = ids(s);
        move || {
            let n = id();
            SDK_POSTS.add(
                1,
                &[
                    KeyValue::new("actor_id", n.to_string()),
                    KeyValue::new("proc_id", (n / 4).to_string()),
                ],
            );
        }
    });
    g.finish();
}

fn timer(c: &mut Criterion) {
    let mut g = c.benchmark_group("monarch_timer");
    one_and_two(&mut g, "ours", |_| {
        || {
            let _t = HANDLER.start(&[]);
        }
    });
    one_and_two(&mut g, "hyperactor_sdk", |_| {
        || {
            let _t = SdkGuard(Instant::now());
        }
    });
    // The clock the timer reads, alone.
    one_and_two(&mut g, "clock_ours", |_| {
        || {
            black_box(telemetry_runtime::__private::clock_ticks());
        }
    });
    g.finish();
}

criterion_group! { name = monarch; config = benches::criterion_config(); targets = counter_strings, timer }
criterion_main!(monarch);
