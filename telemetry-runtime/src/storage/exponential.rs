//! Base-2 exponential buckets (Prometheus native histograms), used for
//! histograms when `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram`.
//!
//! Bucket `i` at scale `s` holds the values in `(2^(i/2^s), 2^((i+1)/2^s)]`
//! (the OpenTelemetry mapping). Each stripe of a series keeps its own
//! *window*: [`N`] bucket words in a ring, the scale, and the lowest
//! occupied index, packed in one state word ([`Window`]). A stripe starts at
//! scale [`MAX_SCALE`] (Prometheus's finest) and lowers its scale, by as
//! little as makes every occupied bucket fit, when a value falls beyond
//! what [`N`] buckets can cover: at scale `s - k` bucket `i >> k` is the
//! union of buckets `i` at scale `s`, so the counts merge exactly. The
//! scale only goes down, so a stripe rescales at most 12 times. A window
//! that grows without changing scale moves no count: bucket `i` always sits
//! in ring slot `i mod N`.
//!
//! A series is [`WORDS`] words (1 KiB) per stripe: 3 decades (10 octaves)
//! fit at scale 3 (80 buckets). Negative values are rare: they get a second
//! block of the same layout, made at the first one (its address is word
//! [`NEG`] of stripe 0).
//!
//! Recording: the bucket index is found at scale 8 (the float's exponent
//! and one table load on its mantissa, [`index8`]) and shifted right to
//! the stripe's scale; when it is inside the window, one add. A stripe a
//! thread owns has one writer, which rescales in place. The shared stripe
//! has many: a recorder holds its *gate* (word [`GATE`]: a count of
//! recorders in flight, and a closed bit) while it adds, and a rescale
//! closes the gate, waits for the recorders in flight to leave, moves the
//! counts alone, and opens it. A window that only grows is changed by a
//! compare-and-swap under the gate. The collector never waits for a
//! recorder: a rescale marks the state word busy while it moves counts, and
//! the collector reads a stripe again when the scale changed under it (a
//! sequence lock whose sequence is the scale).

use super::cells::{Stripe, Striped};
use super::exp_table::SLICES;
use super::table::Series;
use std::sync::atomic::{
    fence, AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

/// The finest scale (Prometheus's largest schema): 256 buckets per power of
/// two, each about 0.27% wide.
pub(crate) const MAX_SCALE: i32 = 8;
/// The coarsest scale (Prometheus's smallest schema): a bucket per 2^16.
pub(crate) const MIN_SCALE: i32 = -4;
const MAX_SHIFT: u32 = (MAX_SCALE - MIN_SCALE) as u32;
/// Buckets per stripe (and per sign). The OpenTelemetry SDK's default is
/// 160; 123 keeps a stripe's words to 1 KiB and still holds 3 decades at
/// scale 3, 15 octaves in all.
pub(crate) const N: usize = 123;
/// Word of the window's state ([`Window`]).
pub(crate) const STATE: usize = 0;
/// Word of the shared stripe's gate: recorders in flight, and [`CLOSED`].
pub(crate) const GATE: usize = 1;
/// Word of the zero count.
pub(crate) const ZERO: usize = 2;
/// Word (stripe 0 only) holding the address of the negative values' block.
pub(crate) const NEG: usize = 3;
/// Word of the sum.
pub(crate) const SUM: usize = 4;
/// First bucket word: ring slot `i mod N` holds bucket `i`.
const FIRST: usize = 5;
/// Words per stripe.
pub(crate) const WORDS: usize = FIRST + N;
const _: () = assert!(WORDS * 8 == 1024);

/// The gate's closed bit: a rescale is under way or waiting.
const CLOSED: u64 = 1 << 63;
const FRAC: u64 = (1 << 52) - 1;

/// A stripe's state word: the scale (as a shift down from [`MAX_SCALE`]),
/// the lowest occupied index `lo`, the number of indexes from it that the
/// window spans (0 when empty), `lo`'s ring slot, and a busy bit set while
/// a rescale moves counts. All zero: empty.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Window(u64);

impl Window {
    const BUSY: u64 = 1 << 63;

    fn new(shift: u32, lo: i32, len: u32) -> Window {
        let slot = lo.rem_euclid(N as i32) as u64;
        Window(lo as u32 as u64 | (len as u64) << 32 | slot << 40 | (shift as u64) << 48)
    }

    #[inline(always)]
    fn lo(self) -> i32 {
        self.0 as u32 as i32
    }

    #[inline(always)]
    fn len(self) -> u32 {
        (self.0 >> 32) as u8 as u32
    }

    #[inline(always)]
    fn lo_slot(self) -> u32 {
        (self.0 >> 40) as u8 as u32
    }

    #[inline(always)]
    fn shift(self) -> u32 {
        ((self.0 >> 48) & 0xf) as u32
    }

    fn busy(self) -> bool {
        self.0 & Self::BUSY != 0
    }

    /// The word of index `idx` (at this window's scale), if inside.
    #[inline(always)]
    fn slot(self, idx: i32) -> Option<usize> {
        let d = idx.wrapping_sub(self.lo()) as u32;
        if d >= self.len() {
            return None;
        }
        let mut s = self.lo_slot() + d;
        if s >= N as u32 {
            s -= N as u32;
        }
        Some(FIRST + s as usize)
    }

    /// Whether the fields are in range (the words of a series always are;
    /// the shared sink's are anything).
    fn valid(self) -> bool {
        self.shift() <= MAX_SHIFT && self.len() as usize <= N && (self.lo_slot() as usize) < N
    }
}

/// Where a value of scale-8 index `i8` goes when it is outside window `w`:
/// the new window, how many scales lower it is, and the value's index in
/// it.
fn plan(w: Window, i8: i32) -> (Window, u32, i32) {
    if w.len() == 0 || !w.valid() {
        return (Window::new(0, i8, 1), 0, i8);
    }
    let shift = w.shift();
    let mut idx = i8 >> shift;
    let (old_lo, old_hi) = (w.lo(), w.lo() + w.len() as i32 - 1);
    let (mut lo, mut hi) = (old_lo.min(idx), old_hi.max(idx));
    let mut k = 0;
    while (hi >> k) - (lo >> k) >= N as i32 && shift + k < MAX_SHIFT {
        k += 1;
    }
    if (hi >> k) - (lo >> k) >= N as i32 {
        // Wider than N buckets even at the coarsest scale (over 1,900
        // octaves): the value is counted in the window's nearest bucket.
        idx = idx.clamp(old_hi - (N as i32 - 1), old_lo + (N as i32 - 1));
        lo = old_lo.min(idx);
        hi = old_hi.max(idx);
    }
    let (lo, hi) = (lo >> k, hi >> k);
    (
        Window::new(shift + k, lo, (hi - lo + 1) as u32),
        k,
        idx >> k,
    )
}

/// The bucket index of `v` (> 0, not NaN; `+inf` counts in the bucket of
/// `f64::MAX`) at scale 8.
///
/// A positive float is `2^e * (1 + f / 2^52)`. Its index is `e * 256 + j`,
/// where `j` counts the boundaries `2^(k/256)`, `0 < k < 256`, below
/// `1 + f / 2^52`; an exact power of two is the upper bound of the bucket
/// below. The boundaries are irrational, so each is kept as the largest
/// mantissa below it, and a slice of 1/512 of the mantissas holds at most
/// one of them ([`SLICES`]): one load and one comparison.
#[inline(always)]
pub(crate) fn index8(v: f64) -> i32 {
    let bits = v.to_bits();
    let exp = (bits >> 52) as i32 & 0x7ff;
    let frac = bits & FRAC;
    if exp == 0 {
        return subnormal_index8(frac);
    }
    ((exp - 1023) << 8) + sub_octave(frac) - 1
}

/// The number of boundaries at or below mantissa `frac`, counting the
/// octave's start (boundary 0) only when `frac` is above it.
#[inline(always)]
fn sub_octave(frac: u64) -> i32 {
    let w = SLICES[(frac >> 43) as usize & 511];
    (w >> 52) as i32 + ((w & FRAC) < frac) as i32
}

#[cold]
fn subnormal_index8(frac: u64) -> i32 {
    // `frac * 2^-1074`, normalised: `2^(p - 1074) * (1 + rest / 2^52)`.
    let p = 63 - frac.max(1).leading_zeros() as i32;
    let rest = (frac << (52 - p)) & FRAC;
    ((p - 1074) << 8) + sub_octave(rest) - 1
}

/// Counts `v` (not NaN; durations, never negative) in `block`, the
/// stripe-`stripe` copy of a series' words: a value at or below zero in the
/// zero count. The caller adds the sum.
#[inline(always)]
pub(crate) fn count(block: &[AtomicU64], stripe: Stripe, v: f64) {
    if v > 0.0 {
        count_positive(block, stripe, v);
    } else if let Some(z) = block.get(ZERO) {
        stripe.add(z, 1);
    }
}

/// Counts `v` (> 0) in its bucket.
#[inline(always)]
fn count_positive(block: &[AtomicU64], stripe: Stripe, v: f64) {
    let i8 = index8(v);
    if !stripe.owned() {
        return count_shared(block, i8);
    }
    let Some(state) = block.first() else { return };
    let w = Window(state.load(Relaxed));
    match w.slot(i8 >> w.shift()).and_then(|s| block.get(s)) {
        Some(bucket) => stripe.add(bucket, 1),
        None => count_owned_outside(block, i8),
    }
}

/// Records `v` (not NaN) in `series`: its bucket and the sum. Out of line:
/// the explicit buckets' inline path keeps fewer registers without it.
#[inline(never)]
pub(crate) fn record(series: &Series, v: f64) {
    let (block, stripe) = series.cells.local_block();
    if v < 0.0 {
        count_negative(&series.cells, stripe, -v);
    } else {
        count(block, stripe, v);
    }
    if let Some(sum) = block.get(SUM) {
        stripe.add_f64(sum, v);
    }
}

/// The block of a series' negative values, if one was made.
fn negatives(cells: &Striped) -> Option<&'static Striped> {
    if cells.is_sink() {
        return None;
    }
    let p = cells.at(0, NEG).load(Acquire) as usize as *const Striped;
    // SAFETY: word NEG of a series' stripe 0 (not the sink's) is only ever
    // written by `count_negative`, with the address of a leaked `Striped`.
    unsafe { p.as_ref() }.filter(|n| !n.is_sink())
}

#[cold]
#[inline(never)]
fn count_negative(cells: &Striped, stripe: Stripe, v: f64) {
    if cells.is_sink() {
        // The sink's values mean nothing (a warning said so).
        return;
    }
    let neg = match negatives(cells) {
        Some(n) => n,
        None => {
            let new = Box::into_raw(Box::new(Striped::new(WORDS, super::cells::stripe_count())));
            match cells
                .at(0, NEG)
                .compare_exchange(0, new as usize as u64, AcqRel, Acquire)
            {
                Ok(_) => {
                    // SAFETY: just leaked, never freed.
                    unsafe { &*new }
                }
                Err(_) => {
                    // SAFETY: `new` came from `Box::into_raw` above and was
                    // never shared (its words stay reserved, unused).
                    drop(unsafe { Box::from_raw(new) });
                    match negatives(cells) {
                        Some(n) => n,
                        None => return,
                    }
                }
            }
        }
    };
    if neg.is_sink() {
        // The arena is full: a warning said the values mean nothing.
        return;
    }
    count_positive(neg.block(stripe.index()), stripe, v);
}

/// An owned stripe's value outside its window: widen the window, or lower
/// the scale and move the counts. The owner is the only writer, so no
/// recorder can interleave; the busy bit tells the collector to read again.
#[cold]
#[inline(never)]
fn count_owned_outside(block: &[AtomicU64], i8: i32) {
    let Some(state) = block.first() else { return };
    let (new, idx) = widen(block, state, Window(state.load(Relaxed)), i8);
    if let Some(b) = new.slot(idx).and_then(|s| block.get(s)) {
        b.store(b.load(Relaxed).wrapping_add(1), Relaxed);
    }
    state.store(new.0, Release);
}

/// The window that holds index `i8` (at scale 8) from `w`, with the counts
/// moved there if the scale has to go down (the busy bit set meanwhile,
/// for the collector), and the index at the new window's scale. The
/// caller is the stripe's only writer, and publishes the new window.
fn widen(block: &[AtomicU64], state: &AtomicU64, w: Window, i8: i32) -> (Window, i32) {
    let (new, k, idx) = plan(w, i8);
    if k != 0 {
        state.store(w.0 | Window::BUSY, Relaxed);
        fence(Release);
        move_counts(block, w, k, new);
    }
    (new, idx)
}

/// Moves the counts of window `old` to window `new`, `k` scales lower: each
/// bucket `i` into bucket `i >> k`. Only one thread writes meanwhile.
fn move_counts(block: &[AtomicU64], old: Window, k: u32, new: Window) {
    let mut merged = [0u64; N];
    for d in 0..old.len() as i32 {
        let i = old.lo() + d;
        if let (Some(w), Some(m)) = (
            old.slot(i).and_then(|s| block.get(s)),
            merged.get_mut(((i >> k) - new.lo()) as usize),
        ) {
            *m += w.swap(0, Relaxed);
        }
    }
    for (d, m) in merged.iter().enumerate().take(new.len() as usize) {
        if let Some(w) = new.slot(new.lo() + d as i32).and_then(|s| block.get(s)) {
            w.store(*m, Relaxed);
        }
    }
}

/// [`count_positive`] on the shared stripe, under its gate.
#[inline(never)]
fn count_shared(block: &[AtomicU64], i8: i32) {
    let (Some(state), Some(gate)) = (block.get(STATE), block.get(GATE)) else {
        return;
    };
    if super::cells::is_sink(block) {
        // The sink's words are anything: no gate to trust there.
        return;
    }
    loop {
        if gate.fetch_add(1, Acquire) & CLOSED != 0 {
            gate.fetch_sub(1, Release);
            wait_open(gate);
            continue;
        }
        let w = Window(state.load(Acquire));
        if let Some(b) = w.slot(i8 >> w.shift()).and_then(|s| block.get(s)) {
            b.fetch_add(1, Relaxed);
            gate.fetch_sub(1, Release);
            return;
        }
        let (new, k, idx) = plan(w, i8);
        if k == 0 {
            // The window widens and nothing moves: recorders in flight
            // still find their buckets.
            let won = state.compare_exchange(w.0, new.0, AcqRel, Acquire).is_ok();
            if won {
                if let Some(b) = new.slot(idx).and_then(|s| block.get(s)) {
                    b.fetch_add(1, Relaxed);
                }
            }
            gate.fetch_sub(1, Release);
            if won {
                return;
            }
            continue;
        }
        gate.fetch_sub(1, Release);
        if gate.fetch_or(CLOSED, AcqRel) & CLOSED != 0 {
            // Another thread rescales: wait, then look again.
            wait_open(gate);
            continue;
        }
        // Recorders that entered before the gate closed leave; those after
        // see it closed and wait.
        let mut spins = 0u32;
        while gate.load(Acquire) & !CLOSED != 0 {
            backoff(&mut spins);
        }
        let (new, idx) = widen(block, state, Window(state.load(Acquire)), i8);
        if let Some(b) = new.slot(idx).and_then(|s| block.get(s)) {
            b.fetch_add(1, Relaxed);
        }
        state.store(new.0, Release);
        gate.fetch_and(!CLOSED, Release);
        return;
    }
}

fn wait_open(gate: &AtomicU64) {
    let mut spins = 0u32;
    while gate.load(Acquire) & CLOSED != 0 {
        backoff(&mut spins);
    }
}

/// Spins a little, then yields: the thread waited on may be descheduled.
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Buckets of one sign from index `offset` up, at a point's scale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Side {
    pub(crate) offset: i32,
    pub(crate) counts: Vec<u64>,
}

impl Side {
    /// Merges each `2^k` buckets into one: the same counts `k` scales lower.
    fn downscale(&mut self, k: u32) {
        if k == 0 || self.counts.is_empty() {
            return;
        }
        let lo = self.offset >> k;
        let hi = (self.offset + self.counts.len() as i32 - 1) >> k;
        let mut out = vec![0u64; (hi - lo + 1) as usize];
        for (d, c) in self.counts.iter().enumerate() {
            if let Some(o) = out.get_mut((((self.offset + d as i32) >> k) - lo) as usize) {
                *o = o.wrapping_add(*c);
            }
        }
        self.offset = lo;
        self.counts = out;
    }

    /// Adds (or, with `minus`, subtracts) `other`'s counts, same scale.
    fn combine(&mut self, other: &Side, minus: bool) {
        if other.counts.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            self.offset = other.offset;
        }
        let lo = self.offset.min(other.offset);
        let hi =
            (self.offset + self.counts.len() as i32).max(other.offset + other.counts.len() as i32);
        let mut out = vec![0u64; (hi - lo) as usize];
        for (d, c) in self.counts.iter().enumerate() {
            out[(self.offset - lo) as usize + d] = *c;
        }
        for (d, c) in other.counts.iter().enumerate() {
            let o = &mut out[(other.offset - lo) as usize + d];
            *o = if minus {
                o.wrapping_sub(*c)
            } else {
                o.wrapping_add(*c)
            };
        }
        self.offset = lo;
        self.counts = out;
    }

    fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.wrapping_add(*c))
    }
}

/// An exponential histogram's buckets, at one scale: a series' stripes
/// merged, or an exported point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) scale: i32,
    pub(crate) zero: u64,
    pub(crate) positive: Side,
    pub(crate) negative: Side,
}

/// Most buckets of one sign in an exported point: stripes that cover
/// different ranges can need more than [`N`] at their lowest scale. Past
/// it, the point's scale is lowered further.
pub(crate) const MAX_POINT_BUCKETS: usize = 4 * N;
/// Words of a point as the collector keeps it ([`Point::to_raw`]): scale,
/// zero count, positive offset and length, negative offset and length, the
/// buckets of each sign, the sum.
pub(crate) const RAW_WORDS: usize = 6 + 2 * MAX_POINT_BUCKETS + 1;

impl Point {
    pub(crate) fn empty() -> Point {
        Point {
            scale: MAX_SCALE,
            zero: 0,
            positive: Side::default(),
            negative: Side::default(),
        }
    }

    fn has_buckets(&self) -> bool {
        !self.positive.counts.is_empty() || !self.negative.counts.is_empty()
    }

    /// The same counts at scale `scale` (not above this one).
    fn downscale_to(&mut self, scale: i32) {
        if self.has_buckets() && scale < self.scale {
            let k = (self.scale - scale) as u32;
            self.positive.downscale(k);
            self.negative.downscale(k);
        }
        self.scale = scale;
    }

    /// Adds (or, with `minus`, subtracts) `other` at the lower of the two
    /// scales (a point without buckets has no say), lowered further while
    /// a sign needs more than [`MAX_POINT_BUCKETS`].
    pub(crate) fn combine(&mut self, other: &Point, minus: bool) {
        let scale = match (self.has_buckets(), other.has_buckets()) {
            (true, true) => self.scale.min(other.scale),
            (false, true) => other.scale,
            _ => self.scale,
        };
        let mut other = other.clone();
        self.downscale_to(scale);
        other.downscale_to(scale);
        self.positive.combine(&other.positive, minus);
        self.negative.combine(&other.negative, minus);
        self.zero = if minus {
            self.zero.wrapping_sub(other.zero)
        } else {
            self.zero.wrapping_add(other.zero)
        };
        while self.scale > MIN_SCALE
            && (self.positive.counts.len() > MAX_POINT_BUCKETS
                || self.negative.counts.len() > MAX_POINT_BUCKETS)
        {
            self.downscale_to(self.scale - 1);
        }
    }

    /// Values counted.
    pub(crate) fn count(&self) -> u64 {
        self.zero
            .wrapping_add(self.positive.total())
            .wrapping_add(self.negative.total())
    }

    /// Writes the point and `sum` into `raw` ([`RAW_WORDS`] words).
    pub(crate) fn to_raw(&self, sum: u64, raw: &mut [u64]) {
        raw.fill(0);
        let m = MAX_POINT_BUCKETS;
        raw[0] = self.scale as i64 as u64;
        raw[1] = self.zero;
        for (i, side) in [&self.positive, &self.negative].into_iter().enumerate() {
            let n = side.counts.len().min(m);
            raw[2 + 2 * i] = side.offset as i64 as u64;
            raw[3 + 2 * i] = n as u64;
            raw[6 + i * m..6 + i * m + n].copy_from_slice(&side.counts[..n]);
        }
        raw[RAW_WORDS - 1] = sum;
    }

    /// The point in `raw` ([`to_raw`](Self::to_raw)) and its sum.
    pub(crate) fn from_raw(raw: &[u64]) -> (Point, u64) {
        let m = MAX_POINT_BUCKETS;
        let side = |i: usize| {
            let n = (raw[3 + 2 * i] as usize).min(m);
            Side {
                offset: raw[2 + 2 * i] as i64 as i32,
                counts: raw[6 + i * m..6 + i * m + n].to_vec(),
            }
        };
        (
            Point {
                scale: raw[0] as i64 as i32,
                zero: raw[1],
                positive: side(0),
                negative: side(1),
            },
            raw[RAW_WORDS - 1],
        )
    }
}

/// One stripe's window, read consistently: its scale and its buckets from
/// `lo` up, or `None` when the stripe has none.
fn read_window(block: &[AtomicU64], out: &mut Vec<u64>) -> Option<(i32, i32)> {
    let state = block.get(STATE)?;
    let mut spins = 0u32;
    loop {
        let w = Window(state.load(Acquire));
        if w.busy() {
            backoff(&mut spins);
            continue;
        }
        if w.len() == 0 || !w.valid() {
            return None;
        }
        out.clear();
        for d in 0..w.len() as i32 {
            let c = w.slot(w.lo() + d).and_then(|s| block.get(s));
            out.push(c.map_or(0, |c| c.load(Relaxed)));
        }
        // Sequence lock: had a count moved since `w`, the state would now
        // be busy or have another scale. Buckets the window gained meanwhile
        // hold values recorded after the read began: the next read has them.
        fence(Acquire);
        let again = Window(state.load(Relaxed));
        if !again.busy() && again.shift() == w.shift() {
            return Some((MAX_SCALE - w.shift() as i32, w.lo()));
        }
    }
}

/// The buckets of one block (a series' positive values, or its negative
/// block), its stripes merged at their lowest scale; and its zero count.
fn read_block(cells: &Striped, buf: &mut Vec<u64>) -> (Point, u64) {
    let mut total = Point::empty();
    let mut zero = 0u64;
    for s in 0..cells.stripes() {
        let block = cells.block(s);
        zero = zero.wrapping_add(cells.at(s, ZERO).load(Relaxed));
        if let Some((scale, lo)) = read_window(block, buf) {
            let stripe = Point {
                scale,
                zero: 0,
                positive: Side {
                    offset: lo,
                    counts: buf.clone(),
                },
                negative: Side::default(),
            };
            total.combine(&stripe, false);
        }
    }
    (total, zero)
}

/// A series' counts, every stripe merged at the lowest scale of any of
/// them (exactly: see [`Side::downscale`]). The sum is read by the caller.
pub(crate) fn read(cells: &Striped) -> Point {
    let mut buf = Vec::with_capacity(N);
    if cells.is_sink() {
        return Point::empty();
    }
    let (mut point, zero) = read_block(cells, &mut buf);
    point.zero = zero;
    if let Some(neg) = negatives(cells) {
        let (n, _) = read_block(neg, &mut buf);
        let n = Point {
            scale: n.scale,
            zero: 0,
            positive: Side::default(),
            negative: n.positive,
        };
        point.combine(&n, false);
    }
    point
}

/// Heap bytes a series holds beyond its own words: its negative block.
pub(crate) fn extra_heap_bytes(cells: &Striped) -> usize {
    negatives(cells).map_or(0, |n| std::mem::size_of::<Striped>() + n.heap_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's mapping, computed independently of the tables: the
    /// logarithm for scale > 0, the exponent for scale <= 0, and exact
    /// powers of two as the upper bound of the bucket below.
    pub(crate) fn reference_index(v: f64, scale: i32) -> i32 {
        let bits = v.to_bits();
        let frac = bits & FRAC;
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let (e, power_of_two) = if exp == 0 {
            let p = 63 - frac.leading_zeros() as i32;
            (p - 1074, frac == 1 << p)
        } else {
            (exp - 1023, frac == 0)
        };
        if power_of_two {
            return if scale >= 0 {
                (e << scale) - 1
            } else {
                (e - 1) >> -scale
            };
        }
        if scale <= 0 {
            return e >> -scale;
        }
        (v.log2() * (1u64 << scale) as f64).ceil() as i32 - 1
    }

    #[test]
    fn index_agrees_with_the_spec_mapping() {
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut values = vec![
            1.0,
            2.0,
            0.5,
            3.0,
            1000.0,
            0.001,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 2.0,
            5e-324,
            1.5e-310,
        ];
        for _ in 0..200_000 {
            let v = f64::from_bits(rng.next() >> 1);
            if v.is_finite() && v > 0.0 {
                values.push(v);
            }
            values.push((rng.next() % 1_000_000 + 1) as f64 / 997.0);
        }
        for v in values {
            for scale in MIN_SCALE..=MAX_SCALE {
                let shift = (MAX_SCALE - scale) as u32;
                assert_eq!(
                    index8(v) >> shift,
                    reference_index(v, scale),
                    "{v:e} at {scale}"
                );
            }
        }
        // The last bucket holds f64::MAX and infinity.
        assert_eq!(index8(f64::INFINITY), index8(f64::MAX));
    }

    /// `a * b` for little-endian base-2^32 numbers.
    fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
        let mut out = vec![0u64; a.len() + b.len()];
        for (i, x) in a.iter().enumerate() {
            let mut carry = 0u64;
            for (j, y) in b.iter().enumerate() {
                let t = out[i + j] + x * y + carry;
                out[i + j] = t & 0xffff_ffff;
                carry = t >> 32;
            }
            out[i + b.len()] += carry;
        }
        while out.len() > 1 && out.last() == Some(&0) {
            out.pop();
        }
        out
    }

    fn pow256(m: u64) -> Vec<u64> {
        let mut x = vec![m & 0xffff_ffff, m >> 32];
        for _ in 0..8 {
            x = mul(&x, &x);
        }
        x
    }

    /// Whether `a < 2^bit` for a little-endian base-2^32 number.
    fn below_power(a: &[u64], bit: usize) -> bool {
        let top = a.iter().rposition(|w| *w != 0).unwrap_or(0);
        let bits = top * 32 + (64 - a[top].leading_zeros() as usize);
        bits <= bit
    }

    #[test]
    fn exp_table_is_exact() {
        // The boundaries, as the table has them: T[k] for k in 0..256.
        let mut t = vec![None; 257];
        for w in SLICES {
            t[(w >> 52) as usize] = Some(w & FRAC);
        }
        let t: Vec<u64> = t.into_iter().map(|x| x.expect("every boundary")).collect();
        assert_eq!((t[0], t[256]), (0, FRAC));
        // Boundary k lies between mantissas T[k] and T[k] + 1:
        // (2^52 + T)^256 < 2^(52 * 256 + k) < (2^52 + T + 1)^256.
        for (k, tk) in t.iter().enumerate().take(256).skip(1) {
            assert!(below_power(&pow256((1 << 52) + tk), 52 * 256 + k), "{k}");
            assert!(
                !below_power(&pow256((1 << 52) + tk + 1), 52 * 256 + k),
                "{k}"
            );
        }
        // Each slice: the boundaries below its first mantissa, the next
        // one, and no second one inside it.
        for (s, w) in SLICES.iter().enumerate() {
            let first = (s as u64) << 43;
            let c = t[..256].iter().filter(|x| **x < first).count();
            assert_eq!(((w >> 52) as usize, w & FRAC), (c, t[c]), "slice {s}");
            if c < 255 {
                assert!(t[c + 1] >= first + (1 << 43), "slice {s}");
            }
        }
    }

    /// A series' words in `stripes` stripes, written through `Stripe`
    /// handles chosen by the test.
    fn striped() -> Striped {
        Striped::new(WORDS, super::super::cells::stripe_count())
    }

    fn counts_at(values: &[f64], scale: i32) -> Point {
        let mut p = Point::empty();
        p.scale = scale;
        for v in values {
            let (side, a) = if *v > 0.0 {
                (&mut p.positive, *v)
            } else if *v < 0.0 {
                (&mut p.negative, -*v)
            } else {
                p.zero += 1;
                continue;
            };
            let one = Side {
                offset: reference_index(a, scale),
                counts: vec![1],
            };
            side.combine(&one, false);
        }
        p
    }

    fn trimmed(mut p: Point) -> Point {
        for side in [&mut p.positive, &mut p.negative] {
            while side.counts.first() == Some(&0) {
                side.counts.remove(0);
                side.offset += 1;
            }
            while side.counts.last() == Some(&0) {
                side.counts.pop();
            }
            if side.counts.is_empty() {
                side.offset = 0;
            }
        }
        p
    }

    fn log_spaced(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
            .collect()
    }

    #[test]
    fn three_decades_fit_at_scale_3_in_one_stripe() {
        for (lo, hi) in [(1.0, 1000.0), (0.001, 1.0)] {
            let s = striped();
            let values = log_spaced(lo, hi, 500);
            for v in &values {
                count(s.block(1), Stripe::owned_for_test(1), *v);
            }
            let got = read(&s);
            assert_eq!(got.scale, 3, "{lo}..{hi}");
            assert_eq!(trimmed(got.clone()), trimmed(counts_at(&values, got.scale)));
            assert_eq!(got.count(), 500);
        }
    }

    #[test]
    fn stripes_at_different_scales_merge_exactly() {
        let s = striped();
        // Stripe 1: a narrow range (a fine scale); stripe 2: 6 decades; the
        // shared stripe: one more range, and zeros; negatives on stripe 1.
        let a = log_spaced(1.0, 1.5, 300);
        let b = log_spaced(1e-3, 1e3, 700);
        let c = log_spaced(40.0, 90.0, 50);
        let neg: Vec<f64> = log_spaced(2.0, 3.0, 20).iter().map(|v| -v).collect();
        for v in &a {
            count(s.block(1), Stripe::owned_for_test(1), *v);
        }
        for v in &b {
            count(s.block(2), Stripe::owned_for_test(2), *v);
        }
        for v in &c {
            count(s.block(0), Stripe::SHARED, *v);
        }
        count(s.block(0), Stripe::SHARED, 0.0);
        for v in &neg {
            count_negative(&s, Stripe::owned_for_test(1), -*v);
        }
        let got = read(&s);
        let all: Vec<f64> = [a, b, c, neg, vec![0.0]].concat();
        // 6 decades in 123 buckets: scale 2 for stripe 2, so for the point.
        assert_eq!(got.scale, 2);
        assert_eq!(trimmed(got.clone()), trimmed(counts_at(&all, got.scale)));
        assert_eq!(got.count(), all.len() as u64);
    }

    #[test]
    fn shared_stripe_rescales_under_concurrent_recorders_without_losing_counts() {
        let s: &'static Striped = Box::leak(Box::new(striped()));
        let threads = 4;
        fn values(t: usize) -> Vec<f64> {
            // Each thread widens the range over time, forcing rescales
            // while the others record.
            const PER: usize = 20_000;
            (0..PER)
                .map(|i| 1.0 + (i as f64 / PER as f64) * 10f64.powi(t as i32 + 1))
                .collect()
        }
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::spawn(move || {
                    for v in values(t) {
                        count(s.block(0), Stripe::SHARED, v);
                    }
                })
            })
            .collect();
        // The collector reads meanwhile: counts never go down.
        let mut last = 0;
        while handles.iter().any(|h| !h.is_finished()) {
            let n = read(s).count();
            assert!(n >= last, "{n} < {last}");
            last = n;
        }
        for h in handles {
            h.join().unwrap();
        }
        let got = read(s);
        let all: Vec<f64> = (0..threads).flat_map(values).collect();
        assert_eq!(got.count(), all.len() as u64);
        assert_eq!(trimmed(got.clone()), trimmed(counts_at(&all, got.scale)));
    }

    #[test]
    fn owned_stripe_rescales_while_the_collector_reads() {
        let s: &'static Striped = Box::leak(Box::new(striped()));
        let values: Vec<f64> = (0..200_000).map(|i| 1.0 + i as f64 * 0.37).collect();
        let vs = values.clone();
        let h = std::thread::spawn(move || {
            for v in vs {
                count(s.block(3), Stripe::owned_for_test(3), v);
            }
        });
        let mut last = 0;
        while !h.is_finished() {
            let p = read(s);
            assert!(p.count() >= last);
            last = p.count();
        }
        h.join().unwrap();
        let got = read(s);
        assert_eq!(trimmed(got.clone()), trimmed(counts_at(&values, got.scale)));
    }

    #[test]
    fn a_range_too_wide_for_the_coarsest_scale_clamps_into_the_nearest_bucket() {
        let s = striped();
        for v in [5e-324, 1.0, f64::MAX, f64::INFINITY] {
            count(s.block(1), Stripe::owned_for_test(1), v);
        }
        let got = read(&s);
        assert_eq!(got.scale, MIN_SCALE);
        assert_eq!(got.count(), 4);
        assert!(got.positive.counts.len() <= N);
    }

    #[test]
    fn raw_round_trip_and_delta() {
        let mut a = counts_at(&log_spaced(1.0, 10.0, 40), 5);
        a.zero = 3;
        let mut raw = vec![0u64; RAW_WORDS];
        a.to_raw(7, &mut raw);
        assert_eq!(Point::from_raw(&raw), (a.clone(), 7));
        // Cumulative b ⊇ a at a lower scale: b - a is what was added.
        let more = log_spaced(5.0, 5000.0, 30);
        let mut b = a.clone();
        b.combine(&counts_at(&more, 2), false);
        b.combine(&a, true);
        assert_eq!(trimmed(b), trimmed(counts_at(&more, 2)));
    }
}
