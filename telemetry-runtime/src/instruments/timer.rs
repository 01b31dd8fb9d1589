//! `declare_static_timer!`: Monarch's timer, a histogram of durations in
//! whole milliseconds, microseconds or nanoseconds, named `{name}.{unit}`.
//!
//! A timer reads the clock `#[metered]` reads (the TSC where it is
//! reliable) and keeps the duration in raw ticks: its bucket bounds are
//! converted to tick counts once, so a record does no conversion and no
//! floating-point work, and the sum word adds ticks, which the exporter
//! turns into the timer's unit.

use crate::clock::{clock, Clock};
use crate::meta::Metadata;
use crate::metered::{add_duration as add, TickBuckets};
use crate::registry::Instrument;
use crate::storage::cells::stripe_count;
use crate::storage::exemplars;
use crate::storage::exponential;
use crate::storage::table::{Series, Table};
use opentelemetry::KeyValue;
use std::sync::atomic::AtomicUsize;
use std::sync::OnceLock;
use std::time::Duration;

/// The unit of a [`Timer`]: its values are whole units, and its name ends
/// in `.ms`, `.us` or `.ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Milliseconds (`ms`).
    Millis,
    /// Microseconds (`us`).
    Micros,
    /// Nanoseconds (`ns`).
    Nanos,
}

impl TimeUnit {
    /// `ms`, `us` or `ns`: the timer's unit and the end of its name.
    ///
    /// ```
    /// assert_eq!(telemetry_runtime::TimeUnit::Micros.as_str(), "us");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            TimeUnit::Millis => "ms",
            TimeUnit::Micros => "us",
            TimeUnit::Nanos => "ns",
        }
    }

    /// Nanoseconds in one unit.
    pub const fn nanos(&self) -> u64 {
        match self {
            TimeUnit::Millis => 1_000_000,
            TimeUnit::Micros => 1_000,
            TimeUnit::Nanos => 1,
        }
    }

    /// The unit of a timer's metadata (`ms`, `us`; anything else is `ns`).
    const fn from_unit(unit: &str) -> TimeUnit {
        match unit.as_bytes() {
            b"ms" => TimeUnit::Millis,
            b"us" => TimeUnit::Micros,
            _ => TimeUnit::Nanos,
        }
    }
}

/// A histogram of durations, declared with
/// [`declare_static_timer!`](crate::declare_static_timer): `start` returns a guard that records the
/// time until it is dropped, `record` takes a measured [`Duration`].
///
/// Exported like Monarch's: an integer histogram named `{name}.{unit}`
/// with unit `ms`, `us` or `ns`, values in whole units, OpenTelemetry's
/// default buckets (unless `buckets = [..]` is given). A duration of
/// 5.7 ms on a millisecond timer is the value 5. The sum is the exact
/// total of the durations, in the unit.
///
/// ```
/// use telemetry_runtime::{declare_static_timer, kv_pairs, TimeUnit};
/// use std::time::Duration;
///
/// declare_static_timer!(HANDLER, "doc.handler_duration", TimeUnit::Micros);
///
/// {
///     let _timer = HANDLER.start(kv_pairs!("handler" => "ping"));
///     // .. the work; the guard records when it goes out of scope.
/// }
/// HANDLER.record(Duration::from_micros(250), kv_pairs!("handler" => "ping"));
/// assert_eq!(HANDLER.metadata().name, "doc.handler_duration.us");
/// assert_eq!(HANDLER.metadata().unit, "us");
/// let s = telemetry_runtime::snapshot();
/// let (count, _sum) = s.histogram("doc.handler_duration.us", &[("handler", "ping")]).unwrap();
/// assert_eq!(count, 2);
/// ```
pub struct Timer {
    inner: Instrument,
    unit: TimeUnit,
    /// The bucket bounds in ticks, computed at the first record.
    buckets: OnceLock<TimerBuckets>,
}

struct TimerBuckets {
    ticks: TickBuckets,
    /// Ticks in one nanosecond, for [`Timer::record`].
    ticks_per_nano: f64,
    clock: &'static Clock,
    /// Per stripe, the bucket of the last duration recorded there: the
    /// guess of the next one, loaded before the clock is read (as
    /// `#[metered]` does), so that on a right guess the bucket's address
    /// does not wait for the clock.
    guess: Box<[Guess]>,
}

/// One stripe's guess, on a cache line of its own.
#[repr(align(64))]
#[derive(Default)]
struct Guess(AtomicUsize);

impl Timer {
    #[doc(hidden)]
    pub const fn __new(meta: Metadata) -> Self {
        let unit = TimeUnit::from_unit(meta.unit);
        Timer {
            inner: Instrument::ticks_histogram_in(meta, unit.nanos()),
            unit,
            buckets: OnceLock::new(),
        }
    }

    #[doc(hidden)]
    pub const fn __instrument(&'static self) -> &'static Instrument {
        &self.inner
    }

    /// What was declared: the full name (`{name}.{unit}`), unit, buckets.
    pub fn metadata(&self) -> &Metadata {
        self.inner.metadata()
    }

    /// The timer's unit.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    #[inline(always)]
    fn buckets(&self) -> &TimerBuckets {
        self.buckets.get_or_init(|| {
            let clock = clock();
            let per = self.unit.nanos();
            // Whole units, as Monarch records them: the value of `t` ticks.
            let ticks = TickBuckets::with_value(self.inner.metadata().buckets, |t| {
                (clock.nanos(t) / per) as f64
            });
            let probe = 1u64 << 40;
            let ticks_per_nano = probe as f64 / clock.nanos(probe).max(1) as f64;
            TimerBuckets {
                ticks,
                ticks_per_nano,
                clock,
                guess: (0..stripe_count()).map(|_| Guess::default()).collect(),
            }
        })
    }

    /// Starts timing: the returned guard records the time from now until
    /// it is dropped, in the series of `attributes`.
    #[inline]
    pub fn start(&self, attributes: &[KeyValue]) -> TimerGuard<'_> {
        let table = self.inner.table();
        let series = table.series(attributes);
        let buckets = self.buckets();
        TimerGuard {
            timer: self,
            table,
            series,
            start: buckets.clock.raw(),
        }
    }

    /// Records a duration measured elsewhere.
    pub fn record(&self, duration: Duration, attributes: &[KeyValue]) {
        let table = self.inner.table();
        let series = table.series(attributes);
        let b = self.buckets();
        // At most 2^53 ns (104 days) per record, so that no record can wrap
        // the sum word of ticks.
        let nanos = duration.as_nanos().min(MAX_RECORD_NANOS as u128) as u64;
        let value = (nanos / self.unit.nanos()) as f64;
        let ticks = (nanos as f64 * b.ticks_per_nano).round() as u64;
        let (block, stripe) = series.cells.local_block();
        if table.exponential {
            add_exponential(block, stripe, value, ticks);
            return exemplars::histogram(series, 1, 0, value);
        }
        let bounds = self.inner.metadata().buckets;
        let bucket = bounds.partition_point(|x| *x < value);
        add(block, stripe, bucket, b.ticks.sum_word(), ticks);
        exemplars::histogram(series, bounds.len() + 1, bucket, value);
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("name", &self.inner.metadata().name)
            .finish_non_exhaustive()
    }
}

/// Counts a duration of `value` units (`ticks` clock ticks) in an
/// exponential histogram's `block`, a copy in `stripe`.
#[inline(always)]
fn add_exponential(
    block: &[std::sync::atomic::AtomicU64],
    stripe: crate::storage::cells::Stripe,
    value: f64,
    ticks: u64,
) {
    exponential::count(block, stripe, value);
    if let Some(sum) = block.get(exponential::SUM) {
        stripe.add(sum, ticks);
    }
}

/// The longest duration one [`Timer::record`] adds to the sum: 2^53 ns,
/// about 104 days.
const MAX_RECORD_NANOS: u64 = 1 << 53;

/// Times from [`Timer::start`] until it is dropped, then records.
#[must_use = "the guard records when dropped; dropping it at once times nothing"]
pub struct TimerGuard<'a> {
    timer: &'a Timer,
    table: &'static Table,
    series: &'static Series,
    start: u64,
}

impl TimerGuard<'_> {
    /// The time elapsed since `start`, so far.
    pub fn elapsed(&self) -> Duration {
        let b = self.timer.buckets();
        Duration::from_nanos(b.clock.nanos(b.clock.raw().saturating_sub(self.start)))
    }
}

impl Drop for TimerGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Initialised by `start`.
        let b = self.timer.buckets();
        // This (completing) thread's stripe: a guard may move threads.
        let (block, stripe) = self.series.cells.local_block();
        if self.table.exponential {
            let ticks = b.clock.raw().saturating_sub(self.start);
            let value = (b.clock.nanos(ticks) / self.timer.unit.nanos()) as f64;
            add_exponential(block, stripe, value, ticks);
            return exemplars::histogram(self.series, 1, 0, value);
        }
        // A stripe's index is below `stripe_count()`, the number of
        // guesses; a stripe beyond them would search every time.
        let (bucket, ticks) = match b.guess.get(stripe.index()) {
            Some(Guess(guess)) => b.ticks.guessed(guess, self.start, || b.clock.raw()),
            None => {
                let ticks = b.clock.raw().saturating_sub(self.start);
                (b.ticks.find(ticks), ticks)
            }
        };
        add(block, stripe, bucket, b.ticks.sum_word(), ticks);
        if crate::span::may_offer() {
            self.exemplar(bucket, ticks);
        }
    }
}

impl TimerGuard<'_> {
    /// Offers the timed duration of `ticks` in `bucket` as an exemplar.
    #[cold]
    #[inline(never)]
    fn exemplar(&self, bucket: usize, ticks: u64) {
        let b = self.timer.buckets();
        let value = (b.clock.nanos(ticks) / self.timer.unit.nanos()) as f64;
        let slots = self.table.meta.buckets.len() + 1;
        exemplars::offer(self.series, slots, bucket, value.to_bits());
    }
}

impl std::fmt::Debug for TimerGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerGuard")
            .field("timer", &self.timer.inner.metadata().name)
            .finish_non_exhaustive()
    }
}
