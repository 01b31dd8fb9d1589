//! The instruments users record through, and their bound handles.
//!
//! Declare them with the `declare_static_*!` macros; each is a `static`,
//! registered at link time, whose storage is created on first use.
//!
//! Each unlabelled instrument also dereferences to the OpenTelemetry
//! instrument of the same kind ([`otel`]), recording into the same
//! storage, so code that names `&opentelemetry::metrics::Counter<u64>`
//! takes our statics unchanged.

mod observable;
mod otel;
mod timer;

pub(crate) use observable::observe;
pub use observable::{ObservableGauge, ObserveCallback};
pub use timer::{TimeUnit, Timer, TimerGuard};

use crate::diag;
use crate::labels::LabelSet;
use crate::meta::Metadata;
use crate::registry::Instrument;
use crate::storage::exemplars;
use crate::storage::table::{Series, Table};
use opentelemetry::KeyValue;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

macro_rules! instrument_common {
    ($ty:ident, $otel:ty, $sink:ident) => {
        impl<L> $ty<L> {
            #[doc(hidden)]
            pub const fn __new(meta: Metadata) -> Self {
                $ty {
                    inner: Instrument::new(meta),
                    otel: OnceLock::new(),
                    _labels: PhantomData,
                }
            }

            #[doc(hidden)]
            pub const fn __instrument(&'static self) -> &'static Instrument {
                &self.inner
            }

            /// The OpenTelemetry instrument recording into this one's
            /// storage (what `Deref` gives).
            fn otel(&self) -> &$otel {
                self.otel.get_or_init(|| {
                    <$otel>::new(std::sync::Arc::new(otel::$sink(self.inner.table())))
                })
            }

            /// What was declared: name, kind, unit, description, buckets, location.
            pub fn metadata(&self) -> &Metadata {
                self.inner.metadata()
            }

            #[inline(always)]
            fn series(&self, attributes: &[KeyValue]) -> &'static Series {
                self.inner.table().series(attributes)
            }

            #[inline(always)]
            fn typed_series(&self, labels: &L) -> &'static Series
            where
                L: LabelSet,
            {
                self.inner.typed_series(labels)
            }
        }

        /// The OpenTelemetry instrument of the same kind, recording into
        /// the same storage: code that takes `&opentelemetry::metrics::..`
        /// takes this static. The inherent `add`/`record` are the fast path.
        impl std::ops::Deref for $ty {
            type Target = $otel;
            fn deref(&self) -> &$otel {
                self.otel()
            }
        }

        impl<L> std::fmt::Debug for $ty<L> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.inner.metadata().name)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A monotonic counter: `add` only goes up. Exported as a cumulative OTLP
/// sum, under its declared name (Prometheus's default translation appends
/// `_total`).
///
/// ```
/// use telemetry_runtime::{declare_static_counter, kv_pairs};
/// declare_static_counter!(REQUESTS, "doc_requests_total", description = "Requests served.");
///
/// REQUESTS.add(1, kv_pairs!("method" => "GET", "status" => 200));
/// // Fixed attributes: bind once, then each add is a single atomic add.
/// let ok = REQUESTS.bind(kv_pairs!("method" => "GET", "status" => 200));
/// ok.add(2);
/// ```
pub struct Counter<L = ()> {
    inner: Instrument,
    otel: OnceLock<opentelemetry::metrics::Counter<u64>>,
    _labels: PhantomData<fn(L)>,
}
instrument_common!(Counter, opentelemetry::metrics::Counter<u64>, CounterSink);

impl Counter {
    /// Adds `value` to the series of `attributes` (in any order).
    #[inline]
    pub fn add(&self, value: u64, attributes: &[KeyValue]) {
        let series = self.series(attributes);
        series.cells.add(0, value);
        exemplars::sum(series, value);
    }

    /// A handle to the series of `attributes`: its `add` takes no lock, does
    /// no hashing and allocates nothing.
    pub fn bind(&self, attributes: &[KeyValue]) -> BoundCounter {
        BoundCounter {
            series: self.series(attributes),
        }
    }
}

/// A [`Counter`] bound to one attribute set. Cheap to copy.
#[derive(Clone, Copy)]
pub struct BoundCounter {
    series: &'static Series,
}

impl BoundCounter {
    /// Adds `value`.
    #[inline(always)]
    pub fn add(&self, value: u64) {
        self.series.cells.add(0, value);
        exemplars::sum(self.series, value);
    }
}

/// A sum that goes up and down, such as items in a queue. Exported as a
/// cumulative non-monotonic OTLP sum.
///
/// ```
/// use telemetry_runtime::declare_static_up_down_counter;
/// declare_static_up_down_counter!(QUEUED, "doc_queue_items");
/// QUEUED.add(3, &[]);
/// QUEUED.add(-1, &[]);
/// ```
pub struct UpDownCounter<L = ()> {
    inner: Instrument,
    otel: OnceLock<opentelemetry::metrics::UpDownCounter<i64>>,
    _labels: PhantomData<fn(L)>,
}
instrument_common!(
    UpDownCounter,
    opentelemetry::metrics::UpDownCounter<i64>,
    UpDownCounterSink
);

impl UpDownCounter {
    /// Adds `value` (negative to subtract).
    #[inline]
    pub fn add(&self, value: i64, attributes: &[KeyValue]) {
        let series = self.series(attributes);
        series.cells.add(0, value as u64);
        exemplars::sum(series, value as u64);
    }

    /// A handle to the series of `attributes`.
    pub fn bind(&self, attributes: &[KeyValue]) -> BoundUpDownCounter {
        BoundUpDownCounter {
            series: self.series(attributes),
        }
    }
}

/// An [`UpDownCounter`] bound to one attribute set.
#[derive(Clone, Copy)]
pub struct BoundUpDownCounter {
    series: &'static Series,
}

impl BoundUpDownCounter {
    /// Adds `value` (negative to subtract).
    #[inline(always)]
    pub fn add(&self, value: i64) {
        self.series.cells.add(0, value as u64);
        exemplars::sum(self.series, value as u64);
    }
}

/// The last value of something, such as a temperature or a pool size.
///
/// ```
/// use telemetry_runtime::declare_static_gauge;
/// declare_static_gauge!(TEMPERATURE, "doc_temperature_celsius", unit = "Cel");
/// TEMPERATURE.record(21.5, &[]);
/// ```
pub struct Gauge<L = ()> {
    inner: Instrument,
    otel: OnceLock<opentelemetry::metrics::Gauge<f64>>,
    _labels: PhantomData<fn(L)>,
}
instrument_common!(Gauge, opentelemetry::metrics::Gauge<f64>, GaugeSink);

impl Gauge {
    /// Sets the value of the series of `attributes`.
    #[inline]
    pub fn record(&self, value: f64, attributes: &[KeyValue]) {
        self.series(attributes)
            .cells
            .at(0, 0)
            .store(value.to_bits(), Relaxed);
    }

    /// A handle to the series of `attributes`.
    pub fn bind(&self, attributes: &[KeyValue]) -> BoundGauge {
        BoundGauge::of(self.series(attributes))
    }
}

/// A [`Gauge`] bound to one attribute set.
#[derive(Clone, Copy)]
pub struct BoundGauge {
    /// The series' one word (a gauge has one stripe), resolved at bind:
    /// a record is one store.
    word: &'static AtomicU64,
}

impl BoundGauge {
    fn of(series: &'static Series) -> BoundGauge {
        BoundGauge {
            word: series.cells.at(0, 0),
        }
    }

    /// Sets the value.
    #[inline(always)]
    pub fn record(&self, value: f64) {
        self.word.store(value.to_bits(), Relaxed);
    }
}

/// A distribution of values in explicit buckets, such as latencies.
///
/// NaN is not recorded (a warning is printed once per histogram); infinities
/// land in the first or last bucket and make the sum infinite.
///
/// ```
/// use telemetry_runtime::declare_static_histogram;
/// declare_static_histogram!(LATENCY, "doc_rpc_latency_seconds", unit = "s",
///     buckets = [0.001, 0.01, 0.1, 1.0]);
/// LATENCY.record(0.004, &[]);
/// let bound = LATENCY.bind(&[]);
/// bound.record(0.2);
/// ```
pub struct Histogram<L = ()> {
    inner: Instrument,
    otel: OnceLock<opentelemetry::metrics::Histogram<f64>>,
    _labels: PhantomData<fn(L)>,
}
instrument_common!(
    Histogram,
    opentelemetry::metrics::Histogram<f64>,
    HistogramSink
);

impl Histogram {
    /// Records `value` in the series of `attributes`.
    #[inline]
    pub fn record(&self, value: f64, attributes: &[KeyValue]) {
        let table = self.inner.table();
        record_histogram(table.series(attributes), table, value);
    }

    /// A handle to the series of `attributes`.
    pub fn bind(&self, attributes: &[KeyValue]) -> BoundHistogram {
        BoundHistogram {
            series: self.series(attributes),
            table: self.inner.table(),
        }
    }
}

/// A [`Histogram`] bound to one attribute set.
#[derive(Clone, Copy)]
pub struct BoundHistogram {
    series: &'static Series,
    table: &'static Table,
}

impl BoundHistogram {
    /// Records `value`.
    #[inline(always)]
    pub fn record(&self, value: f64) {
        record_histogram(self.series, self.table, value);
    }
}

#[inline(always)]
pub(crate) fn record_histogram(series: &Series, table: &Table, value: f64) {
    if value.is_nan() {
        return nan_dropped(&table.meta);
    }
    if table.exponential {
        crate::storage::exponential::record(series, value);
        return exemplars::histogram(series, 1, 0, value);
    }
    let bounds = table.meta.buckets;
    // Bucket i holds (bounds[i-1], bounds[i]]: upper bounds are inclusive.
    let i = match &table.bucket_index {
        Some(index) => index.find(bounds, value),
        None => bounds.partition_point(|b| *b < value),
    };
    let (block, stripe) = series.cells.local_block();
    // The block is the buckets then the sum; `i <= bounds.len()` indexes
    // the buckets.
    if let [counts @ .., sum] = block {
        if let Some(bucket) = counts.get(i) {
            stripe.add(bucket, 1);
            stripe.add_f64(sum, value);
            exemplars::histogram(series, counts.len(), i, value);
        }
    }
}

#[cold]
fn nan_dropped(meta: &Metadata) {
    crate::storage::lost(crate::storage::Loss::Nan, meta);
    diag::warn_once(&format!(
        "histogram `{}` was given NaN, which is not recorded (declared at {})",
        meta.name, meta.location
    ));
}

impl<L: LabelSet> Counter<L> {
    /// Adds `value` to the series of `labels`. With a dense label set (every
    /// field a [`LabelValue`](crate::LabelValue) of fixed cardinality) this
    /// is an array index and one atomic add: no hashing, no lock.
    #[inline]
    pub fn add(&self, value: u64, labels: L) {
        let series = self.typed_series(&labels);
        series.cells.add(0, value);
        exemplars::sum(series, value);
    }

    /// A handle to the series of `labels`.
    pub fn bind(&self, labels: L) -> BoundCounter {
        BoundCounter {
            series: self.typed_series(&labels),
        }
    }
}

impl<L: LabelSet> UpDownCounter<L> {
    /// Adds `value` (negative to subtract) to the series of `labels`.
    #[inline]
    pub fn add(&self, value: i64, labels: L) {
        let series = self.typed_series(&labels);
        series.cells.add(0, value as u64);
        exemplars::sum(series, value as u64);
    }

    /// A handle to the series of `labels`.
    pub fn bind(&self, labels: L) -> BoundUpDownCounter {
        BoundUpDownCounter {
            series: self.typed_series(&labels),
        }
    }
}

impl<L: LabelSet> Gauge<L> {
    /// Sets the value of the series of `labels`.
    #[inline]
    pub fn record(&self, value: f64, labels: L) {
        self.typed_series(&labels)
            .cells
            .at(0, 0)
            .store(value.to_bits(), Relaxed);
    }

    /// A handle to the series of `labels`.
    pub fn bind(&self, labels: L) -> BoundGauge {
        BoundGauge::of(self.typed_series(&labels))
    }
}

impl<L: LabelSet> Histogram<L> {
    /// Records `value` in the series of `labels`.
    #[inline]
    pub fn record(&self, value: f64, labels: L) {
        let table = self.inner.table();
        record_histogram(self.typed_series(&labels), table, value);
    }

    /// A handle to the series of `labels`.
    pub fn bind(&self, labels: L) -> BoundHistogram {
        BoundHistogram {
            series: self.typed_series(&labels),
            table: self.inner.table(),
        }
    }
}
