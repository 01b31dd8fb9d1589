//! Exemplars: per series, the last measurement made inside a sampled span
//! (with an explicit-bucket histogram, the last one per bucket), as the
//! OpenTelemetry SDK specification's default reservoirs keep them
//! (`SimpleFixedSizeExemplarReservoir` of size 1 for sums and exponential
//! histograms, `AlignedHistogramBucketExemplarReservoir` for explicit
//! buckets).
//!
//! A record reaches this module only past one branch on a thread-local
//! flag ([`crate::span::may_offer`]), taken when the thread is inside a
//! sampled span (or the filter is `always_on`). The reservoir of a series
//! is allocated by its first exemplar, so that a series that never sees
//! one costs a null pointer.
//!
//! Each slot is six atomic words guarded by a sequence word: a writer
//! claims the slot (a compare-exchange that sets the busy bit), writes,
//! and publishes with the fresh bit; a concurrent writer skips the slot
//! rather than wait (the reservoir keeps one of the two, as a sampled
//! reservoir may). The exporter takes a fresh slot by clearing its fresh
//! bit, and keeps what it read only if no writer came in between: an
//! exemplar is sent once, at the export after it was recorded.

use super::table::Series;
use crate::span::SpanIds;
use std::sync::atomic::{
    fence, AtomicPtr, AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

/// Set while a writer fills the slot.
const BUSY: u64 = 1;
/// Set when the slot holds an exemplar the exporter has not taken.
const FRESH: u64 = 2;
/// The sequence's step per write (above the two flag bits).
const STEP: u64 = 4;

#[derive(Default)]
struct Slot {
    seq: AtomicU64,
    /// The measurement's bits: an `f64`'s, or a sum's `u64`/`i64`.
    value: AtomicU64,
    time_ns: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
}

/// One exemplar as read from a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Which slot: a histogram's bucket, 0 otherwise.
    pub(crate) slot: usize,
    /// The measurement's bits, as [`offer`] was given them.
    pub(crate) value: u64,
    pub(crate) time_ns: u64,
    /// The span's ids; `None` for a record outside any sampled span
    /// (offered under `always_on`).
    pub(crate) span: Option<SpanIds>,
}

/// The slots of one series.
pub(crate) struct Reservoir {
    slots: Box<[Slot]>,
}

impl Reservoir {
    fn new(n: usize) -> Reservoir {
        Reservoir {
            slots: (0..n.max(1)).map(|_| Slot::default()).collect(),
        }
    }

    /// Writes an exemplar into slot `i`, unless another writer holds it.
    fn put(&self, i: usize, value: u64, time_ns: u64, span: Option<SpanIds>) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let s = slot.seq.load(Relaxed);
        if s & BUSY != 0
            || slot
                .seq
                .compare_exchange(s, s | BUSY, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        // The fields' stores stay after the claim.
        fence(Release);
        let (hi, lo, id) = match span {
            Some(ids) => {
                let t = u128::from_be_bytes(ids.trace);
                ((t >> 64) as u64, t as u64, u64::from_be_bytes(ids.span))
            }
            None => (0, 0, 0),
        };
        slot.value.store(value, Relaxed);
        slot.time_ns.store(time_ns, Relaxed);
        slot.trace_hi.store(hi, Relaxed);
        slot.trace_lo.store(lo, Relaxed);
        slot.span.store(id, Relaxed);
        slot.seq
            .store(((s & !(BUSY | FRESH)) + STEP) | FRESH, Release);
    }

    /// Takes every fresh exemplar, in slot order, into `out`.
    fn take(&self, out: &mut Vec<Taken>) {
        for (i, slot) in self.slots.iter().enumerate() {
            let s = slot.seq.load(Acquire);
            if s & (BUSY | FRESH) != FRESH {
                continue;
            }
            let (value, time_ns) = (slot.value.load(Relaxed), slot.time_ns.load(Relaxed));
            let (hi, lo, id) = (
                slot.trace_hi.load(Relaxed),
                slot.trace_lo.load(Relaxed),
                slot.span.load(Relaxed),
            );
            // The fields' loads stay before the check that no writer came.
            fence(Acquire);
            if slot
                .seq
                .compare_exchange(s, s & !FRESH, AcqRel, Relaxed)
                .is_err()
            {
                // A writer is at it: its exemplar is taken next time.
                continue;
            }
            let span = (id != 0).then(|| SpanIds {
                trace: ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes(),
                span: id.to_be_bytes(),
            });
            out.push(Taken {
                slot: i,
                value,
                time_ns,
                span,
            });
        }
    }

    /// Heap bytes of the slots.
    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Reservoir>() + self.slots.len() * std::mem::size_of::<Slot>()
    }
}

/// A series' reservoir pointer: null until its first exemplar.
#[derive(Default)]
pub(crate) struct Exemplars(AtomicPtr<Reservoir>);

impl Exemplars {
    fn get(&self) -> Option<&Reservoir> {
        // SAFETY: a non-null pointer was published (Release, read here with
        // Acquire) by `get_or_alloc` from `Box::into_raw`, and is freed
        // only by `Drop`, which has `&mut self`.
        unsafe { self.0.load(Acquire).as_ref() }
    }

    fn get_or_alloc(&self, n: usize) -> &Reservoir {
        if let Some(r) = self.get() {
            return r;
        }
        let fresh = Box::into_raw(Box::new(Reservoir::new(n)));
        match self
            .0
            .compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            // SAFETY: just published, freed only by `Drop`.
            Ok(_) => unsafe { &*fresh },
            Err(theirs) => {
                // SAFETY: `fresh` was never shared; `theirs` was published
                // by another thread's successful exchange.
                unsafe {
                    drop(Box::from_raw(fresh));
                    &*theirs
                }
            }
        }
    }

    /// Heap bytes of the reservoir, if it was allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.get().map_or(0, Reservoir::heap_bytes)
    }
}

impl Drop for Exemplars {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: published from `Box::into_raw`, and nothing else can
            // hold it now.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// Offers the measurement `value` (its bits) to slot `i` of the `slots`
/// slots of `series`, if this thread's records offer exemplars now; the
/// branch taken once [`crate::span::may_offer`] said they may.
#[cold]
#[inline(never)]
pub(crate) fn offer(series: &Series, slots: usize, i: usize, value: u64) {
    let Some(span) = crate::span::offered() else {
        return;
    };
    series
        .exemplars
        .get_or_alloc(slots)
        .put(i, value, crate::clock::wall_ns_fast(), span);
}

/// Offers a sum's measurement (`value`'s bits) as the series' exemplar:
/// one branch on a thread-local flag outside a sampled span.
#[inline(always)]
pub(crate) fn sum(series: &Series, value: u64) {
    if crate::span::may_offer() {
        offer(series, 1, 0, value);
    }
}

/// Offers a histogram's measurement `value` to the exemplar slot of its
/// bucket `i` (of `buckets`; an exponential histogram has one slot).
#[inline(always)]
pub(crate) fn histogram(series: &Series, buckets: usize, i: usize, value: f64) {
    if crate::span::may_offer() {
        offer(series, buckets, i, value.to_bits());
    }
}

/// Takes the series' fresh exemplars into `out`.
pub(crate) fn take(series: &Series, out: &mut Vec<Taken>) {
    if let Some(r) = series.exemplars.get() {
        r.take(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u8) -> SpanIds {
        SpanIds {
            trace: [n; 16],
            span: [n + 1; 8],
        }
    }

    #[test]
    fn the_last_exemplar_per_slot_is_taken_once() {
        let r = Reservoir::new(3);
        r.put(0, 1, 10, Some(ids(1)));
        r.put(0, 2, 20, Some(ids(2)));
        r.put(2, 3, 30, None);
        r.put(7, 4, 40, None);
        let mut out = Vec::new();
        r.take(&mut out);
        assert_eq!(
            out,
            [
                Taken {
                    slot: 0,
                    value: 2,
                    time_ns: 20,
                    span: Some(ids(2))
                },
                Taken {
                    slot: 2,
                    value: 3,
                    time_ns: 30,
                    span: None
                },
            ]
        );
        out.clear();
        r.take(&mut out);
        assert!(out.is_empty());
        r.put(1, 5, 50, Some(ids(5)));
        r.take(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].slot, out[0].value, out[0].span),
            (1, 5, Some(ids(5)))
        );
    }

    #[test]
    fn a_busy_slot_is_skipped_by_writers_and_the_reader() {
        let r = Reservoir::new(1);
        r.put(0, 1, 10, Some(ids(1)));
        let s = r.slots[0].seq.load(Relaxed);
        r.slots[0].seq.store(s | BUSY, Relaxed);
        r.put(0, 2, 20, Some(ids(2)));
        let mut out = Vec::new();
        r.take(&mut out);
        assert!(out.is_empty());
        r.slots[0].seq.store(s, Relaxed);
        r.take(&mut out);
        assert_eq!(out[0].value, 1);
    }

    #[test]
    fn concurrent_writers_leave_whole_exemplars() {
        let r = std::sync::Arc::new(Reservoir::new(1));
        let writers: Vec<_> = (1..=4u8)
            .map(|n| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        // Every field of writer n's exemplar says n.
                        r.put(0, u64::from(n), u64::from(n), Some(ids(n)));
                    }
                })
            })
            .collect();
        let mut seen = 0;
        let mut out = Vec::new();
        while writers.iter().any(|w| !w.is_finished()) {
            out.clear();
            r.take(&mut out);
            for t in &out {
                let n = t.value as u8;
                assert_eq!((t.time_ns, t.span), (t.value, Some(ids(n))));
                seen += 1;
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        out.clear();
        r.take(&mut out);
        seen += out.len();
        assert!(seen >= 1);
    }
}
