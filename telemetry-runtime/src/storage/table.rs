//! The series of one instrument: a fixed-size, insert-only, open-addressing
//! table whose lookups are lock-free (one atomic load per probe).
//!
//! Series are never removed: temporality is cumulative in storage and a
//! series lives as long as the program. The table holds at most the
//! instrument's cardinality limit of series; past it, new attribute sets
//! are recorded into one overflow series labelled
//! `otel_metric_overflow="true"`, and a warning is printed once.

use super::attrs::{fingerprint, hash_set, list_eq, probe_list_eq, probe_set_eq, Probe};
use super::cells::{stripe_count, thread_stripe, Striped};
use super::normalise::normalise;
use crate::diag;
use crate::meta::{InstrumentKind, Metadata};
use opentelemetry::KeyValue;
use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::OnceLock;

/// Attribute sets an instrument keeps before it overflows, unless its
/// declaration says otherwise.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;

/// One time series: an attribute set and its striped cells.
pub(crate) struct Series {
    /// Normalised attributes (sorted, deduplicated, truncated), for export.
    pub(crate) attrs: Box<[KeyValue]>,
    /// The attributes exactly as first given, in their order, when
    /// normalising changed them or their order (lookups compare against
    /// what callers pass). Boxed twice: one word in the header.
    #[allow(clippy::redundant_allocation)]
    pub(crate) raw: Option<Box<Box<[KeyValue]>>>,
    /// The attributes as first given, flattened for the comparisons of
    /// every lookup (see [`Probe`]); they point into `attrs` or `raw`.
    probes: Box<[Probe]>,
    hash: u64,
    /// When the series was created (its first record), in Unix
    /// nanoseconds: the start time of its cumulative points, since it was
    /// zero until then. Read once per series creation (a slow path), never
    /// per record.
    pub(crate) start_ns: u64,
    pub(crate) cells: Striped,
    /// Measurements made inside sampled spans, for export as exemplars.
    pub(crate) exemplars: super::exemplars::Exemplars,
}

impl Series {
    /// The series of `given` in a table of `words` words on `stripes`
    /// stripes; `histogram` for a histogram's (whose `le` is reserved).
    fn new(given: &[KeyValue], hash: u64, words: usize, stripes: usize, histogram: bool) -> Self {
        let attrs = normalise(given, histogram).into_boxed_slice();
        let raw = if list_eq(&attrs, given) {
            None
        } else {
            Some(Box::new(given.to_vec().into_boxed_slice()))
        };
        // The probes point into the boxed lists, whose heap memory stays
        // where it is when the boxes move into the series.
        let probes = raw
            .as_deref()
            .map_or(&*attrs, |r| &**r)
            .iter()
            .map(Probe::of)
            .collect();
        Series {
            attrs,
            raw,
            probes,
            hash,
            start_ns: crate::clock::now_ns(),
            cells: Striped::new(words, stripes),
            exemplars: Default::default(),
        }
    }

    #[inline]
    fn matches(&self, hash: u64, given: &[KeyValue]) -> bool {
        self.hash == hash && self.same(given)
    }

    #[inline(always)]
    fn same(&self, given: &[KeyValue]) -> bool {
        probe_set_eq(&self.probes, self.given(), given)
    }

    /// Whether `given` lists the attributes in the order of their first
    /// record: [`same`](Self::same) without its search for other orders.
    #[inline(always)]
    fn same_list(&self, given: &[KeyValue]) -> bool {
        probe_list_eq(&self.probes, given)
    }

    /// The attributes as first given.
    #[inline(always)]
    fn given(&self) -> &[KeyValue] {
        self.raw.as_deref().map_or(&self.attrs, |r| &**r)
    }

    /// Approximate heap bytes of this series.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.cells.heap_bytes()
            + self.exemplars.heap_bytes()
            + self.attrs.len() * std::mem::size_of::<KeyValue>()
            + self.probes.len() * std::mem::size_of::<Probe>()
            + self.raw.as_ref().map_or(0, |r| {
                std::mem::size_of::<Box<[KeyValue]>>() + r.len() * std::mem::size_of::<KeyValue>()
            })
    }
}

/// Asks the processor to bring the line at `p` into cache (a hint only).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no effect on memory; `p` is
    // a valid pointer anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Entries of the recent-lookup cache.
const RECENT: usize = 64;

/// A slot of the table: null, or a series that lives as long as the table.
/// One pointer (a `OnceLock<Box<_>>` would take two words per slot).
struct Slot(AtomicPtr<Series>);

impl Slot {
    fn new() -> Slot {
        Slot(AtomicPtr::new(std::ptr::null_mut()))
    }

    #[inline(always)]
    fn get(&self) -> Option<&Series> {
        let p = self.0.load(Acquire);
        // SAFETY: a non-null pointer was published by `get_or_insert` from
        // `Box::into_raw`, or copied by `remember` from such a slot (with
        // Release, read here with Acquire), and is never freed: series live
        // as long as their table, and tables belong to `static` instruments.
        unsafe { p.as_ref() }
    }

    /// Points the slot at `s`, a published series (the recent-lookup cache;
    /// Release, so that a reader that finds `s` here also sees it built).
    fn remember(&self, s: &Series) {
        self.0.store(s as *const Series as *mut Series, Release);
    }

    /// The slot's series, storing `make()`'s when the slot is empty; the
    /// flag says whether this call stored it.
    fn get_or_insert(&self, make: impl FnOnce() -> Series) -> (&Series, bool) {
        if let Some(s) = self.get() {
            return (s, false);
        }
        let new = Box::into_raw(Box::new(make()));
        match self
            .0
            .compare_exchange(std::ptr::null_mut(), new, AcqRel, Acquire)
        {
            // SAFETY: just published; never freed (see `get`).
            Ok(_) => (unsafe { &*new }, true),
            Err(winner) => {
                // SAFETY: `new` was never shared; `winner` is published.
                unsafe {
                    drop(Box::from_raw(new));
                    (&*winner, false)
                }
            }
        }
    }
}

/// A stripe's last series and how useful it has been, in one word: the
/// series' address, whose low bits (a series is 8-aligned) hold a count
/// (0 to 3) and an `OFF` flag.
///
/// - On (`OFF` clear), the series is tried first and the count is the
///   misses in a row. The fourth miss in a row turns it off: the stripe's
///   attributes change all the time, and trying costs more than it saves.
/// - Off, the series is not tried; the word still follows the series each
///   call finds, and the count is the calls in a row that found the same
///   one. The fourth turns it on again.
///
/// A hit writes nothing unless misses were counted, so a stripe that
/// repeats its attributes only reads the word.
#[derive(Clone, Copy)]
struct Last(usize);

/// A stripe's [`Last`], alone on its cache line.
#[derive(Default)]
#[repr(align(64))]
struct LastWord(AtomicU64);

/// Written when a stripe has no [`LastWord`] (never: tables have one per
/// stripe).
static LAST_SINK: AtomicU64 = AtomicU64::new(0);

const _: () = assert!(std::mem::align_of::<Series>() >= 8);

impl Last {
    const COUNT: usize = 0b011;
    const OFF: usize = 0b100;
    const LOW: usize = 0b111;

    /// On, with no miss counted.
    fn of(s: &Series) -> Last {
        Last(s as *const Series as usize)
    }

    fn series(self) -> *const Series {
        (self.0 & !Self::LOW) as *const Series
    }

    /// Misses in a row when on; calls in a row that would have hit when off.
    fn count(self) -> usize {
        self.0 & Self::COUNT
    }

    /// The series to try first, when on.
    #[inline(always)]
    fn tried(self) -> Option<&'static Series> {
        if self.is_off() {
            return None;
        }
        // SAFETY: a non-zero address was stored by `series`/`series_missed`
        // (Release, read with Acquire) from a published series, and series
        // are never freed (see `Slot::get`).
        unsafe { self.series().as_ref() }
    }

    fn is_off(self) -> bool {
        self.0 & Self::OFF != 0
    }

    /// The word after a call that did not take the first try and found
    /// `s`; when off, `would_hit` says whether trying would have found it.
    fn after_miss(self, s: &Series, would_hit: bool) -> Last {
        let count = self.count();
        let addr = Last::of(s).0;
        if !self.is_off() {
            if self.series().is_null() {
                Last(addr)
            } else if count == Self::COUNT {
                Last(addr | Self::OFF)
            } else {
                Last(addr | (count + 1))
            }
        } else if !would_hit {
            Last(addr | Self::OFF)
        } else if count == Self::COUNT {
            Last(addr)
        } else {
            Last(addr | Self::OFF | (count + 1))
        }
    }
}

/// The labelled series, and a cache in front of them.
struct Slots {
    series: Box<[Slot]>,
    /// A recently found series, by attribute fingerprint: callers that
    /// pass the same values every time skip hashing the bytes and
    /// probing. Hits are verified, so a stale entry is only a miss.
    recent: Box<[Slot]>,
}

impl Slots {
    /// The recent-lookup cache's series at `i`, if it is the series of
    /// `attrs` in their order.
    #[inline(always)]
    fn recent_hit(&self, i: usize, attrs: &[KeyValue]) -> Option<&Series> {
        let r = self.recent.get(i)?.get()?;
        r.same_list(attrs).then_some(r)
    }

    /// Keeps `s` in the recent-lookup cache's pair of slots that holds
    /// `i`: in the pair's first slot, moving what was there to the second
    /// (two ways, the newest first). Always the pair's first slot, never
    /// `i`'s own: two sets whose fingerprints fall on `i` and `i ^ 1`
    /// would otherwise each move the other out on every call.
    fn remember(&self, i: usize, s: &Series) {
        let first = i & !1;
        if let (Some(first), Some(second)) = (self.recent.get(first), self.recent.get(first | 1)) {
            if let Some(old) = first.get() {
                second.remember(old);
            }
            first.remember(s);
        }
    }
}

/// The storage of one instrument.
pub(crate) struct Table {
    /// The declaration's metadata, copied: the table is leaked, so this
    /// lives as long as the program whoever holds the instrument.
    pub(crate) meta: Metadata,
    words: usize,
    stripes: usize,
    /// Whether this histogram uses exponential buckets.
    pub(crate) exponential: bool,
    /// Bucket lookup of an explicit-bucket histogram.
    pub(crate) bucket_index: Option<super::buckets::BucketIndex>,
    /// The series without attributes; also the zero point of an instrument
    /// that was declared but never recorded.
    pub(crate) unlabelled: Series,
    /// Per stripe, the series its threads found last, as a [`Last`] word
    /// on a cache line of its own (so that two stripes never write one
    /// line). See [`series`](Self::series).
    last: Box<[LastWord]>,
    slots: OnceLock<Slots>,
    len: AtomicUsize,
    overflow: OnceLock<Box<Series>>,
    warned: AtomicBool,
    /// When the table was created (the instrument's first record), in Unix
    /// nanoseconds; each series has its own ([`Series::start_ns`]).
    pub(crate) start_ns: u64,
    /// Whether some series' exported attributes differ from what was
    /// recorded (normalised), so that two series may meet on the wire.
    pub(crate) altered: AtomicBool,
    /// Whether some series has a key that an escaping backend stores
    /// otherwise (`a.b` as `a_b`), so that two series may meet there.
    pub(crate) escapable: AtomicBool,
}

impl Table {
    pub(crate) fn new(meta: Metadata) -> Self {
        let exponential =
            meta.kind == InstrumentKind::Histogram && crate::config::exponential_histograms();
        let (words, stripes) = match meta.kind {
            InstrumentKind::Histogram if exponential => (super::exponential::WORDS, stripe_count()),
            InstrumentKind::Counter | InstrumentKind::UpDownCounter => (1, stripe_count()),
            // A gauge's last value is one word: striping would make "last" ambiguous.
            InstrumentKind::Gauge => (1, 1),
            // Buckets, then the sum.
            InstrumentKind::Histogram => (meta.buckets.len() + 2, stripe_count()),
        };
        Table {
            words,
            stripes,
            exponential,
            bucket_index: match meta.kind {
                InstrumentKind::Histogram if !exponential => {
                    super::buckets::BucketIndex::new(meta.buckets)
                }
                _ => None,
            },
            meta,
            unlabelled: Series::new(&[], 0, words, stripes, false),
            last: (0..stripe_count()).map(|_| LastWord::default()).collect(),
            slots: OnceLock::new(),
            len: AtomicUsize::new(0),
            overflow: OnceLock::new(),
            warned: AtomicBool::new(false),
            start_ns: crate::clock::now_ns(),
            altered: AtomicBool::new(false),
            escapable: AtomicBool::new(false),
        }
    }

    /// A new series of this table for `attrs`.
    fn new_series(&self, attrs: &[KeyValue], hash: u64) -> Series {
        let histogram = self.meta.kind == InstrumentKind::Histogram;
        Series::new(attrs, hash, self.words, self.stripes, histogram)
    }

    /// The series for `attrs`, created on first use.
    ///
    /// Three places are tried in turn, each verified by comparing the
    /// attributes: the series this stripe found last, the recent-lookup
    /// cache keyed by the attributes' values, and the table itself, keyed
    /// by a hash of their bytes.
    ///
    /// The first is what makes a call site that repeats its attributes
    /// cheap. Its address comes from the stripe number, not from the
    /// attributes, so the write that follows does not wait for them to be
    /// hashed: a write whose address comes out of a chain of loads that
    /// starts at the attributes stalls this processor for about 10 ns. It
    /// is verified in the first record's order only ([`list_eq`]), so that
    /// a miss costs little, and a stripe whose attributes change on every
    /// call stops trying it (see [`Last`]).
    #[inline(always)]
    pub(crate) fn series(&self, attrs: &[KeyValue]) -> &Series {
        if attrs.is_empty() {
            return &self.unlabelled;
        }
        let Some(LastWord(word)) = self.last.get(thread_stripe().index()) else {
            return self.series_missed(attrs, &LAST_SINK, Last(Last::OFF));
        };
        let last = Last(word.load(Acquire) as usize);
        if let Some(s) = last.tried() {
            // In the first record's order only: a miss must be cheap.
            if s.same_list(attrs) {
                if last.count() != 0 {
                    word.store(Last::of(s).0 as u64, Release);
                }
                return s;
            }
        }
        self.series_missed(attrs, word, last)
    }

    /// [`series`](Self::series) past the stripe's last series: the
    /// recent-lookup cache, then the table; then the stripe's [`Last`]
    /// word is brought up to date.
    ///
    /// Inlined, like `series`: at a call site whose attributes change on
    /// every call (an actor id per message) the call and its register
    /// saves were a sixth of the instructions (253 to 211 per counter add,
    /// `scripts/instructions.sh`). The table itself ([`lookup`](Self::lookup))
    /// stays out of line.
    #[inline(always)]
    fn series_missed(&self, attrs: &[KeyValue], word: &AtomicU64, last: Last) -> &Series {
        let slots = self.slots.get_or_init(|| self.alloc_slots());
        // Two ways: the fingerprint picks a pair of slots on one cache
        // line, so that two sets whose fingerprints meet (or one thread's
        // and another's) do not evict each other on every call. The
        // pair's first slot holds its newest series (see `remember`).
        let i = fingerprint(attrs) as usize & (RECENT - 2);
        // Verified in the caller's order only: the fingerprint follows
        // that order, so a set given in another order has its own entry.
        let s = match slots.recent_hit(i, attrs) {
            Some(r) => r,
            None => match slots.recent_hit(i | 1, attrs) {
                Some(r) => r,
                None => self.lookup(slots, attrs, i),
            },
        };
        // Off, a call counts towards turning it on when the first try
        // would have found its series.
        let would_hit = last.is_off() && std::ptr::eq(last.series(), s);
        let next = last.after_miss(s, would_hit);
        if next.0 != last.0 {
            word.store(next.0 as u64, Release);
        }
        s
    }

    #[inline(never)]
    fn lookup<'a>(&'a self, slots: &'a Slots, attrs: &[KeyValue], recent: usize) -> &'a Series {
        let hash = hash_set(attrs);
        let series = &slots.series;
        let mask = series.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match series[i].get() {
                Some(s) if s.matches(hash, attrs) => {
                    slots.remember(recent, s);
                    return s;
                }
                Some(_) => i = (i + 1) & mask,
                None => return self.insert(series, i, hash, attrs),
            }
        }
    }

    #[cold]
    fn alloc_slots(&self) -> Slots {
        // At most half full at the limit, so probes stay short and a free
        // slot always exists.
        let cap = (self.limit() * 2).next_power_of_two().max(16);
        Slots {
            series: (0..cap).map(|_| Slot::new()).collect(),
            recent: (0..RECENT).map(|_| Slot::new()).collect(),
        }
    }

    fn limit(&self) -> usize {
        self.meta.cardinality_limit.max(1)
    }

    #[cold]
    fn insert<'a>(
        &'a self,
        slots: &'a [Slot],
        mut i: usize,
        hash: u64,
        attrs: &[KeyValue],
    ) -> &'a Series {
        let mask = slots.len() - 1;
        loop {
            if self.len.load(Relaxed) >= self.limit() {
                return self.overflowed();
            }
            // Only the thread that wins the slot builds its series; a loser
            // sees the winner's series and compares as usual.
            let (s, stored) = slots[i].get_or_insert(|| self.new_series(attrs, hash));
            if stored {
                self.len.fetch_add(1, Relaxed);
                if s.raw.is_some() {
                    self.altered.store(true, Relaxed);
                }
                let escaped = |k: &str| {
                    crate::translation::stored_label(
                        k,
                        crate::translation::TranslationStrategy::UnderscoreEscapingWithSuffixes,
                    ) != k
                };
                if s.attrs.iter().any(|kv| escaped(kv.key.as_str())) {
                    self.escapable.store(true, Relaxed);
                }
            }
            if s.matches(hash, attrs) {
                return s;
            }
            i = (i + 1) & mask;
            while let Some(s) = slots[i].get() {
                if s.matches(hash, attrs) {
                    return s;
                }
                i = (i + 1) & mask;
            }
        }
    }

    #[cold]
    fn overflowed(&self) -> &Series {
        super::lost(super::Loss::Overflow, &self.meta);
        if !self.warned.swap(true, Relaxed) {
            diag::warn(format_args!(
                "metric `{}` reached its cardinality limit of {} attribute sets; further new sets are \
                 recorded in one series labelled otel_metric_overflow=\"true\" (declared at {})",
                self.meta.name,
                self.limit(),
                self.meta.location
            ));
        }
        self.overflow.get_or_init(|| {
            let attrs = [KeyValue::new("otel_metric_overflow", true)];
            Box::new(self.new_series(&attrs, 0))
        })
    }

    /// Whether `s` is this table's overflow series.
    pub(crate) fn is_overflow(&self, s: &Series) -> bool {
        self.overflow.get().is_some_and(|o| std::ptr::eq(&**o, s))
    }

    /// Every series that holds data, the unlabelled one last (when it was
    /// touched or when nothing else exists).
    pub(crate) fn for_each<'a>(&'a self, mut f: impl FnMut(&'a Series)) {
        let slots = self.slots.get().map_or(&[][..], |s| &s.series[..]);
        // Series sit in their own allocations, in hash order, the table at
        // most half full: list them first (one sequential pass over the
        // slots), then fetch the headers a few series ahead and their
        // attributes a few less, so that the walk does not wait on memory
        // at every series.
        let listed: Vec<&'a Series> = slots.iter().filter_map(Slot::get).collect();
        let mut any = !listed.is_empty();
        for (i, s) in listed.iter().enumerate() {
            if let Some(ahead) = listed.get(i + 8) {
                prefetch(*ahead);
            }
            if let Some(ahead) = listed.get(i + 4) {
                prefetch(ahead.attrs.as_ptr());
            }
            f(s);
        }
        if let Some(s) = self.overflow.get() {
            any = true;
            f(s);
        }
        if !any || self.unlabelled_touched() {
            f(&self.unlabelled);
        }
    }

    fn unlabelled_touched(&self) -> bool {
        let c = &self.unlabelled.cells;
        (0..c.stripes()).any(|s| (0..c.words()).any(|w| c.at(s, w).load(Relaxed) != 0))
    }

    /// Series held: the labelled ones, and the overflow series once used.
    pub(crate) fn series_count(&self) -> usize {
        self.len() + usize::from(self.overflow.get().is_some())
    }

    /// Number of labelled series.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Approximate heap bytes of the table and all its series.
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut total =
            self.unlabelled.heap_bytes() + self.last.len() * std::mem::size_of::<LastWord>();
        if let Some(slots) = self.slots.get() {
            total += slots.series.len() * std::mem::size_of::<Slot>()
                + RECENT * std::mem::size_of::<Slot>();
        }
        self.for_each(|s| {
            total += s.heap_bytes();
            if self.exponential {
                total += super::exponential::extra_heap_bytes(&s.cells);
            }
        });
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> &'static Series {
        Box::leak(Box::new(Series::new(
            &[KeyValue::new("k", "v")],
            0,
            1,
            1,
            false,
        )))
    }

    /// The fourth miss in a row turns the first try off, the fourth call
    /// in a row that would have hit turns it on, and a hit clears misses.
    #[test]
    fn last_turns_off_and_on() {
        let (a, b) = (series(), series());
        let mut w = Last(0).after_miss(a, false);
        assert_eq!(
            (w.tried().map(|s| s as *const _), w.count()),
            (Some(a as *const _), 0)
        );
        for (i, s) in [b, a, b].into_iter().enumerate() {
            w = w.after_miss(s, false);
            assert_eq!(w.count(), i + 1);
            assert!(std::ptr::eq(w.tried().unwrap(), s));
        }
        w = w.after_miss(a, false);
        assert!(w.is_off() && w.tried().is_none());
        // Off: calls that find another series keep it off.
        w = w.after_miss(b, false);
        assert!(w.is_off());
        for _ in 0..3 {
            w = w.after_miss(b, true);
            assert!(w.is_off());
        }
        w = w.after_miss(b, true);
        assert!(!w.is_off() && w.count() == 0);
        assert!(std::ptr::eq(w.tried().unwrap(), b));
        // A different series in between starts the count again.
        let mut off = Last(Last::of(a).0 | Last::OFF);
        for s in [a, a, b, a, a, a] {
            off = off.after_miss(s, std::ptr::eq(off.series(), s));
        }
        // Found `a` three times in a row since `b`: two counted.
        assert!(off.is_off() && off.count() == 2);
        off = off.after_miss(a, true);
        assert!(off.is_off());
        off = off.after_miss(a, true);
        assert!(!off.is_off());
    }
}
