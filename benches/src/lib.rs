//! Benchmarks of telemetry-runtime and its peers on the same work.
//!
//! `benches/hot_path.rs` times one record per case, per implementation, at
//! 1 thread and at 2 threads (same series and different series);
//! `benches/export.rs` times one export; `src/bin/report.rs` measures
//! memory and prints the table of medians with each figure's ratio to a
//! raw `AtomicU64::fetch_add(Relaxed)` of the same run.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The criterion settings of every benchmark here, with exports off (only
/// recording is measured).
pub fn criterion_config() -> criterion::Criterion {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200))
        .sample_size(20)
        .without_plots()
}

/// Runs `make(thread)` on `threads` threads at once, `iters` calls each;
/// returns the wall time, i.e. the time per call of one thread times
/// `iters`. Thread `t` records into series `t` when `different`, else all
/// into series 0.
pub fn run_threads<F, M>(threads: usize, different: bool, iters: u64, make: &M) -> Duration
where
    M: Fn(usize) -> F,
    F: Fn() + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let f = make(if different { t } else { 0 });
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..iters {
                    f();
                }
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    barrier.wait();
    let elapsed = start.elapsed();
    for h in handles {
        let _ = h.join();
    }
    elapsed
}

/// Gives each counter 1,000 series with 2 attributes (`id`, `kind`).
pub fn populate(counters: &[&'static telemetry_runtime::Counter]) {
    populate_n(counters, 1000)
}

/// Gives each counter `n` series with 2 attributes (`id`, `kind`).
pub fn populate_n(counters: &[&'static telemetry_runtime::Counter], n: u64) {
    for c in counters {
        for id in 0..n {
            c.add(
                1,
                telemetry_runtime::kv_pairs!("id" => id, "kind" => "request"),
            );
        }
    }
}

/// The two label values of series `s` (2 static attributes).
pub fn labels(s: usize) -> (&'static str, &'static str) {
    ("GET", if s == 0 { "200" } else { "201" })
}

/// Histogram bounds shared by every implementation.
pub const BUCKETS: [f64; 8] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0];

/// This project's instruments.
pub mod ours {
    use telemetry_runtime::{
        declare_static_counter, declare_static_gauge, declare_static_histogram, Counter, Histogram,
        LabelSet, LabelValue, Metrics,
    };

    declare_static_counter!(pub COUNTER, "bench_counter_total");
    declare_static_histogram!(pub HISTOGRAM, "bench_latency_seconds", unit = "s",
        buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0]);
    declare_static_gauge!(pub GAUGE, "bench_gauge");

    /// A typed label value.
    #[derive(LabelValue, Clone, Copy)]
    pub enum Method {
        /// GET
        #[label(value = "GET")]
        Get,
    }

    /// A typed label value.
    #[derive(LabelValue, Clone, Copy)]
    pub enum Status {
        /// 200
        #[label(value = "200")]
        Ok,
        /// 201
        #[label(value = "201")]
        Created,
    }

    /// Two typed labels: a dense label set.
    #[derive(LabelSet, Clone, Copy)]
    pub struct Labels {
        /// The method.
        pub method: Method,
        /// The status.
        pub status: Status,
    }

    impl Labels {
        /// The labels of series `s`.
        pub fn of(s: usize) -> Labels {
            Labels {
                method: Method::Get,
                status: if s == 0 { Status::Ok } else { Status::Created },
            }
        }
    }

    /// Typed metrics.
    #[derive(Metrics)]
    #[metrics(prefix = "bench_typed")]
    pub struct Typed {
        /// Typed counter.
        pub requests_total: Counter<Labels>,
        /// Typed histogram.
        #[metric(unit = "s", buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0])]
        pub latency_seconds: Histogram<Labels>,
    }
}

/// The OpenTelemetry SDK with a manual reader (so that it aggregates).
pub mod otel {
    use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
    use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
    use std::sync::OnceLock;

    fn meter() -> &'static Meter {
        static M: OnceLock<(SdkMeterProvider, Meter)> = OnceLock::new();
        &M.get_or_init(|| {
            let p = SdkMeterProvider::builder()
                .with_reader(ManualReader::builder().build())
                .build();
            let m = p.meter("bench");
            (p, m)
        })
        .1
    }

    /// A counter.
    pub fn counter() -> &'static Counter<u64> {
        static C: OnceLock<Counter<u64>> = OnceLock::new();
        C.get_or_init(|| meter().u64_counter("otel_counter").build())
    }

    /// A histogram.
    pub fn histogram() -> &'static Histogram<f64> {
        static H: OnceLock<Histogram<f64>> = OnceLock::new();
        H.get_or_init(|| {
            meter()
                .f64_histogram("otel_histogram")
                .with_boundaries(super::BUCKETS.to_vec())
                .build()
        })
    }

    /// A gauge.
    pub fn gauge() -> &'static Gauge<f64> {
        static G: OnceLock<Gauge<f64>> = OnceLock::new();
        G.get_or_init(|| meter().f64_gauge("otel_gauge").build())
    }
}

/// `metrics` with metrics-exporter-prometheus's recorder installed.
pub fn install_metrics_recorder() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .map(|b| b.install_recorder());
    });
}

/// prometheus-client families.
pub mod prom_client {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    use std::sync::atomic::AtomicU64;
    use std::sync::OnceLock;

    /// Label set type.
    pub type Labels = [(&'static str, &'static str); 2];

    /// The labels of series `s`.
    pub fn labels(s: usize) -> Labels {
        let (m, st) = super::labels(s);
        [("method", m), ("status", st)]
    }

    /// A counter family.
    pub fn counters() -> &'static Family<Labels, Counter> {
        static F: OnceLock<Family<Labels, Counter>> = OnceLock::new();
        F.get_or_init(Family::default)
    }

    /// A histogram family.
    #[allow(clippy::type_complexity)]
    pub fn histograms() -> &'static Family<Labels, Histogram, fn() -> Histogram> {
        static F: OnceLock<Family<Labels, Histogram, fn() -> Histogram>> = OnceLock::new();
        F.get_or_init(|| Family::new_with_constructor(|| Histogram::new(super::BUCKETS)))
    }

    /// A gauge family.
    pub fn gauges() -> &'static Family<Labels, Gauge<f64, AtomicU64>> {
        static F: OnceLock<Family<Labels, Gauge<f64, AtomicU64>>> = OnceLock::new();
        F.get_or_init(Family::default)
    }
}

/// prometheus (tikv) vectors.
pub mod prom {
    use prometheus::{GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts};
    use std::sync::OnceLock;

    /// A counter vector.
    pub fn counters() -> &'static IntCounterVec {
        static V: OnceLock<IntCounterVec> = OnceLock::new();
        V.get_or_init(|| {
            IntCounterVec::new(Opts::new("prom_counter", "c"), &["method", "status"])
                .expect("valid counter")
        })
    }

    /// A histogram vector.
    pub fn histograms() -> &'static HistogramVec {
        static V: OnceLock<HistogramVec> = OnceLock::new();
        V.get_or_init(|| {
            HistogramVec::new(
                HistogramOpts::new("prom_histogram", "h").buckets(super::BUCKETS.to_vec()),
                &["method", "status"],
            )
            .expect("valid histogram")
        })
    }

    /// A gauge vector.
    pub fn gauges() -> &'static GaugeVec {
        static V: OnceLock<GaugeVec> = OnceLock::new();
        V.get_or_init(|| {
            GaugeVec::new(Opts::new("prom_gauge", "g"), &["method", "status"]).expect("valid gauge")
        })
    }
}

/// measured, with fixed-cardinality labels.
pub mod measured_peer {
    use measured::label::StaticLabelSet;
    use measured::metric::histogram::Thresholds;
    use measured::{
        CounterVec, FixedCardinalityLabel, FloatGaugeVec, Histogram, HistogramVec, LabelGroup,
    };
    use std::sync::OnceLock;

    /// Method label.
    #[derive(FixedCardinalityLabel, Copy, Clone)]
    pub enum Method {
        /// GET
        Get,
    }

    /// Status label.
    #[derive(FixedCardinalityLabel, Copy, Clone)]
    pub enum Status {
        /// 200
        Ok,
        /// 201
        Created,
    }

    /// The label group.
    #[derive(LabelGroup, Copy, Clone)]
    #[label(set = Set)]
    pub struct Group {
        /// The method.
        pub method: Method,
        /// The status.
        pub status: Status,
    }

    /// The labels of series `s`.
    pub fn group(s: usize) -> Group {
        Group {
            method: Method::Get,
            status: if s == 0 { Status::Ok } else { Status::Created },
        }
    }

    /// A counter vector.
    pub fn counters() -> &'static CounterVec<Set> {
        static V: OnceLock<CounterVec<Set>> = OnceLock::new();
        V.get_or_init(|| CounterVec::with_label_set(Set::new()))
    }

    /// A histogram vector.
    pub fn histograms() -> &'static HistogramVec<Set, 8> {
        static V: OnceLock<HistogramVec<Set, 8>> = OnceLock::new();
        V.get_or_init(|| {
            HistogramVec::with_label_set_and_metadata(
                Set::new(),
                Thresholds::with_buckets(super::BUCKETS),
            )
        })
    }

    /// An unlabelled histogram.
    pub fn histogram() -> &'static Histogram<8> {
        static H: OnceLock<Histogram<8>> = OnceLock::new();
        H.get_or_init(|| Histogram::with_metadata(Thresholds::with_buckets(super::BUCKETS)))
    }

    /// A float gauge vector.
    pub fn gauges() -> &'static FloatGaugeVec<Set> {
        static V: OnceLock<FloatGaugeVec<Set>> = OnceLock::new();
        V.get_or_init(|| FloatGaugeVec::with_label_set(Set::new()))
    }

    #[allow(unused_imports)]
    use StaticLabelSet as _;
}
