//! `declare_observable_gauge!`: a gauge whose values a callback reports at
//! each export, on the export thread.

use crate::diag;
use crate::meta::Metadata;
use crate::registry::{Instrument, Source};
use crate::storage::table::Series;
use opentelemetry::metrics::AsyncInstrument;
use opentelemetry::KeyValue;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, Once};

pub use crate::registry::ObserveCallback;

/// An `f64` gauge read by a callback at each export, declared with
/// [`declare_observable_gauge!`](crate::declare_observable_gauge).
///
/// The callback runs on the export thread, once per export (and on the
/// caller's thread in [`snapshot()`](crate::snapshot), possibly while an
/// export runs it too: it must be callable from two threads at once). Only
/// the series it reports in that run are exported. A callback that panics
/// fails that gauge's points of that export only (with one message per
/// gauge); everything else in the request is sent. Under
/// `panic = "abort"` a panic ends the process, as anywhere.
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
        crate::registry::first_use();
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

thread_local! {
    /// Whether this thread is running an observable gauge's callback: its
    /// panics are reported by [`observe`] alone.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Keeps the panic hook quiet for panics inside callbacks (they get one
/// message of ours instead of one per export); every other panic goes to
/// the hook that was there before.
fn quiet_callback_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CALLBACK.with(Cell::get) {
                previous(info)
            }
        }));
    });
}

/// Runs the callback of `inst` and stores what it reports; the series it
/// reported, or `None` when it panicked (its points are then left out of
/// this export, with one message per gauge).
pub(crate) fn observe(
    inst: &'static Instrument,
    callback: ObserveCallback,
) -> Option<Vec<&'static Series>> {
    quiet_callback_panics();
    let observer = Observer {
        values: Mutex::new(Vec::new()),
    };
    IN_CALLBACK.with(|f| f.set(true));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&observer)));
    IN_CALLBACK.with(|f| f.set(false));
    if let Err(payload) = run {
        static WARNED: Mutex<Option<HashSet<usize>>> = Mutex::new(None);
        let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
        if warned
            .get_or_insert_with(HashSet::new)
            .insert(inst as *const Instrument as usize)
        {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".to_owned());
            let meta = inst.metadata();
            diag::warn(format_args!(
                "the callback of observable gauge `{}` (declared at {}) panicked ({why}); its \
                 points are left out of every export where it panics",
                meta.name, meta.location
            ));
        }
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
