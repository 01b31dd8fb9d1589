//! Encodes an export request in one pass over lengths computed once.
//!
//! `prost` writes a nested message's length before the message, and finds
//! it by walking the message: a data point sits seven levels deep in a
//! request, so its attributes were measured seven times per export. Here
//! the levels down to the metrics' data containers are written by hand,
//! each data point is measured once, and `prost` encodes only the points
//! themselves. Our own points' attributes are written here too, straight
//! from the series (no message is built for them), in the place `prost`
//! gives them as long as the fields numbered after them are unset (flags,
//! min, max, exemplars: `collect.rs` sets none). The bytes are then
//! exactly `prost`'s for the same messages (tests check it).

use super::collect::{any_value, PointAttrs};
use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, Metric, ResourceMetrics, ScopeMetrics,
};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;

/// The request's bytes, identical to `req.encode_to_vec()` once
/// `ours[m][p]` is put into data point `p` of metric `m` of the first
/// scope of the first resource (our scope, whose points were collected
/// without attributes).
pub(crate) fn encode_request(
    req: &ExportMetricsServiceRequest,
    ours: &[Vec<PointAttrs>],
) -> Vec<u8> {
    let sizes: Vec<ResourceSize> = req
        .resource_metrics
        .iter()
        .enumerate()
        .map(|(i, rm)| ResourceSize::of(rm, if i == 0 { ours } else { &[] }))
        .collect();
    let total: usize = sizes.iter().map(|s| framed(1, s.len)).sum();
    let mut buf = Vec::with_capacity(total);
    for (i, (rm, size)) in req.resource_metrics.iter().zip(&sizes).enumerate() {
        write_resource(rm, size, if i == 0 { ours } else { &[] }, &mut buf);
    }
    debug_assert_eq!(buf.len(), total);
    buf
}

/// The body of one export: our scope, then the SDK's scopes, under one
/// resource.
pub(crate) fn body(
    cfg: &crate::config::Config,
    ours: super::collect::OurScope,
    sdk: Vec<ScopeMetrics>,
) -> Vec<u8> {
    let super::collect::OurScope { scope, attrs } = ours;
    encode_request(&super::collect::request(cfg, scope, sdk), &attrs)
}

/// Bytes of a length-delimited field of `len` bytes under `tag`.
fn framed(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

fn open(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
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
    fn of(rm: &ResourceMetrics, ours: &[Vec<PointAttrs>]) -> ResourceSize {
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
    ours: &[Vec<PointAttrs>],
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
    fn of(sm: &ScopeMetrics, ours: &[Vec<PointAttrs>]) -> ScopeSize {
        let metrics: Vec<MetricSize> = sm
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| MetricSize::of(m, ours.get(i).map_or(&[][..], |a| &a[..])))
            .collect();
        let len = sm.scope.as_ref().map_or(0, |s| framed(1, s.encoded_len()))
            + metrics.iter().map(|m| framed(2, m.len)).sum::<usize>()
            + string_len(3, &sm.schema_url);
        ScopeSize { len, metrics }
    }
}

fn write_scope(sm: &ScopeMetrics, size: &ScopeSize, ours: &[Vec<PointAttrs>], buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    if let Some(s) = &sm.scope {
        prost::encoding::message::encode(1, s, buf);
    }
    for (i, (m, s)) in sm.metrics.iter().zip(&size.metrics).enumerate() {
        write_metric(m, s, ours.get(i).map_or(&[][..], |a| &a[..]), buf);
    }
    write_string(3, &sm.schema_url, buf);
}

/// A metric's length, its data container's, and each data point's.
struct MetricSize {
    len: usize,
    data: usize,
    points: Vec<usize>,
}

/// The lengths of `points`, each with its attributes kept aside
/// (`attrs[p]` for point `p`, as field `tag`).
fn point_lens<M: Message>(points: &[M], attrs: &[PointAttrs], tag: u32) -> Vec<usize> {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| p.encoded_len() + attrs.get(i).map_or(0, |a| attrs_len(tag, a)))
        .collect()
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
fn data_parts(data: &Data, attrs: &[PointAttrs]) -> (Vec<usize>, usize) {
    let t = attrs_tag(data);
    match data {
        Data::Gauge(g) => (point_lens(&g.data_points, attrs, t), 0),
        Data::Sum(s) => (
            point_lens(&s.data_points, attrs, t),
            temporality_len(s.aggregation_temporality)
                + if s.is_monotonic { key_len(3) + 1 } else { 0 },
        ),
        Data::Histogram(h) => (
            point_lens(&h.data_points, attrs, t),
            temporality_len(h.aggregation_temporality),
        ),
        Data::ExponentialHistogram(h) => (
            point_lens(&h.data_points, attrs, t),
            temporality_len(h.aggregation_temporality),
        ),
        Data::Summary(s) => (point_lens(&s.data_points, attrs, t), 0),
    }
}

/// The field number of a data point's attributes.
fn attrs_tag(data: &Data) -> u32 {
    match data {
        Data::Gauge(_) | Data::Sum(_) => 7,
        Data::Histogram(_) => 9,
        Data::ExponentialHistogram(_) => 1,
        Data::Summary(_) => 7,
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

/// Bytes of a point's attributes as repeated field `tag`.
fn attrs_len(tag: u32, a: &PointAttrs) -> usize {
    match a {
        PointAttrs::Series(consts, attrs) => {
            PointAttrs::live_consts(consts, attrs)
                .map(|(k, v)| framed(tag, kv_len(k, framed(1, v.len()))))
                .sum::<usize>()
                + attrs
                    .iter()
                    .map(|kv| framed(tag, series_kv_len(kv)))
                    .sum::<usize>()
        }
        PointAttrs::Pb(pb) => prost::encoding::message::encoded_len_repeated(tag, pb),
    }
}

fn write_attrs(tag: u32, a: &PointAttrs, buf: &mut Vec<u8>) {
    match a {
        PointAttrs::Series(consts, attrs) => {
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
    fn of(m: &Metric, attrs: &[PointAttrs]) -> MetricSize {
        let (data, points) = match &m.data {
            Some(d) => {
                let (points, rest) = data_parts(d, attrs);
                let len = points.iter().map(|&p| framed(1, p)).sum::<usize>() + rest;
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

fn data_tag(d: &Data) -> u32 {
    match d {
        Data::Gauge(_) => 5,
        Data::Sum(_) => 7,
        Data::Histogram(_) => 9,
        Data::ExponentialHistogram(_) => 10,
        Data::Summary(_) => 11,
    }
}

/// Writes each point with its attributes (kept aside): first for
/// exponential histograms (field 1), last for the others, which is their
/// field-order place when the higher-numbered fields are unset.
fn write_points<M: Message>(
    points: &[M],
    lens: &[usize],
    attrs: &[PointAttrs],
    tag: u32,
    buf: &mut Vec<u8>,
) {
    for (i, (p, &len)) in points.iter().zip(lens).enumerate() {
        open(1, len, buf);
        let a = attrs.get(i);
        if tag == 1 {
            if let Some(a) = a {
                write_attrs(tag, a, buf);
            }
        }
        p.encode_raw(buf);
        if tag != 1 {
            if let Some(a) = a {
                write_attrs(tag, a, buf);
            }
        }
    }
}

fn write_temporality(t: i32, buf: &mut Vec<u8>) {
    if t != 0 {
        prost::encoding::int32::encode(2, &t, buf);
    }
}

fn write_metric(m: &Metric, size: &MetricSize, attrs: &[PointAttrs], buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    write_string(1, &m.name, buf);
    write_string(2, &m.description, buf);
    write_string(3, &m.unit, buf);
    if let Some(d) = &m.data {
        open(data_tag(d), size.data, buf);
        let t = attrs_tag(d);
        match d {
            Data::Gauge(g) => write_points(&g.data_points, &size.points, attrs, t, buf),
            Data::Sum(s) => {
                write_points(&s.data_points, &size.points, attrs, t, buf);
                write_temporality(s.aggregation_temporality, buf);
                if s.is_monotonic {
                    prost::encoding::bool::encode(3, &s.is_monotonic, buf);
                }
            }
            Data::Histogram(h) => {
                write_points(&h.data_points, &size.points, attrs, t, buf);
                write_temporality(h.aggregation_temporality, buf);
            }
            Data::ExponentialHistogram(h) => {
                write_points(&h.data_points, &size.points, attrs, t, buf);
                write_temporality(h.aggregation_temporality, buf);
            }
            Data::Summary(s) => write_points(&s.data_points, &size.points, attrs, t, buf),
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

    /// Attributes written straight from the series are the bytes prost
    /// writes for the same attributes as messages, in every point kind.
    #[test]
    fn attributes_from_series_are_prosts_bytes() {
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
                PointAttrs::Series(consts, series),
                PointAttrs::Series(&[], &[]),
                PointAttrs::Series(consts, &[]),
                PointAttrs::Pb(vec![kv("a", "b")]),
            ]
        };
        let points = |n: usize| (0..n).map(|i| number(i as i64, 0)).collect::<Vec<_>>();
        let metrics = vec![
            Metric {
                name: "s".into(),
                data: Some(Data::Sum(Sum {
                    data_points: points(4),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                })),
                ..Default::default()
            },
            Metric {
                name: "g".into(),
                data: Some(Data::Gauge(Gauge {
                    data_points: points(4),
                })),
                ..Default::default()
            },
            Metric {
                name: "h".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: (0..4)
                        .map(|_| HistogramDataPoint {
                            count: 1,
                            sum: Some(0.5),
                            bucket_counts: vec![1, 0],
                            explicit_bounds: vec![1.0],
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                })),
                ..Default::default()
            },
            Metric {
                name: "e".into(),
                data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: (0..4)
                        .map(|_| ExponentialHistogramDataPoint {
                            count: 1,
                            scale: 3,
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                })),
                ..Default::default()
            },
        ];
        let scope = ScopeMetrics {
            metrics,
            ..Default::default()
        };
        let ours = OurScope {
            scope: scope.clone(),
            attrs: (0..4).map(|_| attrs()).collect(),
        };
        let direct = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![scope],
                ..Default::default()
            }],
        };
        let got = encode_request(&direct, &ours.attrs);
        let filled = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ours.into_proto()],
                ..Default::default()
            }],
        };
        assert_eq!(got, filled.encode_to_vec());
    }
}
