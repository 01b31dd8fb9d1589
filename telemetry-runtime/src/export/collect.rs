//! Reads storage into OTLP protobuf messages.
//!
//! Storage is always cumulative; delta temporality is computed here by
//! subtracting the values of the last export that reached the backend, so a
//! failed export is carried into the next delta instead of being lost.

use crate::clock::{now_ns, ticks_to_unit};
use crate::config::exponential_histograms;
use crate::config::{Config, TemporalityPreference};
use crate::meta::{InstrumentKind, Metadata};
use crate::registry::{self, Catalog, Source};
use crate::storage::exemplars;
use crate::storage::exponential as exp;
use crate::storage::table::Series;
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue as PbKeyValue,
};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric, number_data_point,
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint,
    Gauge as PbGauge, Histogram as PbHistogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::{BTreeMap, HashMap};

/// The scope our own instruments are exported under.
pub(crate) const SCOPE_NAME: &str = "telemetry-runtime";

/// Remembers what the last successful export sent, for delta temporality.
#[derive(Default)]
pub(crate) struct Collector {
    /// Per series (by address): raw cumulative words last acknowledged.
    acked: HashMap<usize, Vec<u64>>,
    /// The same, for the export under way.
    pending: HashMap<usize, Vec<u64>>,
    acked_time: Option<u64>,
    pending_time: u64,
    /// The last export's body, kept for the next to write into: a body's
    /// pages are faulted in once, not at every export (about 59 bytes per
    /// counter series stay allocated).
    body: Vec<u8>,
    /// Per observable gauge (by address), the series its callback reported
    /// in this export; absent when the callback panicked.
    observed: HashMap<usize, Vec<&'static Series>>,
}

impl Collector {
    /// Builds the scope of our own instruments. Its metrics' data
    /// containers hold no data points: those stay in [`OurScope::points`],
    /// flat words and references to the series' attributes, which the
    /// encoder writes straight out ([`OurScope::into_proto`] builds the
    /// messages for readers of them).
    pub(crate) fn collect(&mut self, cfg: &Config, catalog: &Catalog) -> OurScope {
        let now = now_ns();
        // Exemplars read the wall clock from the TSC, offset from here.
        crate::clock::anchor_wall_clock();
        self.pending.clear();
        self.pending_time = now;
        let mut by_name: BTreeMap<&'static str, Vec<&'static registry::Instrument>> =
            BTreeMap::new();
        self.observed.clear();
        for inst in registry::instruments() {
            if let Source::Observed(callback) = inst.source {
                if let Some(seen) = crate::instruments::observe(inst, callback) {
                    self.observed.insert(*inst as *const _ as usize, seen);
                }
            }
        }
        for inst in registry::instruments() {
            if !registry::is_dropped(catalog, &inst.meta) {
                by_name.entry(inst.meta.name).or_default().push(inst);
            }
        }
        let (metrics, points) = by_name
            .into_values()
            .map(|insts| self.metric(cfg, &insts, now))
            .unzip();
        OurScope {
            scope: ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: SCOPE_NAME.into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            },
            points,
        }
    }

    /// Encodes one export's body, `ours` then the SDK's scopes, into the
    /// buffer kept from the last export; the body, to send.
    pub(crate) fn encode(&mut self, cfg: &Config, ours: OurScope, sdk: Vec<ScopeMetrics>) -> &[u8] {
        super::encode::body(cfg, ours, sdk, &mut self.body);
        &self.body
    }

    /// The body of the last export.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The export succeeded: its values become the delta baseline.
    pub(crate) fn acknowledge(&mut self) {
        std::mem::swap(&mut self.acked, &mut self.pending);
        for (k, v) in self.pending.drain() {
            self.acked.entry(k).or_insert(v);
        }
        self.acked_time = Some(self.pending_time);
    }

    fn metric(
        &mut self,
        cfg: &Config,
        insts: &[&'static registry::Instrument],
        now: u64,
    ) -> (Metric, OurPoints) {
        let meta: &Metadata = &insts[0].meta;
        let derived_gauge = matches!(insts[0].source, Source::EnteredMinusCount(..));
        let delta = !derived_gauge
            && !matches!(
                (cfg.temporality, meta.kind),
                (TemporalityPreference::Cumulative, _)
                    | (_, InstrumentKind::Gauge)
                    | (
                        TemporalityPreference::LowMemory,
                        InstrumentKind::UpDownCounter
                    )
            );
        let exponential = meta.kind == InstrumentKind::Histogram && exponential_histograms();
        let words = match meta.kind {
            InstrumentKind::Histogram if exponential => exp::RAW_WORDS,
            InstrumentKind::Histogram => meta.buckets.len() + 2,
            _ => 1,
        };
        let shape = match meta.kind {
            InstrumentKind::Counter | InstrumentKind::UpDownCounter => Shape::Sum(meta.kind),
            InstrumentKind::Gauge => Shape::Gauge,
            InstrumentKind::Histogram if exponential => Shape::Exponential,
            InstrumentKind::Histogram => Shape::Histogram(meta.buckets),
        };
        let mut points = OurPoints {
            shape,
            now,
            stride: words,
            attrs: Vec::new(),
            starts: Vec::new(),
            words: Vec::new(),
            exemplar_points: Vec::new(),
            exemplars: Vec::new(),
        };
        // Exemplars taken from the series, with the point each belongs to.
        let mut taken = Vec::new();
        let mut found: Vec<(usize, Exemplar)> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        // Always merge points that a backend would see as one series: other
        // declarations of the name, and sets that became equal on the way
        // to the wire (see `labels.rs`). A request with two points of one
        // series loses a count (VictoriaMetrics) or is rejected whole
        // (Prometheus: duplicate sample).
        // Merging costs an encoding and a hash per point: only when two
        // points can meet (several declarations, or normalised attributes).
        let escapes = cfg.translation_strategy.escapes();
        let merge = insts.len() > 1
            || insts.iter().any(|i| {
                i.table_if_used().is_some_and(|t| {
                    t.altered.load(std::sync::atomic::Ordering::Relaxed)
                        || (escapes && t.escapable.load(std::sync::atomic::Ordering::Relaxed))
                })
            });
        // One series' words at a time, copied into `points`.
        let mut raw = vec![0u64; words];
        let zeros = vec![0u64; words];
        for inst in insts {
            // Adds a point, or merges it into the one it meets; the
            // point's index.
            let mut add = |attrs: PointAttrs, raw: &[u64], start: u64| -> usize {
                if !merge {
                    points.push(attrs, raw, start);
                    return points.attrs.len() - 1;
                }
                let pb = attrs.into_pb();
                let key = attrs_key(&pb, cfg.translation_strategy);
                if let Some(&i) = index.get(&key) {
                    combine(shape, points.words_mut(i), raw);
                    points.starts[i] = points.starts[i].min(start);
                    return i;
                }
                index.insert(key, points.attrs.len());
                points.push(PointAttrs::Pb(pb), raw, start);
                points.attrs.len() - 1
            };
            let consts: &'static [(&'static str, &'static str)] = inst.meta.const_attributes;
            let zero = |add: &mut dyn FnMut(PointAttrs, &[u64], u64) -> usize| {
                for z in inst.meta.zero_series {
                    let attrs: Vec<KeyValue> =
                        z.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
                    add(PointAttrs::Pb(pb_attrs(consts, &attrs)), &zeros, now);
                }
            };
            match inst.source {
                Source::Own => match inst.table_if_used() {
                    None => zero(&mut add),
                    Some(table) => table.for_each(|s: &'static Series| {
                        self.read(s, shape, delta, inst.sum_ticks, &mut raw);
                        let p = add(PointAttrs::series(consts, &s.attrs), &raw, s.start_ns);
                        exemplars::take(s, &mut taken);
                        found.extend(taken.drain(..).map(|t| (p, exemplar(shape, t))));
                    }),
                },
                Source::Observed(_) => {
                    let table = inst.table_if_used();
                    let seen = self.observed.get(&(*inst as *const _ as usize)).cloned();
                    if let (Some(_), Some(seen)) = (table, seen) {
                        for s in seen {
                            self.read(s, shape, delta, 0, &mut raw);
                            add(PointAttrs::series(consts, &s.attrs), &raw, s.start_ns);
                        }
                    }
                }
                Source::CountOf(h) => match h.table_if_used() {
                    None => zero(&mut add),
                    Some(table) => table.for_each(|s: &'static Series| {
                        let mut raw = [series_count(s, table.exponential)];
                        self.delta(s as *const Series as usize | 1, &mut raw, false, delta);
                        add(PointAttrs::series(consts, &s.attrs), &raw, s.start_ns);
                    }),
                },
                Source::EnteredMinusCount(entered, h) => {
                    // Completions first, then entries: a call always enters
                    // before it completes, so this never goes below zero.
                    let mut done = 0u64;
                    let mut start = now;
                    if let Some(t) = h.table_if_used() {
                        t.for_each(|s| done += series_count(s, t.exponential));
                        start = start.min(t.start_ns);
                    }
                    let began = entered
                        .table_if_used()
                        .map_or(0, |t| t.unlabelled.cells.sum_u64(0));
                    add(
                        PointAttrs::series(consts, &[]),
                        &[began.saturating_sub(done)],
                        start,
                    );
                }
            }
        }
        // In point order (each point's in slot order: a histogram's by
        // bucket), as the encoder writes them.
        found.sort_by_key(|(p, _)| *p);
        (points.exemplar_points, points.exemplars) = found.into_iter().unzip();
        if delta {
            let acked = self.acked_time;
            for start in &mut points.starts {
                *start = acked.unwrap_or(*start).max(*start);
            }
        }
        let temporality = if delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let data = match points.shape {
            Shape::Sum(kind) => metric::Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
                is_monotonic: kind == InstrumentKind::Counter,
            }),
            Shape::Gauge => metric::Data::Gauge(PbGauge {
                data_points: Vec::new(),
            }),
            Shape::Exponential => metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }),
            Shape::Histogram(_) => metric::Data::Histogram(PbHistogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }),
        };
        let metric = Metric {
            name: meta.name.into(),
            description: meta.description.into(),
            unit: meta.unit.into(),
            data: Some(data),
            metadata: Vec::new(),
        };
        (metric, points)
    }

    /// The series' words summed over stripes (sums of `f64` kept as bits)
    /// into `raw`, minus the acknowledged baseline when `delta`.
    fn read(&mut self, s: &Series, shape: Shape, delta: bool, sum_ticks: u64, raw: &mut [u64]) {
        if shape == Shape::Exponential {
            // Each stripe has its own scale: merged at the lowest.
            let sum = if sum_ticks != 0 {
                ticks_to_unit(s.cells.sum_u64(exp::SUM), sum_ticks)
            } else {
                s.cells.sum_f64(exp::SUM)
            };
            exp::read(&s.cells).to_raw(sum.to_bits(), raw);
            let key = s as *const Series as usize;
            if delta {
                self.pending.insert(key, raw.to_vec());
                if let Some(base) = self.acked.get(&key) {
                    exp_combine(raw, base, true);
                }
            }
            return;
        }
        let kind = match shape {
            Shape::Sum(kind) => kind,
            Shape::Gauge => InstrumentKind::Gauge,
            _ => InstrumentKind::Histogram,
        };
        let words = raw.len();
        for (w, out) in raw.iter_mut().enumerate() {
            *out = match (kind, w) {
                (InstrumentKind::Gauge, _) => {
                    s.cells.at(0, 0).load(std::sync::atomic::Ordering::Relaxed)
                }
                // Metered durations and timers keep their sum in raw clock
                // ticks.
                (InstrumentKind::Histogram, w) if w == words - 1 && sum_ticks != 0 => {
                    ticks_to_unit(s.cells.sum_u64(w), sum_ticks).to_bits()
                }
                (InstrumentKind::Histogram, w) if w == words - 1 => s.cells.sum_f64(w).to_bits(),
                _ => s.cells.sum_u64(w),
            };
        }
        let last_is_f64 = kind == InstrumentKind::Histogram;
        self.delta(s as *const Series as usize, raw, last_is_f64, delta);
    }

    /// Subtracts the acknowledged baseline of `key` from `raw` when
    /// `delta`, and keeps `raw` as the baseline of the export under way.
    fn delta(&mut self, key: usize, raw: &mut [u64], last_is_f64: bool, delta: bool) {
        if !delta {
            return;
        }
        let last = raw.len() - 1;
        self.pending.insert(key, raw.to_vec());
        if let Some(base) = self.acked.get(&key) {
            for (w, (r, b)) in raw.iter_mut().zip(base).enumerate() {
                *r = if last_is_f64 && w == last {
                    (f64::from_bits(*r) - f64::from_bits(*b)).to_bits()
                } else {
                    r.wrapping_sub(*b)
                };
            }
        }
    }
}

/// Number of values recorded in a histogram series: every word but the
/// last (the sum) with explicit buckets.
fn series_count(s: &Series, exponential: bool) -> u64 {
    if exponential {
        return exp::read(&s.cells).count();
    }
    (0..s.cells.words() - 1).map(|w| s.cells.sum_u64(w)).sum()
}

/// Trims empty buckets off both ends of `side`: (offset, counts).
fn trimmed(side: &exp::Side) -> (i32, Vec<u64>) {
    let counts = &side.counts;
    match counts.iter().position(|c| *c != 0) {
        None => (0, Vec::new()),
        Some(first) => {
            let last = counts.iter().rposition(|c| *c != 0).unwrap_or(first);
            (side.offset + first as i32, counts[first..=last].to_vec())
        }
    }
}

/// Adds (or, with `minus`, subtracts) the exponential point `from` to
/// `into`, both as [`exp::Point::to_raw`] wrote them, at the lower scale.
fn exp_combine(into: &mut [u64], from: &[u64], minus: bool) {
    let (mut a, sa) = exp::Point::from_raw(into);
    let (b, sb) = exp::Point::from_raw(from);
    a.combine(&b, minus);
    let (sa, sb) = (f64::from_bits(sa), f64::from_bits(sb));
    let sum = if minus { sa - sb } else { sa + sb };
    a.to_raw(sum.to_bits(), into);
}

fn exponential_point(raw: &[u64], start: u64, now: u64) -> ExponentialHistogramDataPoint {
    let (p, sum) = exp::Point::from_raw(raw);
    let count = p.count();
    let (po, pc) = trimmed(&p.positive);
    let (no, nc) = trimmed(&p.negative);
    // A point without buckets says nothing of its scale.
    let scale = if pc.is_empty() && nc.is_empty() {
        exp::MAX_SCALE
    } else {
        p.scale
    };
    ExponentialHistogramDataPoint {
        start_time_unix_nano: start,
        time_unix_nano: now,
        count,
        sum: Some(f64::from_bits(sum)),
        scale,
        zero_count: p.zero,
        positive: Some(Buckets {
            offset: po,
            bucket_counts: pc,
        }),
        negative: Some(Buckets {
            offset: no,
            bucket_counts: nc,
        }),
        ..Default::default()
    }
}

fn combine(shape: Shape, into: &mut [u64], from: &[u64]) {
    match shape {
        // Two gauges of one name and attributes: the later declaration wins.
        Shape::Gauge => into.copy_from_slice(from),
        Shape::Exponential => exp_combine(into, from, false),
        Shape::Histogram(_) => {
            let last = into.len() - 1;
            for w in 0..last {
                into[w] = into[w].wrapping_add(from[w]);
            }
            into[last] = (f64::from_bits(into[last]) + f64::from_bits(from[last])).to_bits();
        }
        _ => into[0] = into[0].wrapping_add(from[0]),
    }
}

/// An exemplar of a point of `shape`, as taken from its series.
fn exemplar(shape: Shape, t: exemplars::Taken) -> Exemplar {
    let value = match shape {
        Shape::Sum(kind) => match sum_value(kind, t.value) {
            number_data_point::Value::AsInt(i) => exemplar::Value::AsInt(i),
            number_data_point::Value::AsDouble(d) => exemplar::Value::AsDouble(d),
        },
        _ => exemplar::Value::AsDouble(f64::from_bits(t.value)),
    };
    let (trace_id, span_id) = t.span.map_or((Vec::new(), Vec::new()), |s| {
        (s.trace.to_vec(), s.span.to_vec())
    });
    Exemplar {
        // Every series keeps every attribute it was given (there are no
        // views): nothing was filtered out.
        filtered_attributes: Vec::new(),
        time_unix_nano: t.time_ns,
        span_id,
        trace_id,
        value: Some(value),
    }
}

/// A sum's value: an up-down counter's word is two's complement; a counter
/// above `i64::MAX` is sent as a double rather than wrapped to a negative
/// integer (which a backend would read as a counter reset).
fn sum_value(kind: InstrumentKind, raw: u64) -> number_data_point::Value {
    if kind == InstrumentKind::Counter && raw > i64::MAX as u64 {
        number_data_point::Value::AsDouble(raw as f64)
    } else {
        number_data_point::Value::AsInt(raw as i64)
    }
}

/// Our scope's messages, with each metric's data points kept aside:
/// `points[m]` are the points of metric `m`.
pub(crate) struct OurScope {
    pub(crate) scope: ScopeMetrics,
    pub(crate) points: Vec<OurPoints>,
}

impl OurScope {
    /// The scope with every data point in its metric.
    pub(crate) fn into_proto(self) -> ScopeMetrics {
        let mut scope = self.scope;
        for (m, points) in scope.metrics.iter_mut().zip(self.points) {
            match &mut m.data {
                Some(metric::Data::Sum(d)) => d.data_points = points.numbers(),
                Some(metric::Data::Gauge(d)) => d.data_points = points.numbers(),
                Some(metric::Data::Histogram(d)) => d.data_points = points.histograms(),
                Some(metric::Data::ExponentialHistogram(d)) => {
                    d.data_points = points.exponentials()
                }
                _ => {}
            }
        }
        scope
    }
}

/// What a metric's points are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Shape {
    /// Sums of a counter or an up-down counter.
    Sum(InstrumentKind),
    Gauge,
    /// Explicit buckets, with these bounds.
    Histogram(&'static [f64]),
    Exponential,
}

/// A metric's data points, flat: point `p` has attributes `attrs[p]`,
/// start time `starts[p]` and the words `words[p * stride..][..stride]`
/// (a sum's or gauge's value; a histogram's buckets then its sum).
pub(crate) struct OurPoints {
    pub(crate) shape: Shape,
    /// The points' time.
    pub(crate) now: u64,
    pub(crate) stride: usize,
    pub(crate) attrs: Vec<PointAttrs>,
    pub(crate) starts: Vec<u64>,
    pub(crate) words: Vec<u64>,
    /// Exemplars, in point order: `exemplars[e]` belongs to point
    /// `exemplar_points[e]`.
    pub(crate) exemplar_points: Vec<usize>,
    pub(crate) exemplars: Vec<Exemplar>,
}

impl OurPoints {
    fn push(&mut self, attrs: PointAttrs, raw: &[u64], start: u64) {
        self.attrs.push(attrs);
        self.starts.push(start);
        self.words.extend_from_slice(raw);
    }

    fn words_mut(&mut self, p: usize) -> &mut [u64] {
        &mut self.words[p * self.stride..(p + 1) * self.stride]
    }

    /// Point `p`'s words.
    pub(crate) fn raw(&self, p: usize) -> &[u64] {
        &self.words[p * self.stride..(p + 1) * self.stride]
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.attrs.len()
    }

    /// A sum's or a gauge's value at point `p`.
    pub(crate) fn number(&self, p: usize) -> number_data_point::Value {
        let w = self.words[p * self.stride];
        match self.shape {
            Shape::Sum(kind) => sum_value(kind, w),
            _ => number_data_point::Value::AsDouble(f64::from_bits(w)),
        }
    }

    /// Point `p`'s exemplars.
    pub(crate) fn exemplars(&self, p: usize) -> &[Exemplar] {
        if self.exemplars.is_empty() {
            return &[];
        }
        let from = self.exemplar_points.partition_point(|&q| q < p);
        let to = self.exemplar_points.partition_point(|&q| q <= p);
        &self.exemplars[from..to]
    }

    /// A point's start time as sent: a gauge has none.
    pub(crate) fn start(&self, p: usize) -> u64 {
        match self.shape {
            Shape::Gauge => 0,
            _ => self.starts[p],
        }
    }

    /// Every point as a message: `point` builds point `p` from its index
    /// and its attributes as messages.
    fn build<P>(mut self, point: impl Fn(&OurPoints, usize, Vec<PbKeyValue>) -> P) -> Vec<P> {
        std::mem::take(&mut self.attrs)
            .into_iter()
            .enumerate()
            .map(|(p, a)| point(&self, p, a.into_pb()))
            .collect()
    }

    fn numbers(self) -> Vec<NumberDataPoint> {
        self.build(|o, p, attributes| NumberDataPoint {
            attributes,
            start_time_unix_nano: o.start(p),
            time_unix_nano: o.now,
            value: Some(o.number(p)),
            exemplars: o.exemplars(p).to_vec(),
            ..Default::default()
        })
    }

    fn histograms(self) -> Vec<HistogramDataPoint> {
        let bounds = match self.shape {
            Shape::Histogram(b) => b,
            _ => &[],
        };
        let nb = bounds.len() + 1;
        self.build(|o, p, attributes| {
            let raw = o.raw(p);
            HistogramDataPoint {
                attributes,
                start_time_unix_nano: o.start(p),
                time_unix_nano: o.now,
                count: raw[..nb].iter().sum(),
                sum: Some(f64::from_bits(raw[nb])),
                bucket_counts: raw[..nb].to_vec(),
                explicit_bounds: bounds.to_vec(),
                exemplars: o.exemplars(p).to_vec(),
                ..Default::default()
            }
        })
    }

    /// Point `p` of an exponential histogram, without its attributes.
    pub(crate) fn exponential(&self, p: usize) -> ExponentialHistogramDataPoint {
        ExponentialHistogramDataPoint {
            exemplars: self.exemplars(p).to_vec(),
            ..exponential_point(self.raw(p), self.start(p), self.now)
        }
    }

    fn exponentials(self) -> Vec<ExponentialHistogramDataPoint> {
        self.build(|o, p, attributes| ExponentialHistogramDataPoint {
            attributes,
            ..o.exponential(p)
        })
    }
}

/// A data point's attributes.
pub(crate) enum PointAttrs {
    /// A declaration's constant attributes, then a series' own (which win
    /// on a shared key), referenced where they live, and their encoded
    /// length (see [`series`](Self::series)).
    Series(
        &'static [(&'static str, &'static str)],
        &'static [KeyValue],
        usize,
    ),
    /// Built as messages (zero points, merged points).
    Pb(Vec<PbKeyValue>),
}

impl PointAttrs {
    /// A series' attributes, measured now: the collector visits each
    /// series once, its attributes already fetched, and the encoder then
    /// sizes the request without reading them.
    pub(crate) fn series(
        consts: &'static [(&'static str, &'static str)],
        attrs: &'static [KeyValue],
    ) -> PointAttrs {
        PointAttrs::Series(
            consts,
            attrs,
            super::encode::series_attrs_len(consts, attrs),
        )
    }

    pub(crate) fn into_pb(self) -> Vec<PbKeyValue> {
        match self {
            PointAttrs::Series(consts, attrs, _) => pb_attrs(consts, attrs),
            PointAttrs::Pb(pb) => pb,
        }
    }

    /// The constants a series' own attributes do not override.
    pub(crate) fn live_consts(
        consts: &'static [(&'static str, &'static str)],
        attrs: &'static [KeyValue],
    ) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        consts
            .iter()
            .filter(move |(k, _)| !attrs.iter().any(|a| a.key.as_str() == *k))
    }
}

/// Which series a backend files the point under (see `labels::identity`).
fn attrs_key(attrs: &[PbKeyValue], strategy: crate::translation::TranslationStrategy) -> Vec<u8> {
    crate::storage::normalise::identity(
        attrs.iter().map(|kv| {
            let text = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(any_value::Value::DoubleValue(d)) => {
                    crate::storage::normalise::render(&Value::F64(*d))
                }
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key.as_str(), text)
        }),
        strategy,
    )
}

/// The constant attributes of a declaration, then the series' own (which
/// win on a shared key).
fn pb_attrs(consts: &[(&'static str, &'static str)], attrs: &[KeyValue]) -> Vec<PbKeyValue> {
    let mut out: Vec<PbKeyValue> = consts
        .iter()
        .filter(|(k, _)| !attrs.iter().any(|a| a.key.as_str() == *k))
        .map(|(k, v)| PbKeyValue {
            key: (*k).into(),
            value: Some(string_value((*v).into())),
            ..Default::default()
        })
        .collect();
    out.extend(attrs.iter().map(|kv| PbKeyValue {
        key: kv.key.as_str().into(),
        value: Some(any_value(&kv.value)),
        ..Default::default()
    }));
    out
}

fn string_value(s: String) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s)),
    }
}

pub(crate) fn any_value(v: &Value) -> AnyValue {
    let value = match v {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::I64(i) => any_value::Value::IntValue(*i),
        Value::F64(f) => any_value::Value::DoubleValue(*f),
        Value::String(s) => any_value::Value::StringValue(s.as_str().into()),
        Value::Array(a) => {
            let values = match a {
                Array::Bool(v) => v.iter().map(|x| any_value(&Value::Bool(*x))).collect(),
                Array::I64(v) => v.iter().map(|x| any_value(&Value::I64(*x))).collect(),
                Array::F64(v) => v.iter().map(|x| any_value(&Value::F64(*x))).collect(),
                Array::String(v) => v.iter().map(|x| string_value(x.as_str().into())).collect(),
                _ => Vec::new(),
            };
            any_value::Value::ArrayValue(ArrayValue { values })
        }
        other => any_value::Value::StringValue(other.to_string()),
    };
    AnyValue { value: Some(value) }
}

/// The resource every export carries.
pub(crate) fn resource(cfg: &Config) -> Resource {
    let mut attrs: Vec<(String, String)> = vec![
        ("service.name".into(), cfg.service_name.clone()),
        (
            "service.instance.id".into(),
            cfg.service_instance_id.clone(),
        ),
        ("telemetry.sdk.name".into(), "telemetry-runtime".into()),
        ("telemetry.sdk.language".into(), "rust".into()),
        (
            "telemetry.sdk.version".into(),
            env!("CARGO_PKG_VERSION").into(),
        ),
    ];
    for (k, v) in &cfg.resource_attributes {
        attrs.retain(|(o, _)| o != k);
        attrs.push((k.clone(), v.clone()));
    }
    Resource {
        attributes: attrs
            .into_iter()
            .map(|(key, v)| PbKeyValue {
                key,
                value: Some(string_value(v)),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Number of data points in `sm`.
pub(crate) fn points_in(sm: &ScopeMetrics) -> u64 {
    sm.metrics
        .iter()
        .map(|m| match &m.data {
            Some(metric::Data::Sum(d)) => d.data_points.len(),
            Some(metric::Data::Gauge(d)) => d.data_points.len(),
            Some(metric::Data::Histogram(d)) => d.data_points.len(),
            Some(metric::Data::ExponentialHistogram(d)) => d.data_points.len(),
            Some(metric::Data::Summary(d)) => d.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

/// Puts our scope and the SDK's scopes under one resource.
pub(crate) fn request(
    cfg: &Config,
    ours: ScopeMetrics,
    sdk: Vec<ScopeMetrics>,
) -> opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest {
    let mut scope_metrics = vec![ours];
    scope_metrics.extend(sdk.into_iter().filter(|s| !s.metrics.is_empty()));
    opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource(cfg)),
            scope_metrics,
            schema_url: String::new(),
        }],
    }
}
