//! The runtime side of [`#[metered]`](crate::metered): one statically
//! registered call site per metered function, feeding three shared metrics.
//!
//! Per call the hot path reads the clock twice and does three relaxed
//! atomic operations on this thread's stripe: count the entry, count the
//! duration's bucket, add the duration to the sum. `function_calls_total`
//! is the count of the duration histogram, and `function_calls_in_flight`
//! is entries minus completions, both computed at export time, so they
//! cost nothing per call.

use crate::instruments::record_nanos;
use crate::registry::{Instrument, Metadata, Source};
use crate::storage::table::{Series, Table};
use opentelemetry::KeyValue;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

/// Default buckets of `function_call_duration_seconds`: 1 µs to 60 s.
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
];

/// Attribute sets of the call and duration metrics exported as zero before
/// the first call.
pub const RESULT_ZERO_SERIES: &[&[(&str, &str)]] = &[
    &[("result", "ok")],
    &[("result", "error")],
    &[("result", "panic")],
];

/// The values of the `result` label.
pub const RESULT_VALUES: &[&str] = &["ok", "error", "panic", "cancelled"];

/// One metered function. Built by the macro; not a public API.
#[doc(hidden)]
pub struct CallSite {
    duration: Instrument,
    entered: Instrument,
    calls: Instrument,
    in_flight: Instrument,
    bound: OnceLock<Bound>,
}

struct Bound {
    table: &'static Table,
    meta: &'static Metadata,
    clock: &'static quanta::Clock,
    entered: &'static Series,
    ok: &'static Series,
    error: &'static Series,
}

impl CallSite {
    /// `site` must be the static being built (its own address).
    #[doc(hidden)]
    pub const fn new(
        site: &'static CallSite,
        duration: Metadata,
        calls: Metadata,
        in_flight: Metadata,
        entered: Metadata,
    ) -> CallSite {
        CallSite {
            duration: Instrument::nanos_histogram(duration),
            entered: Instrument::new(entered),
            calls: Instrument::derived(calls, Source::CountOf(&site.duration)),
            in_flight: Instrument::derived(
                in_flight,
                Source::EnteredMinusCount(&site.entered, &site.duration),
            ),
            bound: OnceLock::new(),
        }
    }

    #[doc(hidden)]
    pub const fn duration_instrument(&'static self) -> &'static Instrument {
        &self.duration
    }

    #[doc(hidden)]
    pub const fn calls_instrument(&'static self) -> &'static Instrument {
        &self.calls
    }

    #[doc(hidden)]
    pub const fn in_flight_instrument(&'static self) -> &'static Instrument {
        &self.in_flight
    }

    #[inline(always)]
    fn bound(&'static self) -> &'static Bound {
        match self.bound.get() {
            Some(b) => b,
            None => self.bind(),
        }
    }

    #[cold]
    #[inline(never)]
    fn bind(&'static self) -> &'static Bound {
        self.bound.get_or_init(|| {
            let table = self.duration.table();
            let result = |v: &'static str| table.series(&[KeyValue::new("result", v)]);
            let b = Bound {
                table,
                meta: self.duration.metadata(),
                clock: clock(),
                entered: &self.entered.table().unlabelled,
                ok: result("ok"),
                error: result("error"),
            };
            // Created now so that all three are exported from the start.
            result("panic");
            b
        })
    }

    /// Counts one call in and starts its clock.
    #[inline(always)]
    pub fn enter(&'static self) -> Guard {
        let bound = self.bound();
        bound.entered.cells.local(0).fetch_add(1, Relaxed);
        Guard {
            bound,
            start: bound.clock.raw(),
        }
    }
}

/// A call in progress. `finish` records it; dropping it unfinished records
/// `result="panic"` while unwinding and `result="cancelled"` otherwise (a
/// future dropped before it completed).
#[doc(hidden)]
#[must_use]
pub struct Guard {
    bound: &'static Bound,
    /// Raw clock ticks at entry.
    start: u64,
}

/// The process's clock: the TSC through `quanta` where it is invariant and
/// calibrated, the OS monotonic clock otherwise.
fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

impl Guard {
    #[inline(always)]
    fn nanos(&self) -> u64 {
        let c = self.bound.clock;
        c.delta_as_nanos(self.start, c.raw())
    }
}

impl Guard {
    /// Records the call with `result="error"` if `error`, else `"ok"`.
    #[inline(always)]
    pub fn finish(self, error: bool) {
        let nanos = self.nanos();
        let b = self.bound;
        std::mem::forget(self);
        let series = if error { b.error } else { b.ok };
        record_nanos(series, b.table, nanos, b.meta);
    }
}

impl Drop for Guard {
    #[cold]
    fn drop(&mut self) {
        let nanos = self.nanos();
        let b = self.bound;
        let result = if std::thread::panicking() {
            "panic"
        } else {
            "cancelled"
        };
        let series = b.table.series(&[KeyValue::new("result", result)]);
        record_nanos(series, b.table, nanos, b.meta);
    }
}

/// Wraps a function's result to ask whether it is an `Err` (autoref
/// specialisation: `Result`s answer through [`ProbeResult`], anything else
/// through [`ProbeOther`]).
#[doc(hidden)]
pub struct Probe<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait ProbeResult {
    fn __telemetry_is_error(&self) -> bool;
}

impl<T, E> ProbeResult for Probe<'_, Result<T, E>> {
    #[inline(always)]
    fn __telemetry_is_error(&self) -> bool {
        self.0.is_err()
    }
}

#[doc(hidden)]
pub trait ProbeOther {
    fn __telemetry_is_error(&self) -> bool;
}

impl<T: ?Sized> ProbeOther for &Probe<'_, T> {
    #[inline(always)]
    fn __telemetry_is_error(&self) -> bool {
        false
    }
}

/// The `?` operator, spelled out for `#[track_caller]` functions, whose
/// bodies cannot move into a closure without losing the caller's location.
#[doc(hidden)]
pub trait Branch {
    type Output;
    type Residual;
    fn __telemetry_branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;
    #[inline(always)]
    fn __telemetry_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(v) => ControlFlow::Continue(v),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;
    #[inline(always)]
    fn __telemetry_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(v) => ControlFlow::Continue(v),
            None => ControlFlow::Break(None),
        }
    }
}

#[doc(hidden)]
pub trait FromResidual<R> {
    fn __telemetry_from_residual(r: R) -> Self;
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline(always)]
    fn __telemetry_from_residual(r: Result<Infallible, E>) -> Self {
        match r {
            Err(e) => Err(From::from(e)),
            Ok(never) => match never {},
        }
    }
}

impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline(always)]
    fn __telemetry_from_residual(_: Option<Infallible>) -> Self {
        None
    }
}
