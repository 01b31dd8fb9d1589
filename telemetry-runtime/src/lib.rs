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
//! - Recording is a few relaxed atomic operations on cells striped per
//!   thread: see [`Counter::bind`] for the fastest form.
//! - Instruments from the plain OpenTelemetry API are exported by the same
//!   pipeline: see [`meter()`].
//!
//! See `ARCHITECTURE.md` for the design and `README.md` for configuration.
#![deny(missing_docs)]

mod attributes;
mod clock;
mod config;
mod describe;
mod diag;
mod export;
mod health;
mod instruments;
mod labels;
mod meta;
mod metered;
mod names;
mod registry;
mod snapshot;
mod span;
mod storage;
#[cfg(test)]
mod test_rng;
mod translation;

pub use attributes::IntoAttributeValue;
pub use config::{
    Config, ExemplarFilter, HistogramAggregation, TemporalityPreference, DEFAULT_ENDPOINT,
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_INTERVAL, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SERVICE_NAME,
};
pub use describe::{MeteredFunction, MetricSummary, Query, QueryOptions, QUANTILES};
pub use export::{flush, meter, shutdown, ExportError};
pub use instruments::{
    BoundCounter, BoundGauge, BoundHistogram, BoundUpDownCounter, Counter, Gauge, Histogram,
    ObservableGauge, ObserveCallback, TimeUnit, Timer, TimerGuard, UpDownCounter,
};
pub use labels::{LabelSet, LabelValue, MAX_DENSE};
pub use meta::{InstrumentKind, Location, Metadata};
pub use meta::{
    DEFAULT_BUCKETS, DEFAULT_DURATION_BUCKETS, DEFAULT_MILLISECONDS_BUCKETS,
    DEFAULT_SECONDS_BUCKETS,
};
/// The OpenTelemetry API crate, re-exported as `hyperactor_telemetry` does
/// (`telemetry_runtime::opentelemetry::metrics::Counter`).
pub use opentelemetry;
pub use opentelemetry::{Key, KeyValue, Value};
pub use registry::{catalog, storage_stats, Catalog, Conflict, Metrics, StorageStats};
pub use snapshot::{__Exporter, snapshot, Snapshot};
pub use storage::DEFAULT_CARDINALITY_LIMIT;
/// The derives of [`Metrics`](trait@Metrics), [`LabelSet`](trait@LabelSet)
/// and [`LabelValue`](trait@LabelValue); each trait documents its attributes.
pub use telemetry_macros::{LabelSet, LabelValue, Metrics};
pub use translation::{TranslationStrategy, UnknownStrategy};

/// Declares a static [`Counter`]: `declare_static_counter!(NAME, "mailbox.posts")`.
///
/// Works at module level and inside functions. The static is `pub`, as
/// in `hyperactor_telemetry`, unless a visibility is written
/// (`pub(crate) NAME`, `pub(self) NAME`).
///
/// The name is an OpenTelemetry instrument name (an ASCII letter, then
/// ASCII letters, digits, `_`, `.`, `-` and `/`, at most 255), sent as
/// declared: the backend's translation strategy decides what it stores
/// (Prometheus's default stores `mailbox.posts` as `mailbox_posts_total`).
/// It is a literal, a `concat!(..)` or any constant `&'static str`; an
/// invalid name is a compile error (at the literal, or from constant
/// evaluation for other expressions).
///
/// Options follow the name: `description = "..."` (a `///` comment on the
/// declaration works too), `unit = "..."`, `cardinality_limit = N`, and
/// `strict`: the name must then also be a Prometheus name that every
/// translation strategy stores unchanged (snake_case, ending in `_total`,
/// containing the unit's word: `_seconds` for `s`, `_bytes` for `By`).
/// The `strict-names` cargo feature makes every declaration strict.
///
/// ```
/// use telemetry_runtime::{declare_static_counter, kv_pairs};
///
/// declare_static_counter!(POSTS, "doc.mailbox.posts");
/// const PREFIX_NAME: &str = "doc.channel.errors";
/// declare_static_counter!(pub(crate) ERRORS, PREFIX_NAME);
/// declare_static_counter!(BYTES, "doc_sent_bytes_total", unit = "By", strict);
///
/// POSTS.add(1, kv_pairs!("actor_id" => 7.to_string()));
/// BYTES.add(512, &[]);
/// // Code that names OpenTelemetry's type takes the static as it is.
/// fn bump(c: &opentelemetry::metrics::Counter<u64>) { c.add(1, &[]); }
/// bump(&ERRORS);
/// ```
#[macro_export]
macro_rules! declare_static_counter {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Counter; $($tt)* } };
}

/// Declares a static [`UpDownCounter`]; name and options as in
/// [`declare_static_counter!`] (strict names do not end in `_total`).
///
/// ```
/// telemetry_runtime::declare_static_up_down_counter!(CONNS, "doc_open_connections");
/// CONNS.add(1, &[]);
/// ```
#[macro_export]
macro_rules! declare_static_up_down_counter {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; UpDownCounter; $($tt)* } };
}

/// Declares a static [`Gauge`]; name and options as in
/// [`declare_static_counter!`] (strict names do not end in `_total`).
///
/// ```
/// telemetry_runtime::declare_static_gauge!(LOAD, "doc_load_ratio", unit = "1");
/// LOAD.record(0.5, &[]);
/// ```
#[macro_export]
macro_rules! declare_static_gauge {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Gauge; $($tt)* } };
}

/// Declares a static [`Histogram`]; name and options as in
/// [`declare_static_counter!`] plus `buckets = [..]` (finite, strictly
/// increasing upper bounds).
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

/// Declares a static [`Timer`]: `declare_static_timer!(NAME, "name", TimeUnit::Nanos)`,
/// as in `hyperactor_telemetry`.
///
/// The metric is a histogram named `"{name}.{unit}"` (`name.ms`, `.us` or
/// `.ns`) with that unit, values in whole units and OpenTelemetry's
/// default buckets. Options after the unit: `description = ".."`,
/// `buckets = [..]` (in the unit), `cardinality_limit = N`. The static is
/// `pub` unless a visibility is written.
///
/// ```
/// use telemetry_runtime::{declare_static_timer, TimeUnit};
/// declare_static_timer!(HANDLE, "doc.message_handler_duration", TimeUnit::Nanos);
/// let _guard = HANDLE.start(&[]);
/// assert_eq!(HANDLE.metadata().name, "doc.message_handler_duration.ns");
/// ```
#[macro_export]
macro_rules! declare_static_timer {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; Timer; $($tt)* } };
}

/// Declares a static [`ObservableGauge`]: an `f64` gauge whose callback
/// reports its values at each export, on the export thread, as in
/// `hyperactor_telemetry`:
/// `declare_observable_gauge!(NAME, "name", |observer| { observer.observe(512.0, &[]); })`.
///
/// The callback captures nothing (it is a `fn`). Options after it:
/// `description = ".."`, `unit = ".."`.
///
/// ```
/// telemetry_runtime::declare_observable_gauge!(HEAP, "doc.heap.size", |observer| {
///     observer.observe(512.0, &[]);
/// }, unit = "By");
/// assert_eq!(HEAP.metadata().unit, "By");
/// ```
#[macro_export]
macro_rules! declare_observable_gauge {
    ($($tt:tt)*) => { $crate::__private::declare_static! { $crate; ObservableGauge; $($tt)* } };
}

/// One attribute: `key_value!("actor.id", id)` is
/// `KeyValue::new("actor.id", id)`, as in `hyperactor_telemetry`.
///
/// ```
/// use telemetry_runtime::{key_value, kv_pairs, KeyValue};
/// assert_eq!(key_value!("status", 200), KeyValue::new("status", 200i64));
/// assert_eq!(kv_pairs!("a" => "x", "n" => 1), &[key_value!("a", "x"), key_value!("n", 1)]);
/// ```
#[macro_export]
macro_rules! key_value {
    ($key:expr, $value:expr $(,)?) => {
        $crate::KeyValue::new(
            $crate::__private::IntoAttributeKey::into_attribute_key($key),
            $crate::IntoAttributeValue::into_attribute_value($value),
        )
    };
}

/// Meters a function, a method, or every method of an impl block.
///
/// Each annotated function gets one statically registered call site (it
/// is in [`catalog()`] and exported as zero before the first call) feeding
/// three shared metrics, labelled `function` (the function's name, or
/// `Type::method` for methods of a metered impl block) and `module`:
///
/// | metric | kind | extra label |
/// |---|---|---|
/// | `function_calls_total` | counter | `result` |
/// | `function_call_duration_seconds` | histogram, 1 µs to 60 s ([`DEFAULT_DURATION_BUCKETS`]) | `result` |
/// | `function_calls_in_flight` | up-down counter | |
///
/// `result` is `error` when the function returns `Err(_)`, for any
/// `Result`, including one behind an alias such as `io::Result`. It is
/// `panic` when the call unwinds: the call and its duration are still
/// recorded, and in-flight goes back down. It is `cancelled` when a future
/// is dropped before it completes. Otherwise it is `ok`.
///
/// ```
/// use telemetry_runtime::metered;
///
/// #[metered]
/// fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     s.parse()
/// }
///
/// struct Cart;
///
/// #[metered(labels(tier = "gold"))]
/// impl Cart {
///     fn add(&mut self, _item: u32) {}
///
///     #[metered(name = "checkout", buckets = [0.01, 0.1, 1.0], histogram = "checkout_duration_seconds")]
///     async fn checkout(&self) -> Result<(), String> { Ok(()) }
///
///     #[metered(skip)]
///     fn len(&self) -> usize { 0 }
/// }
///
/// assert_eq!(parse("42"), Ok(42));
/// assert!(parse("x").is_err());
/// Cart.add(1);
/// let sites: Vec<_> = telemetry_runtime::catalog()
///     .get("function_calls_total")
///     .flat_map(|m| m.const_attributes.iter().filter(|(k, _)| *k == "function").map(|(_, v)| *v))
///     .collect();
/// assert!(sites.contains(&"parse") && sites.contains(&"Cart::add") && sites.contains(&"checkout"));
/// assert!(!sites.contains(&"Cart::len"));
/// ```
///
/// # Options
///
/// - `name = "checkout"`: the `function` label value.
/// - `labels(tier = "gold", region = "eu")`: extra static labels on all
///   three metrics. `function`, `module` and `result` are reserved.
/// - `buckets = [..]` with `histogram = "name_seconds"`: other buckets. A
///   histogram name has one bucket layout, so other buckets need their own
///   histogram name.
/// - `without(calls, duration, in_flight)`: leaves those metrics out. Any
///   subset is allowed.
/// - `objective(latency = 0.25, percentile = 0.99, error_ratio = 0.01)`:
///   service-level objectives. Latency is in seconds, and `percentile`
///   defaults to 0.99. They are in the catalog, and
///   [`Catalog::prometheus_rules`] turns them into alerts for this
///   function.
/// - `crate = path`: where `telemetry_runtime` is, when it is re-exported
///   under another name (default `::telemetry_runtime`).
/// - `skip`: on a method of a metered impl block, opts it out. On such a
///   method, `#[metered(..)]` options override the block's, and labels
///   add to them.
///
/// Any other option is a compile error on its token, listing the allowed
/// ones. `const fn` is rejected.
///
/// # What is timed
///
/// - Sync functions: the call. The body runs in a closure that is called at
///   once, so `return` and `?` keep their meaning.
/// - `#[track_caller]` functions: the caller's location is preserved,
///   because the body is not moved into a closure. Instead, `return` and
///   `?` are rewritten into a `break` out of a labelled block. A `return`
///   hidden inside a macro (such as `anyhow::bail!`) leaves the function
///   directly, and is counted as `error`.
/// - `async fn`, including native `async fn` in traits: the whole future,
///   from its first poll to completion.
/// - `#[async_trait]` methods: the same. The boxed future's inner async
///   block is metered, not the creation of the box. This works with
///   `#[metered]` placed above or below `#[async_trait]`.
/// - `-> impl Future` functions: the body runs at the call. The returned
///   future is then wrapped, so the duration runs from the call to the
///   future's completion. A future with an `Unpin` bound cannot be wrapped:
///   only its creation is timed.
/// - A future dropped before completion is counted with `result="cancelled"`,
///   and in-flight goes back down.
///
/// Per call the hot path reads the clock twice (`quanta`, the TSC where it
/// is reliable) and does three relaxed atomic operations on this thread's
/// cells. There is no lock, no hashing and no allocation.
/// `function_calls_total` and `function_calls_in_flight` are derived from
/// the same cells at export time.
pub use telemetry_macros::metered;

/// Items the macros expand to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::attributes::{
        key_needs_drop, value_needs_drop, AttributeList, IntoAttributeKey,
    };
    pub use crate::clock::clock_ticks;
    pub use crate::labels::dense_product;
    pub use crate::meta::{InstrumentKind, Location, Metadata};
    pub use crate::metered::{
        Branch, CallSite, FromResidual, Guard, Probe, ProbeOther, ProbeResult, RESULT_VALUES,
        RESULT_ZERO_SERIES,
    };
    pub use crate::names::{check_name, NameBuf};
    pub use crate::registry::{
        Instrument, MetricsGroup, Source, TELEMETRY_RUNTIME_INSTRUMENTS,
        TELEMETRY_RUNTIME_METRIC_GROUPS,
    };
    pub use crate::translation::promql_name;
    pub use linkme;
    pub use opentelemetry::{KeyValue, Value};
    pub use telemetry_macros::declare_static;
}
