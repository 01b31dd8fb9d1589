//! The link-time registry: every declared instrument puts a reference to
//! itself into one linkme distributed slice, so the runtime knows the whole
//! catalog of the final binary without any registration call.

use crate::diag;
use crate::labels::LabelSet;
use crate::meta::{Location, Metadata};
use crate::storage::table::{Series, Table};
use linkme::distributed_slice;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{
    AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::OnceLock;

/// Every instrument declared in the binary. The section name comes from the
/// identifier only, so it is made unique to this crate.
#[doc(hidden)]
#[distributed_slice]
pub static TELEMETRY_RUNTIME_INSTRUMENTS: [&'static Instrument];

/// Every `#[derive(Metrics)]` struct's global instance, expanded into its
/// instruments when the registry is first read.
#[doc(hidden)]
#[distributed_slice]
pub static TELEMETRY_RUNTIME_METRIC_GROUPS: [&'static dyn MetricsGroup];

/// What the first use of any instrument starts, put here at link time by
/// the layer above (the export pipeline's lazy start, `export::kick`), so
/// that the registry starts it without naming that layer.
#[distributed_slice]
pub(crate) static TELEMETRY_RUNTIME_FIRST_USE: [fn()];

/// Runs the first-use hooks. Each returns at once once the pipeline runs.
pub(crate) fn first_use() {
    for hook in TELEMETRY_RUNTIME_FIRST_USE {
        hook();
    }
}

/// A struct of metrics, implemented by `#[derive(Metrics)]`: a struct of
/// instruments with one global instance registered at link time.
///
/// ```
/// use telemetry_runtime::{Counter, Gauge, Histogram, LabelSet, LabelValue, Metrics, UpDownCounter};
///
/// #[derive(LabelValue, Clone, Copy)]
/// enum Method { Get, #[label(value = "POST")] Post }
///
/// #[derive(LabelSet, Clone, Copy)]
/// struct RequestLabels { method: Method, status: u16 }
///
/// /// HTTP server metrics.
/// #[derive(Metrics)]
/// #[metrics(prefix = "doc_http")]
/// struct HttpMetrics {
///     /// Requests served.
///     requests_total: Counter<RequestLabels>,
///     /// Time to first byte.
///     #[metric(unit = "s", buckets = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5])]
///     request_duration_seconds: Histogram<RequestLabels>,
///     in_flight: UpDownCounter,
///     #[metric(name = "doc_queue_depth")]
///     queue: Gauge,
/// }
///
/// let m = HttpMetrics::global();
/// m.requests_total.add(1, RequestLabels { method: Method::Get, status: 200 });
/// m.in_flight.add(1, &[]);
/// let s = telemetry_runtime::snapshot();
/// assert_eq!(s.value("doc_http_requests_total", &[("method", "get"), ("status", "200")]), Some(1.0));
/// let meta = telemetry_runtime::catalog().get("doc_http_requests_total").next().unwrap();
/// assert_eq!((meta.description, meta.label_keys), ("Requests served.", &["method", "status"][..]));
/// ```
///
/// # Container attributes: `#[metrics(..)]`
/// - `prefix = "http"`: metric names are `prefix_field`.
/// - `crate = path`: where `telemetry_runtime` is, if it is re-exported.
///
/// # Field attributes: `#[metric(..)]`
/// - `name = "full_name"`: the whole metric name, instead of `prefix_field`.
/// - `unit = "s"`: the unit; the name must contain its word (`_seconds`).
/// - `description = ".."`: the description, instead of the `///` comment.
/// - `buckets = [..]`: histogram bucket bounds.
/// - `cardinality_limit = N`: attribute sets kept before the overflow series
///   (default [`DEFAULT_CARDINALITY_LIMIT`](crate::DEFAULT_CARDINALITY_LIMIT)).
/// - `flatten`: the field is a nested `#[derive(Metrics)]` struct.
///
/// Field types are [`Counter`](crate::Counter), [`UpDownCounter`](crate::UpDownCounter),
/// [`Gauge`](crate::Gauge) and [`Histogram`](crate::Histogram), each
/// unlabelled (free-form `&[KeyValue]`) or with a
/// [`LabelSet`](trait@crate::LabelSet) type parameter.
///
/// # Output
/// - `impl Metrics for T`, and `T::global() -> &'static T`: a `static`,
///   with no lazy lock in front of it.
/// - Every field in [`catalog()`], with name, kind, unit, buckets,
///   description and label keys.
///
/// A wrong type, name or attribute is a compile error on the offending token.
pub trait Metrics: Sized + 'static {
    /// A fresh instance, as the derive builds it (used for the global
    /// instance and for `#[metric(flatten)]` fields).
    #[doc(hidden)]
    const __TELEMETRY_NEW: Self;

    /// Pushes every instrument of this struct (nested ones included).
    #[doc(hidden)]
    fn __telemetry_instruments(&'static self, out: &mut Vec<&'static Instrument>);
}

/// The object-safe part of [`Metrics`], for the registry.
#[doc(hidden)]
pub trait MetricsGroup: Sync {
    fn instruments(&'static self, out: &mut Vec<&'static Instrument>);
}

impl<T: Metrics + Sync> MetricsGroup for T {
    fn instruments(&'static self, out: &mut Vec<&'static Instrument>) {
        self.__telemetry_instruments(out)
    }
}

/// The callback of an observable gauge: it reports values through the
/// observer it is given (`observer.observe(value, &attributes)`).
pub type ObserveCallback = fn(&dyn opentelemetry::metrics::AsyncInstrument<f64>);

/// Where an instrument's values come from.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Source {
    /// Its own storage.
    Own,
    /// A counter whose series are the counts of a histogram's series (the
    /// calls of a metered function are the count of its durations).
    CountOf(&'static Instrument),
    /// An up-down counter: entries (a counter's total) minus the count of
    /// a histogram's series (calls in flight).
    EnteredMinusCount(&'static Instrument, &'static Instrument),
    /// A gauge whose callback reports its values at each export.
    Observed(ObserveCallback),
}

/// The untyped core of every instrument: its metadata and, from its first
/// use, its storage.
#[doc(hidden)]
pub struct Instrument {
    pub(crate) meta: Metadata,
    pub(crate) source: Source,
    /// For a histogram whose sum word counts raw clock ticks (metered
    /// durations and timers: an integer add instead of a compare-and-swap
    /// loop, and no conversion per call), the nanoseconds in one unit of
    /// the exported sum; 0 otherwise.
    pub(crate) sum_ticks: u64,
    /// The storage, created on first use and never freed (so that a
    /// series found through `&self` lives as long as the program).
    table: AtomicPtr<Table>,
    /// For dense typed label sets, series by combination index: the first
    /// slot of a leaked array of `dense_len` slots, each null until its
    /// combination is first recorded. Null until the first typed record.
    /// A thin pointer, so a record loads the slot straight from it: one
    /// dependent load fewer than through a boxed slice.
    dense: AtomicPtr<AtomicPtr<Series>>,
    /// Length of the `dense` array: 0 until the array is published, then
    /// set once (after the pointer, so a reader that sees a length sees
    /// the pointer too).
    dense_len: AtomicUsize,
}

impl Instrument {
    #[doc(hidden)]
    pub const fn new(meta: Metadata) -> Self {
        Instrument {
            meta,
            source: Source::Own,
            sum_ticks: 0,
            table: AtomicPtr::new(std::ptr::null_mut()),
            dense: AtomicPtr::new(std::ptr::null_mut()),
            dense_len: AtomicUsize::new(0),
        }
    }

    /// A histogram of durations recorded in raw clock ticks, its sum
    /// exported in seconds.
    #[doc(hidden)]
    pub const fn ticks_histogram(meta: Metadata) -> Self {
        Instrument {
            meta,
            source: Source::Own,
            sum_ticks: 1_000_000_000,
            table: AtomicPtr::new(std::ptr::null_mut()),
            dense: AtomicPtr::new(std::ptr::null_mut()),
            dense_len: AtomicUsize::new(0),
        }
    }

    #[doc(hidden)]
    pub const fn derived(meta: Metadata, source: Source) -> Self {
        Instrument {
            meta,
            source,
            sum_ticks: 0,
            table: AtomicPtr::new(std::ptr::null_mut()),
            dense: AtomicPtr::new(std::ptr::null_mut()),
            dense_len: AtomicUsize::new(0),
        }
    }

    /// The instrument's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// A histogram of durations in raw clock ticks whose sum is exported
    /// in units of `unit_nanos` nanoseconds (a timer's `ms`, `us`, `ns`).
    pub(crate) const fn ticks_histogram_in(meta: Metadata, unit_nanos: u64) -> Self {
        let mut i = Self::ticks_histogram(meta);
        i.sum_ticks = unit_nanos;
        i
    }

    #[inline(always)]
    pub(crate) fn table(&self) -> &'static Table {
        // SAFETY: a non-null pointer is a leaked `Box<Table>` published
        // with Release by `init_table`, never freed.
        match unsafe { self.table.load(Acquire).as_ref() } {
            Some(t) => t,
            None => self.init_table(),
        }
    }

    #[cold]
    #[inline(never)]
    fn init_table(&self) -> &'static Table {
        // Published by compare-and-swap, with no lock (a record never
        // waits, and a fork can't leave one held). A table that loses the
        // race is dropped; only its few words in the arena stay reserved.
        let new = Box::into_raw(Box::new(Table::new(self.meta.clone())));
        let t = match self
            .table
            .compare_exchange(std::ptr::null_mut(), new, AcqRel, Acquire)
        {
            // SAFETY: `new` is the box just leaked, now published, never freed.
            Ok(_) => unsafe { &*new },
            Err(winner) => {
                // SAFETY: `new` was never shared; `winner` is a published
                // table (see `table`).
                unsafe {
                    drop(Box::from_raw(new));
                    &*winner
                }
            }
        };
        // The first record anywhere starts the export pipeline. It never
        // waits for it: values land in storage whatever the pipeline does.
        first_use();
        t
    }

    /// The series of a typed label set: an array index for dense sets, a
    /// hash lookup otherwise.
    #[inline(always)]
    pub(crate) fn typed_series<L: LabelSet>(&self, labels: &L) -> &'static Series {
        if L::CARDINALITY.is_some() {
            let i = labels.index();
            // The length is stored (Release) after the pointer was
            // published, so a length above `i` means the array is there.
            if i < self.dense_len.load(Acquire) {
                let slots = self.dense.load(Relaxed);
                // SAFETY: `slots` is the first of `dense_len` slots of a
                // leaked array (`dense_slots`), never freed, and `i` is in
                // range. A non-null slot was stored (Release, read with
                // Acquire) by `typed_series_slow` from a series of the
                // instrument's leaked table, which lives as long as the program.
                if let Some(s) = unsafe { (*slots.add(i)).load(Acquire).as_ref() } {
                    return s;
                }
            }
        }
        self.typed_series_slow(labels)
    }

    /// First record of a combination: finds its series in the table and
    /// keeps it in the dense array.
    #[cold]
    #[inline(never)]
    fn typed_series_slow<L: LabelSet>(&self, labels: &L) -> &'static Series {
        let table = self.table();
        let found = || labels.with_attributes(|a| table.series(a));
        let Some(n) = L::CARDINALITY else {
            return found();
        };
        match self.dense_slots(n).get(labels.index()) {
            Some(slot) => {
                let s = found();
                // Every thread finds the same series, so storing it twice is
                // harmless; except the overflow series, which a thread can
                // get while another takes the last free place for the same
                // combination: that answer is not kept.
                if !table.is_overflow(s) {
                    slot.store(s as *const Series as *mut Series, Release);
                }
                s
            }
            // A hand-written LabelSet with an index out of range.
            None => found(),
        }
    }

    /// The dense array of `n` slots, created by the first caller.
    fn dense_slots(&self, n: usize) -> &'static [AtomicPtr<Series>] {
        let published = |p: *mut AtomicPtr<Series>| {
            // SAFETY: a published pointer is the first of `n` slots of an
            // array leaked by the winner below and never freed; every
            // caller passes the same `n` (`L::CARDINALITY` of the one label
            // set type of the instrument's typed wrapper).
            unsafe { std::slice::from_raw_parts(p, n) }
        };
        let cur = self.dense.load(Acquire);
        if !cur.is_null() {
            return published(cur);
        }
        let new: &'static mut [AtomicPtr<Series>] = Box::leak(
            (0..n)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect::<Box<[_]>>(),
        );
        let new = new.as_mut_ptr();
        match self
            .dense
            .compare_exchange(std::ptr::null_mut(), new, AcqRel, Acquire)
        {
            Ok(_) => {
                self.dense_len.store(n, Release);
                published(new)
            }
            Err(winner) => {
                // SAFETY: `new` was never shared; it is the leaked box of
                // `n` slots made above.
                unsafe { drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(new, n))) };
                published(winner)
            }
        }
    }

    /// The storage, if anything was recorded yet.
    pub(crate) fn table_if_used(&self) -> Option<&'static Table> {
        // SAFETY: as in `table`.
        unsafe { self.table.load(Acquire).as_ref() }
    }
}

/// Two declarations that share a name but not a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The metric name.
    pub name: &'static str,
    /// The declaration that is exported.
    pub kept: Location,
    /// The declaration whose data is not exported.
    pub dropped: Location,
    /// What differs: `kind`, `unit` or `buckets`.
    pub what: &'static str,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "metric `{}` is declared twice with a different {}: at {} and at {}; only the first is \
             exported, values recorded through the second are not",
            self.name, self.what, self.kept, self.dropped
        )
    }
}

/// The metrics declared in this binary. Get it with [`catalog()`].
#[derive(Debug, Clone)]
pub struct Catalog {
    metrics: Vec<&'static Metadata>,
    conflicts: Vec<Conflict>,
}

impl Catalog {
    /// Every declaration, sorted by name and then by location.
    pub fn iter(&self) -> impl Iterator<Item = &'static Metadata> + '_ {
        self.metrics.iter().copied()
    }

    /// Number of declarations.
    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    /// Whether nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The declarations of metric `name` (several for a shared name, such as
    /// the call sites of metered functions).
    pub fn get<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'static Metadata> + 'a {
        self.iter().filter(move |m| m.name == name)
    }

    /// Declarations that share a name with a different kind, unit or buckets.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }
}

/// Every metric declared anywhere in the final binary, found through the
/// link-time registry. Calling it also starts the export pipeline and
/// reports, once, any two declarations of one name that disagree.
///
/// ```
/// telemetry_runtime::declare_static_counter!(JOBS, "doc_catalog_jobs_total", description = "Jobs done.");
/// let catalog = telemetry_runtime::catalog();
/// let jobs = catalog.get("doc_catalog_jobs_total").next().unwrap();
/// assert_eq!(jobs.kind, telemetry_runtime::InstrumentKind::Counter);
/// assert_eq!(jobs.description, "Jobs done.");
/// # let _ = &JOBS;
/// ```
pub fn catalog() -> Catalog {
    first_use();
    build_catalog()
}

pub(crate) fn build_catalog() -> Catalog {
    let mut metrics: Vec<&'static Metadata> = instruments().iter().map(|i| &i.meta).collect();
    metrics.sort_by(|a, b| (a.name, a.location).cmp(&(b.name, b.location)));
    let conflicts = find_conflicts(&metrics);
    Catalog { metrics, conflicts }
}

fn find_conflicts(sorted: &[&'static Metadata]) -> Vec<Conflict> {
    let mut first: BTreeMap<&str, &Metadata> = BTreeMap::new();
    let mut out = Vec::new();
    for m in sorted {
        let kept = *first.entry(m.name).or_insert(m);
        let what = if kept.kind != m.kind {
            "kind"
        } else if kept.unit != m.unit {
            "unit"
        } else if kept.buckets != m.buckets {
            "buckets"
        } else {
            continue;
        };
        out.push(Conflict {
            name: m.name,
            kept: kept.location,
            dropped: m.location,
            what,
        });
    }
    out
}

/// Prints each conflict once per process.
pub(crate) fn report_conflicts(catalog: &Catalog) {
    for c in catalog.conflicts() {
        diag::warn_once(&c.to_string());
    }
}

/// Whether the declaration at `loc` is shadowed by an earlier, different one.
pub(crate) fn is_dropped(catalog: &Catalog, meta: &Metadata) -> bool {
    catalog
        .conflicts
        .iter()
        .any(|c| c.name == meta.name && c.dropped == meta.location)
}

/// The instruments of the registry: declared ones and those of metric
/// structs (for the exporter and the catalog).
pub(crate) fn instruments() -> &'static [&'static Instrument] {
    static ALL: OnceLock<Vec<&'static Instrument>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Instrument> = TELEMETRY_RUNTIME_INSTRUMENTS.to_vec();
        for g in TELEMETRY_RUNTIME_METRIC_GROUPS {
            g.instruments(&mut all);
        }
        // The runtime's own health metrics, unless turned off.
        if !crate::config::current().self_metrics {
            all.retain(|i| !i.meta.is_runtime_health());
        }
        all
    })
}

/// How much storage the recorded series take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageStats {
    /// Instruments that recorded at least once.
    pub instruments_used: usize,
    /// Labelled series (the unlabelled series of each instrument not counted).
    pub series: usize,
    /// Approximate heap bytes of all tables and series.
    pub heap_bytes: usize,
}

/// Counts the series and the memory they take (walks every table: not for
/// hot paths). The runtime's own health metrics (`otel.sdk.*`) are not
/// counted.
pub fn storage_stats() -> StorageStats {
    let mut s = StorageStats {
        instruments_used: 0,
        series: 0,
        heap_bytes: 0,
    };
    // The runtime's own health series are not the program's.
    for i in instruments().iter().filter(|i| !i.meta.is_runtime_health()) {
        if let Some(t) = i.table_if_used() {
            s.instruments_used += 1;
            s.series += t.len();
            s.heap_bytes += t.heap_bytes();
        }
    }
    s
}
