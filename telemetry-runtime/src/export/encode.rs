//! Encodes an export request in one pass over lengths computed once.
//!
//! `prost` writes a nested message's length before the message, and finds
//! it by walking the message: a data point sits seven levels deep in a
//! request, so its attributes were measured seven times per export. Here
//! the levels down to the metrics' data containers are written by hand,
//! with each level's length computed once. Our own points are written by
//! hand too, straight from the collector's flat words ([`OurPoints`]: no
//! message is built for them), field by field in `prost`'s order (by
//! field number), with their attributes straight from the series; only
//! an exponential point goes through a `prost` message. The SDK's points
//! are `prost`'s. The bytes are exactly `prost`'s for the same messages
//! (tests check it, for every point kind).

use super::collect::{any_value, OurPoints, PointAttrs, Shape};
use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, Metric, ResourceMetrics, ScopeMetrics,
};
use prost::encoding::{encoded_len_varint, key_len, WireType};
use prost::Message;

/// The request's bytes, identical to `req.encode_to_vec()` once the
/// points `ours[m]` are put into metric `m` of the first scope of the
/// first resource (our scope, whose data containers were collected
/// without points).
#[cfg(test)]
pub(crate) fn encode_request(req: &ExportMetricsServiceRequest, ours: &[OurPoints]) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_request_into(req, ours, &mut buf);
    buf
}

/// [`encode_request`] into `buf`, cleared first: an exporter keeps one
/// buffer, so that an export does not fault in fresh pages for its body.
pub(crate) fn encode_request_into(
    req: &ExportMetricsServiceRequest,
    ours: &[OurPoints],
    buf: &mut Vec<u8>,
) {
    let sizes: Vec<ResourceSize> = req
        .resource_metrics
        .iter()
        .enumerate()
        .map(|(i, rm)| ResourceSize::of(rm, if i == 0 { ours } else { &[] }))
        .collect();
    let total: usize = sizes.iter().map(|s| framed(1, s.len)).sum();
    buf.clear();
    buf.reserve(total);
    for (i, (rm, size)) in req.resource_metrics.iter().zip(&sizes).enumerate() {
        write_resource(rm, size, if i == 0 { ours } else { &[] }, buf);
    }
    debug_assert_eq!(buf.len(), total);
}

/// The body of one export into `buf`: our scope, then the SDK's scopes,
/// under one resource.
pub(crate) fn body(
    cfg: &crate::config::Config,
    ours: super::collect::OurScope,
    sdk: Vec<ScopeMetrics>,
    buf: &mut Vec<u8>,
) {
    let super::collect::OurScope { scope, points } = ours;
    encode_request_into(&super::collect::request(cfg, scope, sdk), &points, buf)
}

/// Bytes of a length-delimited field of `len` bytes under `tag`.
fn framed(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

fn open(tag: u32, len: usize, buf: &mut Vec<u8>) {
    put_varint(u64::from(tag) << 3 | WireType::LengthDelimited as u64, buf);
    put_varint(len as u64, buf);
}

/// Appends `v` as a protobuf varint: the bytes of prost's `encode_varint`,
/// written straight into the `Vec` (keys and lengths are mostly one byte,
/// and prost's generic writer costs several times that).
#[inline]
fn put_varint(mut v: u64, buf: &mut Vec<u8>) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn string_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        framed(tag, s.len())
    }
}

fn write_string(tag: u32, s: &str, buf: &mut Vec<u8>) {
    if !s.is_empty() {
        open(tag, s.len(), buf);
        buf.extend_from_slice(s.as_bytes());
    }
}

struct ResourceSize {
    len: usize,
    scopes: Vec<ScopeSize>,
}

impl ResourceSize {
    fn of(rm: &ResourceMetrics, ours: &[OurPoints]) -> ResourceSize {
        let scopes: Vec<ScopeSize> = rm
            .scope_metrics
            .iter()
            .enumerate()
            .map(|(i, sm)| ScopeSize::of(sm, if i == 0 { ours } else { &[] }))
            .collect();
        let len = rm
            .resource
            .as_ref()
            .map_or(0, |r| framed(1, r.encoded_len()))
            + scopes.iter().map(|s| framed(2, s.len)).sum::<usize>()
            + string_len(3, &rm.schema_url);
        ResourceSize { len, scopes }
    }
}

fn write_resource(
    rm: &ResourceMetrics,
    size: &ResourceSize,
    ours: &[OurPoints],
    buf: &mut Vec<u8>,
) {
    open(1, size.len, buf);
    if let Some(r) = &rm.resource {
        prost::encoding::message::encode(1, r, buf);
    }
    for (i, (sm, s)) in rm.scope_metrics.iter().zip(&size.scopes).enumerate() {
        write_scope(sm, s, if i == 0 { ours } else { &[] }, buf);
    }
    write_string(3, &rm.schema_url, buf);
}

struct ScopeSize {
    len: usize,
    metrics: Vec<MetricSize>,
}

impl ScopeSize {
    fn of(sm: &ScopeMetrics, ours: &[OurPoints]) -> ScopeSize {
        let metrics: Vec<MetricSize> = sm
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| MetricSize::of(m, ours.get(i)))
            .collect();
        let len = sm.scope.as_ref().map_or(0, |s| framed(1, s.encoded_len()))
            + metrics.iter().map(|m| framed(2, m.len)).sum::<usize>()
            + string_len(3, &sm.schema_url);
        ScopeSize { len, metrics }
    }
}

fn write_scope(sm: &ScopeMetrics, size: &ScopeSize, ours: &[OurPoints], buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    if let Some(s) = &sm.scope {
        prost::encoding::message::encode(1, s, buf);
    }
    for (i, (m, s)) in sm.metrics.iter().zip(&size.metrics).enumerate() {
        write_metric(m, s, ours.get(i), buf);
    }
    write_string(3, &sm.schema_url, buf);
}

/// A metric's length, its data container's, and each data point's.
struct MetricSize {
    len: usize,
    data: usize,
    points: Vec<usize>,
}

/// The lengths of `points`.
fn point_lens<M: Message>(points: &[M]) -> Vec<usize> {
    points.iter().map(Message::encoded_len).collect()
}

fn temporality_len(t: i32) -> usize {
    if t == 0 {
        0
    } else {
        key_len(2) + encoded_len_varint(t as i64 as u64)
    }
}

/// The data container's points' lengths, and the length of its fields
/// other than the points.
fn data_parts(data: &Data) -> (Vec<usize>, usize) {
    match data {
        Data::Gauge(g) => (point_lens(&g.data_points), 0),
        Data::Sum(s) => (
            point_lens(&s.data_points),
            temporality_len(s.aggregation_temporality)
                + if s.is_monotonic { key_len(3) + 1 } else { 0 },
        ),
        Data::Histogram(h) => (
            point_lens(&h.data_points),
            temporality_len(h.aggregation_temporality),
        ),
        Data::ExponentialHistogram(h) => (
            point_lens(&h.data_points),
            temporality_len(h.aggregation_temporality),
        ),
        Data::Summary(s) => (point_lens(&s.data_points), 0),
    }
}

/// The field number of a data point's attributes.
fn attrs_tag(shape: Shape) -> u32 {
    match shape {
        Shape::Sum(_) | Shape::Gauge => 7,
        Shape::Histogram(_) => 9,
        Shape::Exponential => 1,
    }
}

/// Length of an attribute value's `AnyValue` message; `None` for the
/// kinds written through a message (arrays).
fn any_len(v: &Value) -> Option<usize> {
    Some(match v {
        Value::String(s) => framed(1, s.as_str().len()),
        Value::Bool(_) => key_len(2) + 1,
        Value::I64(i) => key_len(3) + encoded_len_varint(*i as u64),
        Value::F64(_) => key_len(4) + 8,
        _ => return None,
    })
}

fn write_any(v: &Value, buf: &mut Vec<u8>) {
    match v {
        Value::String(s) => {
            let s = s.as_str();
            open(1, s.len(), buf);
            buf.extend_from_slice(s.as_bytes());
        }
        Value::Bool(b) => prost::encoding::bool::encode(2, b, buf),
        Value::I64(i) => prost::encoding::int64::encode(3, i, buf),
        Value::F64(f) => prost::encoding::double::encode(4, f, buf),
        other => any_value(other).encode_raw(buf),
    }
}

/// Length of a `KeyValue` message of `key` and a value of `any` bytes.
fn kv_len(key: &str, any: usize) -> usize {
    string_len(1, key) + framed(2, any)
}

fn series_kv_len(kv: &KeyValue) -> usize {
    let any = any_len(&kv.value).unwrap_or_else(|| any_value(&kv.value).encoded_len());
    kv_len(kv.key.as_str(), any)
}

/// Bytes of a series' attributes (the live constants, then its own) as a
/// repeated field numbered below 16 (a one-byte key: the data points'
/// attribute fields are 1, 7 and 9). Computed by the collector while it
/// visits the series, so that sizing the request reads no attribute again.
pub(crate) fn series_attrs_len(
    consts: &'static [(&'static str, &'static str)],
    attrs: &'static [KeyValue],
) -> usize {
    const TAG: u32 = 1;
    PointAttrs::live_consts(consts, attrs)
        .map(|(k, v)| framed(TAG, kv_len(k, framed(1, v.len()))))
        .sum::<usize>()
        + attrs
            .iter()
            .map(|kv| framed(TAG, series_kv_len(kv)))
            .sum::<usize>()
}

/// Bytes of a point's attributes as repeated field `tag`.
fn attrs_len(tag: u32, a: &PointAttrs) -> usize {
    match a {
        PointAttrs::Series(_, _, len) => {
            debug_assert!(tag < 16, "a one-byte key");
            *len
        }
        PointAttrs::Pb(pb) => prost::encoding::message::encoded_len_repeated(tag, pb),
    }
}

fn write_attrs(tag: u32, a: &PointAttrs, buf: &mut Vec<u8>) {
    match a {
        PointAttrs::Series(consts, attrs, _) => {
            for (k, v) in PointAttrs::live_consts(consts, attrs) {
                let any = framed(1, v.len());
                open(tag, kv_len(k, any), buf);
                write_string(1, k, buf);
                open(2, any, buf);
                open(1, v.len(), buf);
                buf.extend_from_slice(v.as_bytes());
            }
            for kv in attrs.iter() {
                open(tag, series_kv_len(kv), buf);
                write_string(1, kv.key.as_str(), buf);
                let any = any_len(&kv.value).unwrap_or_else(|| any_value(&kv.value).encoded_len());
                open(2, any, buf);
                write_any(&kv.value, buf);
            }
        }
        PointAttrs::Pb(pb) => prost::encoding::message::encode_repeated(tag, pb, buf),
    }
}

impl MetricSize {
    fn of(m: &Metric, ours: Option<&OurPoints>) -> MetricSize {
        let (data, points) = match &m.data {
            Some(d) => {
                let (points, rest) = data_parts(d);
                let ours = ours.map_or(0, |o| {
                    (0..o.len()).map(|p| framed(1, our_point_len(o, p))).sum()
                });
                let len = points.iter().map(|&p| framed(1, p)).sum::<usize>() + ours + rest;
                (Some((data_tag(d), len)), points)
            }
            None => (None, Vec::new()),
        };
        let len = string_len(1, &m.name)
            + string_len(2, &m.description)
            + string_len(3, &m.unit)
            + data.map_or(0, |(tag, len)| framed(tag, len))
            + prost::encoding::message::encoded_len_repeated(12, &m.metadata);
        MetricSize {
            len,
            data: data.map_or(0, |(_, len)| len),
            points,
        }
    }
}

/// Bytes of a `fixed64` or `double` field numbered below 16 (a one-byte
/// key), left out when zero as proto3 does.
fn fixed_len(v: u64) -> usize {
    if v == 0 {
        0
    } else {
        9
    }
}

/// Bytes of a packed repeated field of `n` eight-byte values.
fn packed_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 + encoded_len_varint(8 * n as u64) + 8 * n
    }
}

/// Length of our point `p` (unframed): the bytes prost would write for
/// the message [`OurScope::into_proto`](super::collect::OurScope::into_proto) builds.
fn our_point_len(o: &OurPoints, p: usize) -> usize {
    let attrs = attrs_len(attrs_tag(o.shape), &o.attrs[p]);
    let times = fixed_len(o.start(p)) + fixed_len(o.now);
    let exemplars = |tag| prost::encoding::message::encoded_len_repeated(tag, o.exemplars(p));
    match o.shape {
        // The value is a oneof: written even when zero.
        Shape::Sum(_) | Shape::Gauge => times + 9 + exemplars(5) + attrs,
        Shape::Histogram(bounds) => {
            let nb = bounds.len() + 1;
            let count: u64 = o.raw(p)[..nb].iter().sum();
            // The sum is an optional field: written when set, as here.
            times
                + fixed_len(count)
                + 9
                + packed_len(nb)
                + packed_len(bounds.len())
                + exemplars(8)
                + attrs
        }
        Shape::Exponential => o.exponential(p).encoded_len() + attrs,
    }
}

/// A one-byte key, then `v` as eight little-endian bytes.
fn put_fixed(key: u8, v: u64, buf: &mut Vec<u8>) {
    buf.push(key);
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Writes our points, each framed as field 1 of the data container, with
/// the fields in prost's order (by number: the attributes last, but first
/// in an exponential point, where they are field 1).
fn write_our_points(o: &OurPoints, buf: &mut Vec<u8>) {
    const FIXED64: u8 = WireType::SixtyFourBit as u8;
    const PACKED: u8 = WireType::LengthDelimited as u8;
    let tag = attrs_tag(o.shape);
    for p in 0..o.len() {
        open(1, our_point_len(o, p), buf);
        let (start, now) = (o.start(p), o.now);
        let times = |buf: &mut Vec<u8>| {
            if start != 0 {
                put_fixed(2 << 3 | FIXED64, start, buf);
            }
            if now != 0 {
                put_fixed(3 << 3 | FIXED64, now, buf);
            }
        };
        match o.shape {
            Shape::Sum(_) | Shape::Gauge => {
                times(buf);
                match o.number(p) {
                    number_data_point::Value::AsDouble(d) => {
                        put_fixed(4 << 3 | FIXED64, d.to_bits(), buf)
                    }
                    number_data_point::Value::AsInt(i) => {
                        put_fixed(6 << 3 | FIXED64, i as u64, buf)
                    }
                }
                // prost writes a oneof at its lowest number (4): the
                // exemplars (5) come after the value even as field 6.
                prost::encoding::message::encode_repeated(5, o.exemplars(p), buf);
                write_attrs(tag, &o.attrs[p], buf);
            }
            Shape::Histogram(bounds) => {
                let raw = o.raw(p);
                let nb = bounds.len() + 1;
                times(buf);
                let count: u64 = raw[..nb].iter().sum();
                if count != 0 {
                    put_fixed(4 << 3 | FIXED64, count, buf);
                }
                put_fixed(5 << 3 | FIXED64, raw[nb], buf);
                // `nb` is at least 1; the bounds may be none.
                buf.push(6 << 3 | PACKED);
                put_varint(8 * nb as u64, buf);
                for w in &raw[..nb] {
                    buf.extend_from_slice(&w.to_le_bytes());
                }
                if !bounds.is_empty() {
                    buf.push(7 << 3 | PACKED);
                    put_varint(8 * bounds.len() as u64, buf);
                    for b in bounds {
                        buf.extend_from_slice(&b.to_bits().to_le_bytes());
                    }
                }
                prost::encoding::message::encode_repeated(8, o.exemplars(p), buf);
                write_attrs(tag, &o.attrs[p], buf);
            }
            Shape::Exponential => {
                write_attrs(tag, &o.attrs[p], buf);
                o.exponential(p).encode_raw(buf);
            }
        }
    }
}

fn data_tag(d: &Data) -> u32 {
    match d {
        Data::Gauge(_) => 5,
        Data::Sum(_) => 7,
        Data::Histogram(_) => 9,
        Data::ExponentialHistogram(_) => 10,
        Data::Summary(_) => 11,
    }
}

/// Writes each point, framed as field 1 of its container.
fn write_points<M: Message>(points: &[M], lens: &[usize], buf: &mut Vec<u8>) {
    for (p, &len) in points.iter().zip(lens) {
        open(1, len, buf);
        p.encode_raw(buf);
    }
}

fn write_temporality(t: i32, buf: &mut Vec<u8>) {
    if t != 0 {
        prost::encoding::int32::encode(2, &t, buf);
    }
}

fn write_metric(m: &Metric, size: &MetricSize, ours: Option<&OurPoints>, buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    write_string(1, &m.name, buf);
    write_string(2, &m.description, buf);
    write_string(3, &m.unit, buf);
    if let Some(d) = &m.data {
        open(data_tag(d), size.data, buf);
        // The points are field 1 of every container: ours first, then any
        // the message holds (ours were collected into containers without).
        if let Some(o) = ours {
            write_our_points(o, buf);
        }
        match d {
            Data::Gauge(g) => write_points(&g.data_points, &size.points, buf),
            Data::Sum(s) => {
                write_points(&s.data_points, &size.points, buf);
                write_temporality(s.aggregation_temporality, buf);
                if s.is_monotonic {
                    prost::encoding::bool::encode(3, &s.is_monotonic, buf);
                }
            }
            Data::Histogram(h) => {
                write_points(&h.data_points, &size.points, buf);
                write_temporality(h.aggregation_temporality, buf);
            }
            Data::ExponentialHistogram(h) => {
                write_points(&h.data_points, &size.points, buf);
                write_temporality(h.aggregation_temporality, buf);
            }
            Data::Summary(s) => write_points(&s.data_points, &size.points, buf),
        }
    }
    prost::encoding::message::encode_repeated(12, &m.metadata, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{
        any_value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::metrics::v1::{
        exponential_histogram_data_point::Buckets, number_data_point, ExponentialHistogram,
        ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, NumberDataPoint, Sum,
        Summary, SummaryDataPoint,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn number(i: i64, attrs: usize) -> NumberDataPoint {
        NumberDataPoint {
            attributes: (0..attrs).map(|a| kv("key", &"v".repeat(a * 70))).collect(),
            start_time_unix_nano: 1,
            time_unix_nano: 2 + i as u64,
            value: Some(number_data_point::Value::AsInt(i)),
            ..Default::default()
        }
    }

    /// Every container, empty and non-default fields, long lengths
    /// (multi-byte varints): the bytes are prost's.
    #[test]
    fn bytes_are_prosts() {
        let metrics = vec![
            Metric {
                name: "a_total".into(),
                description: "x".repeat(200),
                unit: "1".into(),
                metadata: vec![kv("m", "n")],
                data: Some(Data::Sum(Sum {
                    data_points: (0..300).map(|i| number(i, (i % 4) as usize)).collect(),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                })),
            },
            Metric {
                name: "g".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: vec![number(-5, 1)],
                })),
                ..Default::default()
            },
            Metric {
                name: "h_seconds".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: vec![kv("a", "b")],
                        count: 3,
                        sum: Some(1.5),
                        bucket_counts: vec![1, 2, 0],
                        explicit_bounds: vec![0.5, 1.0],
                        ..Default::default()
                    }],
                    aggregation_temporality: 1,
                })),
                ..Default::default()
            },
            Metric {
                name: "e".into(),
                data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        scale: 3,
                        count: 2,
                        positive: Some(Buckets {
                            offset: -4,
                            bucket_counts: vec![1, 1],
                        }),
                        ..Default::default()
                    }],
                    aggregation_temporality: 0,
                })),
                ..Default::default()
            },
            Metric {
                name: "s".into(),
                data: Some(Data::Summary(Summary {
                    data_points: vec![SummaryDataPoint {
                        count: 1,
                        sum: 2.0,
                        ..Default::default()
                    }],
                })),
                ..Default::default()
            },
            Metric {
                name: "no_data".into(),
                ..Default::default()
            },
            Metric {
                name: "empty_sum".into(),
                data: Some(Data::Sum(Sum::default())),
                ..Default::default()
            },
        ];
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![
                ResourceMetrics {
                    resource: Some(Resource {
                        attributes: vec![kv("service.name", "svc")],
                        ..Default::default()
                    }),
                    scope_metrics: vec![
                        ScopeMetrics {
                            scope: Some(InstrumentationScope {
                                name: "telemetry-runtime".into(),
                                version: "0.1.0".into(),
                                ..Default::default()
                            }),
                            metrics,
                            schema_url: String::new(),
                        },
                        ScopeMetrics {
                            schema_url: "https://example".into(),
                            ..Default::default()
                        },
                    ],
                    schema_url: "s".into(),
                },
                ResourceMetrics::default(),
            ],
        };
        assert_eq!(encode_request(&req, &[]), req.encode_to_vec());
        let empty = ExportMetricsServiceRequest::default();
        assert_eq!(encode_request(&empty, &[]), empty.encode_to_vec());
    }

    /// Points written straight from the collected words, with attributes
    /// straight from the series, are the bytes prost writes for the same
    /// points as messages, in every point kind.
    #[test]
    fn points_written_directly_are_prosts_bytes() {
        use super::super::collect::OurScope;
        use opentelemetry::Array;
        let leak = |v: Vec<opentelemetry::KeyValue>| -> &'static [opentelemetry::KeyValue] {
            Box::leak(v.into_boxed_slice())
        };
        let series = leak(vec![
            opentelemetry::KeyValue::new("method", "GET"),
            opentelemetry::KeyValue::new("empty", ""),
            opentelemetry::KeyValue::new("long", "é".repeat(100)),
            opentelemetry::KeyValue::new("neg", -7i64),
            opentelemetry::KeyValue::new("ok", true),
            opentelemetry::KeyValue::new("ratio", 0.25),
            opentelemetry::KeyValue::new("list", Value::Array(Array::I64(vec![1, -2, 3]))),
            opentelemetry::KeyValue::new("region", "override"),
        ]);
        let consts: &'static [(&'static str, &'static str)] = &[("region", "eu"), ("tier", "gold")];
        let attrs = || {
            vec![
                PointAttrs::series(consts, series),
                PointAttrs::series(&[], &[]),
                PointAttrs::series(consts, &[]),
                PointAttrs::Pb(vec![kv("a", "b")]),
            ]
        };
        use super::super::collect::OurPoints;
        use crate::meta::InstrumentKind;
        // Four points per metric, their attributes as above; words and
        // start times with zeros (fields left out) and large values.
        // Points 1 and 3 have exemplars (3 two, one without a span), 0 and
        // 2 none.
        use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar};
        let exemplar = |v: exemplar::Value, span: bool| Exemplar {
            time_unix_nano: 1_700_000_000_000_000_123,
            trace_id: if span { vec![0xab; 16] } else { Vec::new() },
            span_id: if span { vec![0xcd; 8] } else { Vec::new() },
            value: Some(v),
            ..Default::default()
        };
        let ours = |shape: Shape, stride: usize, words: Vec<u64>| OurPoints {
            shape,
            now: 1_700_000_000_000_000_000,
            stride,
            attrs: attrs(),
            starts: vec![0, 1, 1 << 40, 5],
            words,
            exemplar_points: vec![1, 3, 3],
            exemplars: vec![
                exemplar(exemplar::Value::AsInt(-4), true),
                exemplar(exemplar::Value::AsDouble(0.25), true),
                exemplar(exemplar::Value::AsInt(0), false),
            ],
        };
        let exp_words = |p: u64| {
            use crate::storage::exponential::{Point, Side, RAW_WORDS};
            let mut w = vec![0u64; RAW_WORDS];
            let point = Point {
                scale: 3 - p as i32,
                zero: p,
                positive: Side {
                    offset: -3 * p as i32,
                    counts: vec![p, 0, 7],
                },
                negative: Side {
                    offset: 2,
                    counts: vec![0; p as usize],
                },
            };
            point.to_raw(2.5f64.to_bits(), &mut w);
            w
        };
        let bounds: &'static [f64] = &[0.5, 1.0];
        let points = vec![
            ours(
                Shape::Sum(InstrumentKind::Counter),
                1,
                vec![0, 7, u64::MAX, 1 << 63],
            ),
            ours(
                Shape::Sum(InstrumentKind::UpDownCounter),
                1,
                vec![0, (-3i64) as u64, 9, 1],
            ),
            ours(
                Shape::Gauge,
                1,
                vec![0, 2.5f64.to_bits(), (-1.0f64).to_bits(), 7],
            ),
            ours(
                Shape::Histogram(bounds),
                4,
                [
                    [0, 0, 0, 0],
                    [1, 0, 2, 1.5f64.to_bits()],
                    [0, 5, 0, 0],
                    [3, 3, 3, 9],
                ]
                .concat(),
            ),
            ours(Shape::Histogram(&[]), 2, vec![0, 0, 4, 1, 0, 0, 1, 0]),
            ours(
                Shape::Exponential,
                crate::storage::exponential::RAW_WORDS,
                [exp_words(0), exp_words(1), exp_words(2), exp_words(3)].concat(),
            ),
        ];
        let container = |o: &OurPoints| match o.shape {
            Shape::Sum(k) => Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: 2,
                is_monotonic: k == InstrumentKind::Counter,
            }),
            Shape::Gauge => Data::Gauge(Gauge {
                data_points: Vec::new(),
            }),
            Shape::Histogram(_) => Data::Histogram(Histogram {
                data_points: Vec::new(),
                aggregation_temporality: 1,
            }),
            Shape::Exponential => Data::ExponentialHistogram(ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: 2,
            }),
        };
        let metrics = points
            .iter()
            .enumerate()
            .map(|(i, o)| Metric {
                name: format!("m{i}"),
                data: Some(container(o)),
                ..Default::default()
            })
            .collect();
        let scope = ScopeMetrics {
            metrics,
            ..Default::default()
        };
        let direct = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![scope.clone()],
                ..Default::default()
            }],
        };
        let got = encode_request(&direct, &points);
        let ours = OurScope { scope, points };
        let filled = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ours.into_proto()],
                ..Default::default()
            }],
        };
        assert_eq!(got, filled.encode_to_vec());
    }
}
