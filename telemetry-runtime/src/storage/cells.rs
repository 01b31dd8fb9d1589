//! Cache-line padded atomic cells, striped per thread.
//!
//! A series keeps one *stripe* of cells per group of threads. Each thread
//! always writes the same stripe, so two threads adding to the same series
//! touch different cache lines and do not bounce one line between cores.
//! The exporter sums the stripes when it reads.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// Atomic words in one cache line.
pub(crate) const LINE_WORDS: usize = 8;

/// One 64-byte cache line of atomic words.
#[repr(align(64))]
#[derive(Default)]
pub(crate) struct Line(pub(crate) [AtomicU64; LINE_WORDS]);

/// Number of stripes each striped series has: the machine's parallelism
/// rounded up to a power of two, at most 16.
pub(crate) fn stripe_count() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .next_power_of_two()
            .min(16)
    })
}

thread_local! {
    // `const` and no destructor: reading it is a single TLS-relative load.
    static THREAD_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The stripe of the calling thread: threads are numbered round-robin as
/// they first record, so the first N threads of a process get distinct
/// stripes.
#[inline(always)]
pub(crate) fn thread_stripe() -> usize {
    THREAD_STRIPE
        .try_with(|s| {
            let v = s.get();
            if v != usize::MAX {
                v
            } else {
                assign_stripe(s)
            }
        })
        .unwrap_or(0)
}

#[cold]
fn assign_stripe(s: &Cell<usize>) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let v = NEXT.fetch_add(1, Relaxed);
    s.set(v);
    v
}

/// A block of striped atomic words: `stripes` copies of `words` words,
/// each copy starting on its own cache line.
pub(crate) struct Striped {
    lines: Box<[Line]>,
    /// Words per stripe, rounded up to whole lines.
    stride: usize,
    mask: usize,
    words: usize,
}

impl Striped {
    pub(crate) fn new(words: usize, stripes: usize) -> Self {
        debug_assert!(stripes.is_power_of_two());
        let lines_per_stripe = words.div_ceil(LINE_WORDS).max(1);
        let lines = (0..lines_per_stripe * stripes)
            .map(|_| Line::default())
            .collect();
        Striped {
            lines,
            stride: lines_per_stripe * LINE_WORDS,
            mask: stripes - 1,
            words,
        }
    }

    /// The calling thread's copy of word `i`.
    #[inline(always)]
    pub(crate) fn local(&self, i: usize) -> &AtomicU64 {
        let w = (thread_stripe() & self.mask) * self.stride + i;
        &self.lines[w / LINE_WORDS].0[w % LINE_WORDS]
    }

    /// Word `i` of stripe `s`.
    #[inline]
    pub(crate) fn at(&self, s: usize, i: usize) -> &AtomicU64 {
        let w = s * self.stride + i;
        &self.lines[w / LINE_WORDS].0[w % LINE_WORDS]
    }

    pub(crate) fn stripes(&self) -> usize {
        self.mask + 1
    }

    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// Sum of word `i` over all stripes (wrapping, so signed values that were
    /// stored as two's complement come back right).
    pub(crate) fn sum_u64(&self, i: usize) -> u64 {
        (0..self.stripes()).fold(0u64, |acc, s| acc.wrapping_add(self.at(s, i).load(Relaxed)))
    }

    /// Sum of word `i`, read as `f64` bits, over all stripes.
    pub(crate) fn sum_f64(&self, i: usize) -> f64 {
        (0..self.stripes()).fold(0.0, |acc, s| {
            acc + f64::from_bits(self.at(s, i).load(Relaxed))
        })
    }

    /// Bytes of memory the cells take.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.lines.len() * std::mem::size_of::<Line>()
    }
}

/// Adds `v` to an `f64` stored as bits in `cell`.
#[inline(always)]
pub(crate) fn add_f64(cell: &AtomicU64, v: f64) {
    let mut cur = cell.load(Relaxed);
    loop {
        let new = (f64::from_bits(cur) + v).to_bits();
        match cell.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(seen) => cur = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_sum_across_threads() {
        let s = std::sync::Arc::new(Striped::new(3, 4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        s.local(1).fetch_add(1, Relaxed);
                        add_f64(s.local(2), 0.5);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(s.sum_u64(1), 4000);
        assert_eq!(s.sum_u64(0), 0);
        assert_eq!(s.sum_f64(2), 2000.0);
    }

    #[test]
    fn stripes_start_on_their_own_line() {
        let s = Striped::new(9, 2);
        let a = s.at(0, 0) as *const _ as usize;
        let b = s.at(1, 0) as *const _ as usize;
        assert_eq!(b - a, 128);
        assert_eq!(a % 64, 0);
    }
}
