//! Atomic cells, striped per thread, in one arena of chunks.
//!
//! Each thread writes one *stripe*. A chunk of the arena holds every
//! stripe's copy of the same word range, stripe after stripe, so a series
//! keeps one pointer (its words in stripe 0) and finds the calling
//! thread's copy at a fixed distance from it: a shift and an add, no load.
//! Two threads adding to one series write words 64 KiB apart (different
//! cache lines, no ping-pong), while the words of different series sit
//! side by side within a stripe (8 bytes per stripe for a counter series,
//! not a padded cache line). The exporter sums a series' words over the
//! stripes.
//!
//! Stripe 0 is shared and written with atomic read-modify-writes; every
//! other stripe is owned by one live thread at a time, which writes it
//! with plain loads and stores (see [`Stripe`]).

use std::cell::Cell;
use std::num::NonZeroU16;
use std::sync::atomic::{
    AtomicPtr, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use std::sync::OnceLock;

/// Words per stripe in one arena chunk (64 KiB).
const CHUNK_WORDS: usize = 1 << 13;
/// Chunks in the arena: up to 32 Mi words (256 MiB) per stripe.
const MAX_CHUNKS: usize = 1 << 12;
/// Most stripes a machine gets.
pub(crate) const MAX_STRIPES: usize = 64;

/// The arena, as a static table of chunk pointers. A chunk holds
/// `CHUNK_WORDS` words for each of the [`stripe_count`] stripes, stripe
/// after stripe, so a series' copy in stripe `s` is `s * CHUNK_WORDS` words
/// after its copy in stripe 0: a series keeps one pointer, and finding the
/// calling thread's copy is a shift and an add, no load. All null at
/// start, so the table sits in `.bss`.
#[allow(clippy::declare_interior_mutable_const)]
static CHUNKS: [AtomicPtr<AtomicU64>; MAX_CHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_CHUNKS];

/// Words of one chunk: every stripe's.
fn chunk_len() -> usize {
    stripe_count() * CHUNK_WORDS
}

/// The chunk at `slot`, allocated by the first caller.
fn chunk(slot: &AtomicPtr<AtomicU64>) -> *mut AtomicU64 {
    let cur = slot.load(Acquire);
    if !cur.is_null() {
        return cur;
    }
    let new = Box::into_raw(zeroed(chunk_len())) as *mut AtomicU64;
    match slot.compare_exchange(std::ptr::null_mut(), new, AcqRel, Acquire) {
        Ok(_) => new,
        Err(winner) => {
            // SAFETY: `new` came from `Box::into_raw` of a `chunk_len()`
            // slice just above and was never shared.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(new, chunk_len())) });
            winner
        }
    }
}

/// The next free word, the same in every stripe.
static NEXT_WORD: AtomicUsize = AtomicUsize::new(0);

/// Where the series go once the arena is full (never in practice: 32 Mi
/// words): one stripe's worth of words that all of them share, so their
/// values mean nothing (a warning says so).
#[allow(clippy::declare_interior_mutable_const)]
static SINK: [AtomicU64; CHUNK_WORDS] = [const { AtomicU64::new(0) }; CHUNK_WORDS];

/// Number of stripes: stripe 0, which threads share, and one for each of
/// up to twice the machine's parallelism threads to own alone; at most
/// [`MAX_STRIPES`].
pub(crate) fn stripe_count() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        (2 * parallelism + 1).clamp(3, MAX_STRIPES)
    })
}

/// The stripe a thread writes, and whether it is the stripe's only writer.
///
/// A thread that owns its stripe adds with a plain load and store (no
/// locked instruction: about a nanosecond, against the 2.5 to 3 ns of a
/// `lock xadd` here). Threads that share stripe 0 add atomically. A stripe
/// changes hands only through [`OWNED`]: the next owner's first load sees
/// the last owner's final store.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Stripe(usize);

impl Stripe {
    /// Stripe 0, written with atomic read-modify-writes by any thread.
    pub(crate) const SHARED: Stripe = Stripe(0);
    /// Not yet assigned (the thread has not recorded).
    const UNSET: Stripe = Stripe(usize::MAX);

    /// The stripe's index, below [`stripe_count`].
    #[inline(always)]
    pub(crate) fn index(self) -> usize {
        self.0 >> 1
    }

    /// Whether the calling thread is this stripe's only writer.
    #[inline(always)]
    pub(crate) fn owned(self) -> bool {
        self.0 & 1 != 0
    }

    /// Stripe `i` as its owner sees it, for tests that write chosen
    /// stripes (and mark them in use, so that readers see them).
    #[cfg(test)]
    pub(crate) fn owned_for_test(i: usize) -> Stripe {
        IN_USE.fetch_max(i + 1, AcqRel);
        Stripe(i << 1 | 1)
    }

    /// Adds `v` (wrapping) to `w`, a word of this stripe.
    #[inline(always)]
    pub(crate) fn add(self, w: &AtomicU64, v: u64) {
        if self.owned() {
            w.store(w.load(Relaxed).wrapping_add(v), Relaxed);
        } else {
            w.fetch_add(v, Relaxed);
        }
    }

    /// Adds `v` to the `f64` stored as bits in `w`, a word of this stripe.
    #[inline(always)]
    pub(crate) fn add_f64(self, w: &AtomicU64, v: f64) {
        if self.owned() {
            w.store((f64::from_bits(w.load(Relaxed)) + v).to_bits(), Relaxed);
        } else {
            add_f64(w, v);
        }
    }
}

/// Bit `i` is set while a thread owns stripe `i` (bit 0, the shared
/// stripe, never is).
static OWNED: AtomicU64 = AtomicU64::new(0);

/// One more than the highest stripe index ever handed out: the stripes
/// above it were never written, and the exporter skips them.
static IN_USE: AtomicUsize = AtomicUsize::new(1);

const _: () = assert!(MAX_STRIPES <= 64);

thread_local! {
    // `const` and no destructor: reading it is a single TLS-relative load.
    static THREAD_STRIPE: Cell<Stripe> = const { Cell::new(Stripe::UNSET) };
    // Registered when the thread takes a stripe of its own: hands the
    // stripe back when the thread exits.
    static RELEASE: Release = const { Release };
}

/// Gives the thread's owned stripe back at thread exit.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let _ = THREAD_STRIPE.try_with(|s| {
            let mine = s.get();
            // Anything the thread records from here on (other thread-local
            // destructors) goes to the shared stripe.
            s.set(Stripe::SHARED);
            if mine.owned() {
                OWNED.fetch_and(!(1u64 << mine.index()), AcqRel);
            }
        });
    }
}

/// The stripe of the calling thread: its own while fewer threads than
/// stripes record, else the shared one.
#[inline(always)]
pub(crate) fn thread_stripe() -> Stripe {
    THREAD_STRIPE
        .try_with(|s| {
            let v = s.get();
            if v != Stripe::UNSET {
                v
            } else {
                assign_stripe(s)
            }
        })
        .unwrap_or(Stripe::SHARED)
}

#[cold]
fn assign_stripe(s: &Cell<Stripe>) -> Stripe {
    // Without a destructor to hand it back, the thread does not take one.
    let stripe = match RELEASE.try_with(|_| ()) {
        Ok(()) => claim().unwrap_or(Stripe::SHARED),
        Err(_) => Stripe::SHARED,
    };
    s.set(stripe);
    stripe
}

/// Takes the lowest free stripe above 0, if any.
fn claim() -> Option<Stripe> {
    let all = u64::MAX >> (64 - stripe_count());
    let mut cur = OWNED.load(Acquire);
    loop {
        let free = all & !cur & !1;
        if free == 0 {
            return None;
        }
        let i = free.trailing_zeros() as usize;
        match OWNED.compare_exchange_weak(cur, cur | 1 << i, AcqRel, Acquire) {
            Ok(_) => {
                IN_USE.fetch_max(i + 1, AcqRel);
                return Some(Stripe(i << 1 | 1));
            }
            Err(seen) => cur = seen,
        }
    }
}

/// `n` zeroed words: `calloc`ed, so their pages cost memory only once
/// written.
fn zeroed(n: usize) -> Box<[AtomicU64]> {
    let words: Box<[u64]> = vec![0u64; n].into_boxed_slice();
    // SAFETY: `AtomicU64` has the same size, alignment and bit validity as
    // `u64` (documented), and the box is uniquely owned.
    unsafe { Box::from_raw(Box::into_raw(words) as *mut [AtomicU64]) }
}

/// The words of one series: `words` consecutive words in every stripe
/// (or only stripe 0 when `single`).
pub(crate) struct Striped {
    /// The series' first word in stripe 0. Its copy in stripe `s` starts
    /// `s * CHUNK_WORDS` words further, for every `s < stripe_count()`
    /// (stripe 0 only when `single`).
    first: *const AtomicU64,
    /// At most one chunk (`CHUNK_WORDS` fits in 16 bits), never zero.
    words: NonZeroU16,
    single: bool,
}

// SAFETY: `first` points into a leaked chunk (or the static sink), never
// freed, and every access through it is atomic.
unsafe impl Send for Striped {}
// SAFETY: as for `Send`.
unsafe impl Sync for Striped {}

const _: () = assert!(CHUNK_WORDS <= u16::MAX as usize);
const _: () = assert!(std::mem::size_of::<Striped>() <= 16);

impl Striped {
    /// Reserves `words` words (at least 1, at most a chunk) in each stripe.
    pub(crate) fn new(words: usize, stripes: usize) -> Self {
        let words = words.clamp(1, CHUNK_WORDS);
        let n = NonZeroU16::new(words as u16).unwrap_or(NonZeroU16::MIN);
        let mut cur = NEXT_WORD.load(Relaxed);
        let base = loop {
            // A series never straddles two chunks.
            let mut start = cur;
            if start % CHUNK_WORDS + words > CHUNK_WORDS {
                start = start.next_multiple_of(CHUNK_WORDS);
            }
            let end = start + words;
            if end > MAX_CHUNKS * CHUNK_WORDS {
                crate::diag::warn_once(
                    "the metric storage arena is full (32 Mi words per stripe); series created \
                     from now on share one sink and their values are meaningless",
                );
                return Striped {
                    first: SINK.as_ptr(),
                    words: n,
                    single: true,
                };
            }
            match NEXT_WORD.compare_exchange_weak(cur, end, Relaxed, Relaxed) {
                Ok(_) => break start,
                Err(seen) => cur = seen,
            }
        };
        let chunk = chunk(&CHUNKS[base / CHUNK_WORDS]);
        Striped {
            // SAFETY: `base % CHUNK_WORDS + words <= CHUNK_WORDS`, inside
            // stripe 0 of a chunk of `chunk_len()` words.
            first: unsafe { chunk.add(base % CHUNK_WORDS) },
            words: n,
            single: stripes <= 1,
        }
    }

    /// Stripe `stripe`'s copy of the words; `stripe` below `stripe_count()`.
    #[inline(always)]
    fn copy(&self, stripe: usize) -> &'static [AtomicU64] {
        // SAFETY: the series' `words` words in stripe `stripe` of its chunk,
        // or in the sink (which has one stripe; a sink series is `single`,
        // so it is read at stripe 0 only). Both live as long as the
        // program; callers keep `stripe < stripe_count()`, and 0 when
        // `single`.
        unsafe {
            std::slice::from_raw_parts(
                self.first.add(stripe * CHUNK_WORDS),
                self.words.get() as usize,
            )
        }
    }

    /// The calling thread's copy of all the words, found once for several
    /// writes (a histogram's bucket and sum), and how to write it.
    #[inline(always)]
    pub(crate) fn local_block(&self) -> (&'static [AtomicU64], Stripe) {
        let stripe = self.local_stripe();
        // A `Stripe`'s index is below `stripe_count()`.
        (self.copy(stripe.index()), stripe)
    }

    /// The stripe the calling thread writes this series' words in.
    #[inline(always)]
    fn local_stripe(&self) -> Stripe {
        if self.single {
            Stripe::SHARED
        } else {
            thread_stripe()
        }
    }

    /// Stripe `stripe`'s copy of all the words, resolved once so that a
    /// caller can keep it (metered call sites keep one per stripe). Stripe
    /// 0's for a stripe beyond [`stripe_count`].
    pub(crate) fn block(&self, stripe: usize) -> &'static [AtomicU64] {
        self.copy(self.checked(stripe))
    }

    /// `stripe` if this series has it, else 0.
    fn checked(&self, stripe: usize) -> usize {
        if self.single || stripe >= stripe_count() {
            0
        } else {
            stripe
        }
    }

    /// Adds `v` (wrapping) to word `i`, in the calling thread's stripe.
    #[inline(always)]
    pub(crate) fn add(&self, i: usize, v: u64) {
        let stripe = self.local_stripe();
        match self.copy(stripe.index()).get(i) {
            Some(w) => stripe.add(w, v),
            None => Stripe::SHARED.add(&SINK[0], v),
        }
    }

    /// Word `i` of stripe `s` (the sink's first word past the last word).
    #[inline]
    pub(crate) fn at(&self, s: usize, i: usize) -> &AtomicU64 {
        self.copy(self.checked(s)).get(i).unwrap_or(&SINK[0])
    }

    /// The stripes that may hold values (the rest were never written).
    pub(crate) fn stripes(&self) -> usize {
        if self.single {
            1
        } else {
            IN_USE.load(Acquire).min(stripe_count())
        }
    }

    pub(crate) fn words(&self) -> usize {
        self.words.get() as usize
    }

    /// Whether these are the sink's words (the arena was full).
    pub(crate) fn is_sink(&self) -> bool {
        std::ptr::eq(self.first, SINK.as_ptr())
    }

    /// Sum of word `i` over all stripes (wrapping, so signed values that were
    /// stored as two's complement come back right).
    pub(crate) fn sum_u64(&self, i: usize) -> u64 {
        (0..self.stripes()).fold(0u64, |acc, s| acc.wrapping_add(self.at(s, i).load(Relaxed)))
    }

    /// Sum over all stripes of word `i` holding `f64` bits.
    pub(crate) fn sum_f64(&self, i: usize) -> f64 {
        (0..self.stripes()).fold(0.0, |acc, s| {
            acc + f64::from_bits(self.at(s, i).load(Relaxed))
        })
    }

    /// Heap bytes of the words in every stripe.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words() * 8 * stripe_count()
    }
}

/// Whether `block` is the sink's words (shared by every series created
/// once the arena was full, so they hold anything).
pub(crate) fn is_sink(block: &[AtomicU64]) -> bool {
    std::ptr::eq(block.as_ptr(), SINK.as_ptr())
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
        let s = std::sync::Arc::new(Striped::new(3, stripe_count()));
        // More threads than stripes of their own: some share stripe 0.
        let handles: Vec<_> = (0..2 * MAX_STRIPES)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        s.add(1, 1);
                        let (block, stripe) = s.local_block();
                        stripe.add_f64(&block[2], 0.5);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(s.sum_u64(1), 2000 * MAX_STRIPES as u64);
        assert_eq!(s.sum_u64(0), 0);
        assert_eq!(s.sum_f64(2), 1000.0 * MAX_STRIPES as f64);
    }

    #[test]
    fn threads_own_distinct_stripes_and_hand_them_back() {
        // Two live threads never own the same stripe.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let s = thread_stripe();
                    barrier.wait();
                    s
                })
            })
            .collect();
        let both: Vec<Stripe> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        if both[0].owned() && both[1].owned() {
            assert_ne!(both[0], both[1]);
        }
        // Threads one after another: without the hand-back at exit, at
        // most `stripe_count() - 1` of them could own a stripe.
        let owners = (0..10 * stripe_count())
            .filter(|_| {
                std::thread::spawn(|| thread_stripe().owned())
                    .join()
                    .unwrap()
            })
            .count();
        assert!(owners >= stripe_count(), "{owners} owners");
        assert_eq!(OWNED.load(Acquire) & 1, 0, "stripe 0 is never owned");
    }

    #[test]
    fn an_owned_stripe_keeps_the_last_owners_values() {
        let s = std::sync::Arc::new(Striped::new(1, stripe_count()));
        for _ in 0..50 {
            let s = s.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    s.add(0, 1);
                }
            })
            .join()
            .unwrap();
        }
        assert_eq!(s.sum_u64(0), 5000);
    }

    #[test]
    fn blocks_do_not_overlap_or_straddle_chunks() {
        let a = Striped::new(5, 2);
        // A whole chunk's worth starts a chunk, whatever other tests
        // reserved meanwhile.
        let b = Striped::new(CHUNK_WORDS, 2);
        let c = Striped::new(1, 1);
        a.at(0, 4).store(7, Relaxed);
        b.at(0, 0).store(9, Relaxed);
        assert_eq!(a.at(0, 4).load(Relaxed), 7);
        assert_eq!(b.at(0, 0).load(Relaxed), 9);
        let chunk_starts: Vec<*const AtomicU64> = CHUNKS
            .iter()
            .map(|c| c.load(Acquire).cast_const())
            .collect();
        assert!(chunk_starts.contains(&b.first), "b starts a chunk");
        assert_eq!(c.stripes(), 1);
        assert_eq!(c.at(0, 0).load(Relaxed), 0);
    }
}
