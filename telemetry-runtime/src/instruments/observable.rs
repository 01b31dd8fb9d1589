//! `declare_observable_gauge!`: a gauge whose values a callback reports at
//! each export, on the export thread.

use crate::diag;
use crate::registry::{Instrument, Metadata, Source};
use crate::storage::table::Series;
use opentelemetry::metrics::AsyncInstrument;
use opentelemetry::KeyValue;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// The callback of an observable gauge: it reports values through the
/// observer it is given (`observer.observe(value, &attributes)`).
pub type ObserveCallback = fn(&dyn AsyncInstrument<f64>);

/// An `f64` gauge read by a callback at each export, declared with
/// [`declare_observable_gauge!`](crate::declare_observable_gauge).
///
/// The callback runs on the export thread, once per export, and only the
/// series it reports in that run are exported. A callback that panics
/// fails that gauge's points of that export only (with one message);
/// everything else in the request is sent.
///
/// ```
/// use telemetry_runtime::{declare_observable_gauge, kv_pairs};
///
/// declare_observable_gauge!(POOL, "doc.pool.size", |observer| {
///     observer.observe(512.0, kv_pairs!("pool" => "heap"));
///     observer.observe(3.0, kv_pairs!("pool" => "io"));
/// });
///
/// let s = telemetry_runtime::snapshot();
/// assert_eq!(s.value("doc.pool.size", &[("pool", "heap")]), Some(512.0));
/// assert_eq!(s.value("doc.pool.size", &[("pool", "io")]), Some(3.0));
/// # let _ = &POOL;
/// ```
pub struct ObservableGauge {
    inner: Instrument,
}

impl ObservableGauge {
    #[doc(hidden)]
    pub const fn __new(meta: Metadata, callback: ObserveCallback) -> Self {
        ObservableGauge {
            inner: Instrument::derived(meta, Source::Observed(callback)),
        }
    }

    #[doc(hidden)]
    pub const fn __instrument(&'static self) -> &'static Instrument {
        &self.inner
    }

    /// What was declared: name, unit, description, location.
    pub fn metadata(&self) -> &Metadata {
        self.inner.metadata()
    }
}

/// Monarch's static is an OpenTelemetry `ObservableGauge<f64>`, which code
/// forces to register its callback. Ours is registered at link time;
/// touching it starts the pipeline, so that the callback runs.
impl std::ops::Deref for ObservableGauge {
    type Target = opentelemetry::metrics::ObservableGauge<f64>;
    fn deref(&self) -> &Self::Target {
        static HANDLE: std::sync::OnceLock<opentelemetry::metrics::ObservableGauge<f64>> =
            std::sync::OnceLock::new();
        crate::export::kick();
        HANDLE.get_or_init(opentelemetry::metrics::ObservableGauge::new)
    }
}

impl std::fmt::Debug for ObservableGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservableGauge")
            .field("name", &self.inner.metadata().name)
            .finish_non_exhaustive()
    }
}

/// What a callback reports into during one run.
struct Observer {
    values: Mutex<Vec<(Vec<KeyValue>, f64)>>,
}

impl AsyncInstrument<f64> for Observer {
    fn observe(&self, value: f64, attributes: &[KeyValue]) {
        self.values
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((attributes.to_vec(), value));
    }
}

/// Runs the callback of `inst` and stores what it reports; the series it
/// reported, or `None` when it panicked (its points are then left out of
/// this export).
pub(crate) fn observe(
    inst: &'static Instrument,
    callback: ObserveCallback,
) -> Option<Vec<&'static Series>> {
    let observer = Observer {
        values: Mutex::new(Vec::new()),
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&observer)));
    if run.is_err() {
        let meta = inst.metadata();
        diag::warn_once(&format!(
            "the callback of observable gauge `{}` (declared at {}) panicked; its points are left \
             out of the exports where it does",
            meta.name, meta.location
        ));
        return None;
    }
    let values = observer
        .values
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let table = inst.table();
    let mut seen: Vec<&'static Series> = Vec::with_capacity(values.len());
    for (attrs, v) in values {
        let s = table.series(&attrs);
        s.cells.at(0, 0).store(v.to_bits(), Relaxed);
        if !seen.iter().any(|x| std::ptr::eq(*x, s)) {
            seen.push(s);
        }
    }
    Some(seen)
}
