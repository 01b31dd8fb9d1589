//! The runtime side of [`#[metered]`](crate::metered): one statically
//! registered call site per metered function, feeding three shared metrics.
//!
//! Per call the hot path reads the clock twice and does three relaxed
//! atomic operations on the stripe of the thread that entered: count the
//! entry, count the duration's bucket, add the duration to the sum.
//!
//! Durations stay in raw clock ticks: the bucket bounds are converted to
//! ticks once, when the call site is first used, and the sum is kept in
//! ticks and scaled to seconds at export, so a call with explicit buckets
//! (the default) does no conversion. With exponential histograms the
//! duration is converted to seconds to find its bucket. `function_calls_total`
//! is the count of the duration histogram, and `function_calls_in_flight`
//! is entries minus completions, both computed at export time, so they
//! cost nothing per call.
//!
//! The bucket is first guessed: each stripe remembers the bucket its last
//! call of each result landed in, and the guess and its two bounds are
//! read *before* the second clock read. When the duration falls within
//! those bounds (a function's durations are usually alike), the bucket's
//! address never waits for the clock. A write whose address depends on
//! the clock's value costs about 8 to 12 ns here, much more than the
//! search itself; a wrong guess only costs that search.

use crate::clock::{clock, Clock};
use crate::meta::Metadata;
use crate::registry::{Instrument, Source};
use crate::storage::cells::{stripe_count, thread_stripe, Stripe};
use crate::storage::table::{Series, Table};
use opentelemetry::KeyValue;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

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
    clock: &'static Clock,
    /// Whether the histogram has exponential buckets, and whether the
    /// clock is the TSC (copied here: one dependent load fewer per call).
    exponential: bool,
    tsc: bool,
    buckets: TickBuckets,
    /// The `result="ok"` and `"error"` series, for exemplars.
    series: [&'static Series; 2],
    /// Per stripe, the cells a call writes, found once here rather than
    /// through the arena tables on every call.
    stripes: Box<[StripeCells]>,
}

/// One stripe's cells of a call site, on a cache line of its own (the
/// guesses are written by that stripe's threads only).
#[repr(align(64))]
struct StripeCells {
    /// The entry count.
    entered: &'static AtomicU64,
    /// The duration histogram's words for `result="ok"` and `"error"`.
    ok: &'static [AtomicU64],
    error: &'static [AtomicU64],
    /// The bucket of the last `ok` and `error` call recorded here: the
    /// guess of the next one.
    guess: [AtomicUsize; 2],
}

/// The explicit bucket bounds of one call site (or timer) in raw clock
/// ticks.
pub(crate) struct TickBuckets {
    /// `over[i]`: the fewest ticks whose duration in seconds exceeds bound
    /// `i`, so a duration of `d` ticks falls in bucket
    /// `#{i : over[i] <= d}`, exactly the bucket of its seconds value
    /// (`u64::MAX` when no tick count does; a duration of `u64::MAX`
    /// ticks, centuries, then counts as above every bound).
    over: Box<[u64]>,
    /// For each bit length of `d` (0 to 64), the number of `over[i]` at or
    /// below the smallest `d` of that length: the search starts there and
    /// takes a step or two.
    start: [u8; 65],
    /// For each bucket `i`, the tick counts it holds: `range[i][0] <= d <
    /// range[i][1]` (0 below the first bucket, `u64::MAX` above the last;
    /// a duration of `u64::MAX` ticks is never in range and goes through
    /// [`find`](Self::find)).
    range: Box<[[u64; 2]]>,
}

impl TickBuckets {
    fn new(bounds: &[f64], clock: &Clock) -> TickBuckets {
        Self::with_value(bounds, |t| clock.nanos(t) as f64 * 1e-9)
    }

    /// Bounds over `secs(ticks)`, any function of the ticks that never
    /// decreases (a timer's whole units).
    pub(crate) fn with_value(bounds: &[f64], secs: impl Fn(u64) -> f64) -> TickBuckets {
        let over: Box<[u64]> = bounds
            .iter()
            .map(|&b| {
                // The first tick count whose seconds exceed `b` (durations
                // are monotone in ticks), or u64::MAX when none does.
                let (mut lo, mut hi) = (0u64, u64::MAX);
                if secs(hi) <= b {
                    return u64::MAX;
                }
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if secs(mid) > b {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            })
            .collect();
        let mut start = [0u8; 65];
        for (bits, s) in start.iter_mut().enumerate() {
            let smallest = if bits == 0 { 0 } else { 1u64 << (bits - 1) };
            *s = over
                .partition_point(|&o| o <= smallest)
                .min(u8::MAX as usize) as u8;
        }
        let range = (0..=over.len())
            .map(|i| {
                let lo = if i == 0 { 0 } else { over[i - 1] };
                [lo, over.get(i).copied().unwrap_or(u64::MAX)]
            })
            .collect();
        TickBuckets { over, start, range }
    }

    /// The bucket of a duration from `start` to `now()`, and its ticks:
    /// `guess`'s bucket when the duration falls in it, else a search,
    /// which becomes the next guess. The guess and its bounds are loaded
    /// before the clock is read, so that on a right guess the bucket's
    /// address is known early (a write whose address waits on the clock
    /// costs about 10 ns here).
    #[inline(always)]
    pub(crate) fn guessed(
        &self,
        guess: &AtomicUsize,
        start: u64,
        now: impl FnOnce() -> u64,
    ) -> (usize, u64) {
        let g = guess.load(Relaxed);
        let [lo, hi] = self.range(g);
        let ticks = now().saturating_sub(start);
        if lo <= ticks && ticks < hi {
            return (g, ticks);
        }
        let i = self.find(ticks);
        guess.store(i, Relaxed);
        (i, ticks)
    }

    /// The word of the sum, after the buckets.
    #[inline(always)]
    pub(crate) fn sum_word(&self) -> usize {
        self.over.len() + 1
    }

    /// The bounds of bucket `i` (an empty range when there is no such
    /// bucket).
    #[inline(always)]
    pub(crate) fn range(&self, i: usize) -> [u64; 2] {
        self.range.get(i).copied().unwrap_or([u64::MAX, 0])
    }

    /// The bucket of a duration of `d` ticks.
    #[inline(always)]
    pub(crate) fn find(&self, d: u64) -> usize {
        if self.over.len() >= u8::MAX as usize {
            // Too many bounds for the start table: a binary search.
            return self.over.partition_point(|&o| o <= d);
        }
        let bits = (u64::BITS - d.leading_zeros()) as usize;
        let mut i = self.start.get(bits).copied().unwrap_or(0) as usize;
        while let Some(&o) = self.over.get(i) {
            if o > d {
                break;
            }
            i += 1;
        }
        i
    }
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
            duration: Instrument::ticks_histogram(duration),
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
            let clock = clock();
            let (entered, ok, error) = (
                &self.entered.table().unlabelled,
                result("ok"),
                result("error"),
            );
            let b = Bound {
                table,
                exponential: table.exponential,
                tsc: clock.tsc,
                buckets: TickBuckets::new(self.duration.metadata().buckets, clock),
                series: [ok, error],
                clock,
                stripes: (0..stripe_count())
                    .map(|s| StripeCells {
                        entered: &entered.cells.block(s)[0],
                        ok: ok.cells.block(s),
                        error: error.cells.block(s),
                        guess: [AtomicUsize::new(0), AtomicUsize::new(0)],
                    })
                    .collect(),
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
        let start = bound.now();
        let stripe = thread_stripe();
        if let Some(c) = bound.stripes.get(stripe.index()) {
            stripe.add(c.entered, 1);
        }
        Guard { bound, start }
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

impl Guard {
    /// Ticks since entry (0 if the clock went backwards).
    #[inline(always)]
    fn ticks(&self) -> u64 {
        self.bound.now().saturating_sub(self.start)
    }
}

impl Bound {
    /// Raw ticks now: [`Clock::raw`] without reaching the clock first.
    #[inline(always)]
    fn now(&self) -> u64 {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.tsc {
            return Clock::rdtsc();
        }
        self.clock.raw()
    }

    /// Records a call of `ticks` into the words `block` (this thread's copy
    /// of `series`): its bucket and the sum.
    #[inline(always)]
    fn record(&self, series: &Series, block: &[AtomicU64], stripe: Stripe, ticks: u64) {
        if self.exponential {
            use crate::storage::exponential as exp;
            exp::count(block, stripe, self.clock.nanos(ticks) as f64 * 1e-9);
            if let Some(sum) = block.get(exp::SUM) {
                stripe.add(sum, ticks);
            }
            return self.exemplar(series, 0, ticks);
        }
        let bucket = self.buckets.find(ticks);
        add_duration(block, stripe, bucket, self.buckets.sum_word(), ticks);
        self.exemplar(series, bucket, ticks);
    }

    /// Offers a call of `ticks` in `bucket` as an exemplar of `series`:
    /// one branch outside a sampled span.
    #[inline(always)]
    fn exemplar(&self, series: &Series, bucket: usize, ticks: u64) {
        if crate::span::may_offer() {
            self.offer(series, bucket, ticks);
        }
    }

    #[cold]
    #[inline(never)]
    fn offer(&self, series: &Series, bucket: usize, ticks: u64) {
        let slots = if self.exponential {
            1
        } else {
            self.table.meta.buckets.len() + 1
        };
        let secs = self.clock.nanos(ticks) as f64 * 1e-9;
        crate::storage::exemplars::offer(series, slots, bucket, secs.to_bits());
    }
}

/// Counts a duration of `ticks` in word `bucket` of `block` (a copy in
/// `stripe`) and adds it to word `sum`: a metered call's or a timer's.
#[inline(always)]
pub(crate) fn add_duration(
    block: &[AtomicU64],
    stripe: Stripe,
    bucket: usize,
    sum: usize,
    ticks: u64,
) {
    if let (Some(bucket), Some(sum)) = (block.get(bucket), block.get(sum)) {
        stripe.add(bucket, 1);
        stripe.add(sum, ticks);
    }
}

impl Guard {
    /// Records the call with `result="error"` if `error`, else `"ok"`.
    #[inline(always)]
    pub fn finish(self, error: bool) {
        let (b, start) = (self.bound, self.start);
        std::mem::forget(self);
        // The completing thread's cells, which for a future may not be the
        // entering thread's: a stripe a thread owns has no other writer.
        let stripe = thread_stripe();
        let Some(cells) = b.stripes.get(stripe.index()) else {
            return;
        };
        let block = if error { cells.error } else { cells.ok };
        let series = b.series[error as usize];
        if b.exponential {
            let ticks = b.now().saturating_sub(start);
            return b.record(series, block, stripe, ticks);
        }
        let guess = &cells.guess[error as usize];
        let (bucket, ticks) = b.buckets.guessed(guess, start, || b.now());
        add_duration(block, stripe, bucket, b.buckets.sum_word(), ticks);
        b.exemplar(series, bucket, ticks);
    }
}

impl Drop for Guard {
    #[cold]
    fn drop(&mut self) {
        let ticks = self.ticks();
        let b = self.bound;
        let result = if std::thread::panicking() {
            "panic"
        } else {
            "cancelled"
        };
        let series = b.table.series(&[KeyValue::new("result", result)]);
        let (block, stripe) = series.cells.local_block();
        b.record(series, block, stripe, ticks);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A duration in ticks lands in the bucket its seconds value would.
    #[test]
    fn tick_buckets_agree_with_seconds() {
        let clock = clock();
        // 300 bounds: more than the start table covers.
        let many: Vec<f64> = (1..=300).map(|i| i as f64 * 1e-7).collect();
        let layouts: [&[f64]; 4] = [
            crate::meta::DEFAULT_DURATION_BUCKETS,
            &[-1.0, 0.0, 1e-9, 0.5],
            &[1e300],
            &many,
        ];
        for bounds in layouts {
            let tb = TickBuckets::new(bounds, clock);
            let secs = |t: u64| clock.nanos(t) as f64 * 1e-9;
            let mut ticks: Vec<u64> = vec![0, 1, 2, 3, u64::MAX - 1];
            for &o in tb.over.iter() {
                ticks.extend([o.saturating_sub(1), o, o.saturating_add(1)]);
                ticks.retain(|&t| t != u64::MAX);
            }
            let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
            for _ in 0..20_000 {
                let x = rng.next();
                ticks.push(x >> (x % 64));
            }
            for t in ticks {
                let want = bounds.partition_point(|b| *b < secs(t));
                assert_eq!(tb.find(t), want, "{t} ticks in {bounds:?}");
                // A guess is taken exactly when it is the bucket.
                for g in [0, want, want + 1, want.saturating_sub(1), bounds.len() + 7] {
                    let [lo, hi] = tb.range(g);
                    assert_eq!(lo <= t && t < hi, g == want, "guess {g}, {t} ticks");
                }
            }
        }
    }
}
