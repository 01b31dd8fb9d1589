//! Encodes an export request in one pass over lengths computed once.
//!
//! `prost` writes a nested message's length before the message, and finds
//! it by walking the message: a data point sits seven levels deep in a
//! request, so its attributes were measured seven times per export. Here
//! the levels down to the metrics' data containers are written by hand,
//! each data point is measured once, and `prost` encodes only the points
//! themselves. The bytes are exactly `prost`'s (a test checks it).

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, Metric, ResourceMetrics, ScopeMetrics,
};
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;

/// The request's bytes, identical to `req.encode_to_vec()`.
pub(crate) fn encode_request(req: &ExportMetricsServiceRequest) -> Vec<u8> {
    let sizes: Vec<ResourceSize> = req.resource_metrics.iter().map(ResourceSize::of).collect();
    let total: usize = sizes.iter().map(|s| framed(1, s.len)).sum();
    let mut buf = Vec::with_capacity(total);
    for (rm, size) in req.resource_metrics.iter().zip(&sizes) {
        write_resource(rm, size, &mut buf);
    }
    debug_assert_eq!(buf.len(), total);
    buf
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
    fn of(rm: &ResourceMetrics) -> ResourceSize {
        let scopes: Vec<ScopeSize> = rm.scope_metrics.iter().map(ScopeSize::of).collect();
        let len = rm
            .resource
            .as_ref()
            .map_or(0, |r| framed(1, r.encoded_len()))
            + scopes.iter().map(|s| framed(2, s.len)).sum::<usize>()
            + string_len(3, &rm.schema_url);
        ResourceSize { len, scopes }
    }
}

fn write_resource(rm: &ResourceMetrics, size: &ResourceSize, buf: &mut Vec<u8>) {
    open(1, size.len, buf);
    if let Some(r) = &rm.resource {
        prost::encoding::message::encode(1, r, buf);
    }
    for (sm, s) in rm.scope_metrics.iter().zip(&size.scopes) {
        write_scope(sm, s, buf);
    }
    write_string(3, &rm.schema_url, buf);
}

struct ScopeSize {
    len: usize,
    metrics: Vec<MetricSize>,
}

impl ScopeSize {
    fn of(sm: &ScopeMetrics) -> ScopeSize {
        let metrics: Vec<MetricSize> = sm.metrics.iter().map(MetricSize::of).collect();
        let len = sm.scope.as_ref().map_or(0, |s| framed(1, s.encoded_len()))
            + metrics.iter().map(|m| framed(2, m.len)).sum::<usize>()
            + string_len(3, &sm.schema_url);
        ScopeSize { len, metrics }
    }
}

fn write_scope(sm: &ScopeMetrics, size: &ScopeSize, buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    if let Some(s) = &sm.scope {
        prost::encoding::message::encode(1, s, buf);
    }
    for (m, s) in sm.metrics.iter().zip(&size.metrics) {
        write_metric(m, s, buf);
    }
    write_string(3, &sm.schema_url, buf);
}

/// A metric's length, its data container's, and each data point's.
struct MetricSize {
    len: usize,
    data: usize,
    points: Vec<usize>,
}

/// The data container's field number, its points' lengths, and the
/// length of its fields other than the points.
fn data_parts(data: &Data) -> (u32, Vec<usize>, usize) {
    fn lens<M: Message>(points: &[M]) -> Vec<usize> {
        points.iter().map(Message::encoded_len).collect()
    }
    let temporality = |t: i32| {
        if t == 0 {
            0
        } else {
            key_len(2) + encoded_len_varint(t as i64 as u64)
        }
    };
    let tag = data_tag(data);
    match data {
        Data::Gauge(g) => (tag, lens(&g.data_points), 0),
        Data::Sum(s) => (
            tag,
            lens(&s.data_points),
            temporality(s.aggregation_temporality)
                + if s.is_monotonic { key_len(3) + 1 } else { 0 },
        ),
        Data::Histogram(h) => (
            tag,
            lens(&h.data_points),
            temporality(h.aggregation_temporality),
        ),
        Data::ExponentialHistogram(h) => (
            tag,
            lens(&h.data_points),
            temporality(h.aggregation_temporality),
        ),
        Data::Summary(s) => (tag, lens(&s.data_points), 0),
    }
}

impl MetricSize {
    fn of(m: &Metric) -> MetricSize {
        let (tag, data, points) = match &m.data {
            Some(d) => {
                let (tag, points, rest) = data_parts(d);
                let data = points.iter().map(|&p| framed(1, p)).sum::<usize>() + rest;
                (tag, data, points)
            }
            None => (0, 0, Vec::new()),
        };
        let len = string_len(1, &m.name)
            + string_len(2, &m.description)
            + string_len(3, &m.unit)
            + if tag == 0 { 0 } else { framed(tag, data) }
            + prost::encoding::message::encoded_len_repeated(12, &m.metadata);
        MetricSize { len, data, points }
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

fn write_metric(m: &Metric, size: &MetricSize, buf: &mut Vec<u8>) {
    open(2, size.len, buf);
    write_string(1, &m.name, buf);
    write_string(2, &m.description, buf);
    write_string(3, &m.unit, buf);
    if let Some(d) = &m.data {
        open(data_tag(d), size.data, buf);
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
        assert_eq!(encode_request(&req), req.encode_to_vec());
        let empty = ExportMetricsServiceRequest::default();
        assert_eq!(encode_request(&empty), empty.encode_to_vec());
    }
}
