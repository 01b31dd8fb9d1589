//! Statically registered metrics with a nanosecond hot path, exported over
//! OTLP/HTTP (protobuf) to Prometheus's native OTLP receiver, or any
//! OTLP-compatible backend, configured by the standard `OTEL_*` variables.
//!
//! ```
//! use telemetry_runtime::{declare_static_counter, declare_static_histogram, kv_pairs};
//!
//! declare_static_counter!(REQUESTS, "quickdoc_http_requests_total", description = "Requests served.");
//! declare_static_histogram!(LATENCY, "quickdoc_http_latency_seconds", unit = "s",
//!     buckets = [0.001, 0.01, 0.1, 1.0]);
//!
//! fn handle() {
//!     REQUESTS.add(1, kv_pairs!("method" => "GET", "status" => 200));
//!     LATENCY.record(0.003, kv_pairs!("method" => "GET"));
//! }
//! # handle();
//! let names: Vec<_> = telemetry_runtime::catalog().iter().map(|m| m.name).collect();
//! assert!(names.contains(&"quickdoc_http_requests_total"));
//! ```
//!
//! - Every declaration registers itself at link time: [`catalog()`] lists
//!   them all, and each is exported (as zero until first recorded).
//! - The first record starts the export pipeline: one background thread,
//!   no async runtime, no init call. [`flush()`] and [`shutdown()`] are
//!   optional; the process also exports once more on exit.
//! - Recording is a few relaxed atomic operations on cache-line padded,
//!   per-thread cells: see [`Counter::bind`] for the fastest form.
//! - Instruments from the plain OpenTelemetry API are exported by the same
//!   pipeline: see [`meter()`].
//!
//! See `ARCHITECTURE.md` for the design and `README.md` for configuration.
#![deny(missing_docs)]

mod attributes;
mod config;
mod diag;
mod export;
mod instruments;
mod registry;
mod storage;

pub use attributes::IntoAttributeValue;
pub use config::{
    Config, HistogramAggregation, TemporalityPreference, DEFAULT_ENDPOINT, DEFAULT_EXPORT_TIMEOUT,
    DEFAULT_INTERVAL, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SERVICE_NAME,
};
pub use export::{flush, meter, shutdown, ExportError};
pub use instruments::{
    BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter, Counter, Gauge, Histogram,
    UpDownCounter,
};
pub use opentelemetry::KeyValue;
pub use registry::{
    catalog, storage_stats, Catalog, Conflict, InstrumentKind, Location, Metadata, StorageStats,
};
pub use storage::DEFAULT_CARDINALITY_LIMIT;

/// Default buckets of a histogram with unit `s` (Prometheus's defaults).
pub const DEFAULT_SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Default buckets of a histogram with unit `ms`.
pub const DEFAULT_MILLISECONDS_BUCKETS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];
/// Default buckets of any other histogram (OpenTelemetry's defaults).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Declares a static [`Counter`]: `declare_static_counter!(NAME, "name_total")`.
///
/// Works at module level and inside functions. Options follow the name:
/// `description = "..."` (a `///` comment on the declaration works too),
/// `unit = "..."`, `cardinality_limit = N`. A visibility (`pub NAME`) is
/// allowed. The name must be a literal in Prometheus style: snake_case,
/// ending in `_total`, containing the unit's word (`_seconds` for `s`,
/// `_bytes` for `By`); anything else is a compile error pointing at it.
///
/// ```
/// telemetry_runtime::declare_static_counter!(pub BYTES, "doc_sent_bytes_total", unit = "By");
/// BYTES.add(512, &[]);
/// ```
#[macro_export]
macro_rules! declare_static_counter {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Counter; $($tt)* } };
}

/// Declares a static [`UpDownCounter`]; options as in
/// [`declare_static_counter!`], without the `_total` rule.
///
/// ```
/// telemetry_runtime::declare_static_up_down_counter!(CONNS, "doc_open_connections");
/// CONNS.add(1, &[]);
/// ```
#[macro_export]
macro_rules! declare_static_up_down_counter {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; UpDownCounter; $($tt)* } };
}

/// Declares a static [`Gauge`]; options as in [`declare_static_counter!`],
/// without the `_total` rule.
///
/// ```
/// telemetry_runtime::declare_static_gauge!(LOAD, "doc_load_ratio", unit = "1");
/// LOAD.record(0.5, &[]);
/// ```
#[macro_export]
macro_rules! declare_static_gauge {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Gauge; $($tt)* } };
}

/// Declares a static [`Histogram`]; options as in [`declare_static_counter!`]
/// plus `buckets = [..]` (finite, strictly increasing upper bounds).
/// Without `buckets`, unit `s` gets [`DEFAULT_SECONDS_BUCKETS`], `ms` gets
/// [`DEFAULT_MILLISECONDS_BUCKETS`], anything else [`DEFAULT_BUCKETS`].
///
/// ```
/// telemetry_runtime::declare_static_histogram!(LAT, "doc_rpc_latency_seconds",
///     unit = "s", buckets = [0.001, 0.01, 0.1, 1.0]);
/// LAT.record(0.02, &[]);
/// assert_eq!(LAT.metadata().buckets, &[0.001, 0.01, 0.1, 1.0]);
/// ```
#[macro_export]
macro_rules! declare_static_histogram {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Histogram; $($tt)* } };
}

/// Items the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{Instrument, TELEMETRY_RUNTIME_INSTRUMENTS};
    pub use crate::{InstrumentKind, Location, Metadata};
    pub use linkme;
    pub use telemetry_macros::declare_static;
}
