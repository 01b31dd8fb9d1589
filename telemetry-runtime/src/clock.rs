//! The process's clocks: wall-clock nanoseconds for timestamps, and the
//! raw tick counter (the TSC where it is invariant) that `#[metered]`
//! functions and timers read twice per call.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, by the wall clock (0 before it).
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The wall clock's lead over [`Clock::nanos`] of the raw clock, in
/// nanoseconds, taken by [`anchor_wall_clock`]; 0 until then.
static WALL_OFFSET: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds since the Unix epoch, read from the TSC where the process
/// clock is the TSC (a few nanoseconds, against a `clock_gettime`), plus
/// the offset to the wall clock taken at the last export, so that the two
/// drift apart by at most what one export interval accumulates. For
/// exemplars' timestamps. [`now_ns`] elsewhere, and before the first
/// anchor.
pub(crate) fn wall_ns_fast() -> u64 {
    let offset = WALL_OFFSET.load(Relaxed);
    match CLOCK.get() {
        Some(c) if c.tsc && offset != 0 => c.nanos(c.raw()).wrapping_add(offset),
        _ => now_ns(),
    }
}

/// Takes the offset [`wall_ns_fast`] adds to the TSC again: once per
/// export, from the export thread.
pub(crate) fn anchor_wall_clock() {
    let c = clock();
    if c.tsc {
        let raw = c.nanos(c.raw());
        let wall = now_ns();
        WALL_OFFSET.store(wall.wrapping_sub(raw).max(1), Relaxed);
    }
}

/// The process's clock: the TSC where `quanta` found it invariant and
/// calibrated it, the OS monotonic clock otherwise.
pub(crate) struct Clock {
    quanta: quanta::Clock,
    /// Whether `quanta` reads the TSC, which is then read here inline
    /// (`quanta::Clock::raw` is an outlined call that matches on the
    /// clock's kind).
    pub(crate) tsc: bool,
}

impl Clock {
    fn new() -> Clock {
        let quanta = quanta::Clock::new();
        Clock {
            tsc: Self::quanta_reads_tsc(&quanta),
            quanta,
        }
    }

    /// Whether `quanta`'s raw ticks are the TSC: a TSC read lies between
    /// two of its reads. (The monotonic clock counts nanoseconds since
    /// boot, the TSC its own ticks since reset: they never interleave.)
    fn quanta_reads_tsc(quanta: &quanta::Clock) -> bool {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            let before = quanta.raw();
            let tsc = Self::rdtsc();
            let after = quanta.raw();
            before <= tsc && tsc <= after
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            let _ = quanta;
            false
        }
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    pub(crate) fn rdtsc() -> u64 {
        // SAFETY: `rdtsc` exists on every x86-64 processor and has no
        // memory effects.
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_rdtsc()
        }
    }

    /// Raw ticks now.
    #[inline(always)]
    pub(crate) fn raw(&self) -> u64 {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        if self.tsc {
            return Self::rdtsc();
        }
        self.quanta.raw()
    }

    /// Nanoseconds in `ticks`.
    pub(crate) fn nanos(&self, ticks: u64) -> u64 {
        self.quanta.delta_as_nanos(0, ticks)
    }
}

pub(crate) fn clock() -> &'static Clock {
    CLOCK.get_or_init(Clock::new)
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// One read of the clock `#[metered]` functions use: the reference of the
/// benchmarks. Not a public API.
#[doc(hidden)]
#[inline(always)]
pub fn clock_ticks() -> u64 {
    clock().raw()
}

/// Units of `unit_nanos` nanoseconds in `ticks` of the process's clock:
/// the sum of a metered duration histogram (in seconds) or of a timer, at
/// export.
pub(crate) fn ticks_to_unit(ticks: u64, unit_nanos: u64) -> f64 {
    match CLOCK.get() {
        Some(c) => c.nanos(ticks) as f64 / unit_nanos as f64,
        // No call site was ever used, so no tick was recorded.
        None => 0.0,
    }
}
