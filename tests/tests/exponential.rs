//! Exponential histograms as sent: a child process records a known set of
//! values from several threads (so from stripes that each chose their own
//! scale, some sharing stripe 0), flushes to a server that keeps the
//! request, and the test decodes the protobuf and compares every bucket
//! with counts it computes itself from the exported scale, by the
//! OpenTelemetry mapping.

use opentelemetry_proto::tonic::metrics::v1::{metric, ExponentialHistogramDataPoint};
use std::collections::BTreeMap;
use tests::fault::{Child, FaultServer, Reply};

/// The specification's mapping of `v` (> 0) at `scale`: the logarithm
/// above scale 0, the binary exponent at or below, and an exact power of
/// two as the upper bound of the bucket below it.
fn index(v: f64, scale: i32) -> i32 {
    let bits = v.to_bits();
    let frac = bits & ((1 << 52) - 1);
    let exp = ((bits >> 52) & 0x7ff) as i32;
    assert!(exp != 0, "normal values only");
    let e = exp - 1023;
    if frac == 0 {
        return if scale >= 0 {
            (e << scale) - 1
        } else {
            (e - 1) >> -scale
        };
    }
    if scale <= 0 {
        return e >> -scale;
    }
    (v.log2() * f64::from(1u32 << scale)).ceil() as i32 - 1
}

fn log_spaced(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
        .collect()
}

/// The point of `reliability_size_bytes` with `phase=<phase>` in `body`.
fn point(req: &tests::fault::Request, phase: &str) -> ExponentialHistogramDataPoint {
    for rm in req.decode().resource_metrics {
        for sm in rm.scope_metrics {
            for m in sm.metrics {
                if m.name != "reliability_size_bytes" {
                    continue;
                }
                let Some(metric::Data::ExponentialHistogram(h)) = m.data else {
                    panic!("not exponential: {:?}", m.data);
                };
                for p in h.data_points {
                    if p.attributes.iter().any(|a| {
                        a.key == "phase"
                            && format!("{:?}", a.value).contains(&format!("\"{phase}\""))
                    }) {
                        return p;
                    }
                }
            }
        }
    }
    panic!("no point for phase={phase}");
}

/// Bucket counts by index, without empty buckets.
fn nonzero(offset: i32, counts: &[u64]) -> BTreeMap<i32, u64> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 0)
        .map(|(i, c)| (offset + i as i32, *c))
        .collect()
}

fn reference(values: &[f64], scale: i32) -> (BTreeMap<i32, u64>, BTreeMap<i32, u64>, u64) {
    let (mut pos, mut neg, mut zero) = (BTreeMap::new(), BTreeMap::new(), 0);
    for v in values {
        if *v > 0.0 {
            *pos.entry(index(*v, scale)).or_insert(0) += 1;
        } else if *v < 0.0 {
            *neg.entry(index(-*v, scale)).or_insert(0) += 1;
        } else {
            zero += 1;
        }
    }
    (pos, neg, zero)
}

/// Records `groups` (one thread each) under `phase`, flushes, and checks
/// the exported point against the reference; returns its scale.
fn exported_exactly(groups: &[Vec<f64>], phase: &str) -> i32 {
    let server = FaultServer::always(Reply::ok());
    let endpoint = server.endpoint();
    let id = format!("exp-{phase}-{}", std::process::id());
    let mut c = Child::spawn(
        env!("CARGO_BIN_EXE_reliability_child"),
        &[
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_INSTANCE_ID", &id),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                "base2_exponential_bucket_histogram",
            ),
        ],
    );
    let arg: Vec<String> = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    c.ok(&format!("hists {} phase={phase}", arg.join(";")));
    assert!(c.cmd("flush").starts_with("ok"), "{}", c.stderr());
    let (status, err) = c.finish("quit");
    assert!(status.success(), "{err}");
    let requests = server.requests();
    let last = requests.last().expect("a request");
    let p = point(last, phase);
    let all: Vec<f64> = groups.concat();
    let (pos, neg, zero) = reference(&all, p.scale);
    let got_pos = p
        .positive
        .as_ref()
        .map_or_else(BTreeMap::new, |b| nonzero(b.offset, &b.bucket_counts));
    let got_neg = p
        .negative
        .as_ref()
        .map_or_else(BTreeMap::new, |b| nonzero(b.offset, &b.bucket_counts));
    assert_eq!(got_pos, pos, "positive buckets at scale {}", p.scale);
    assert_eq!(got_neg, neg, "negative buckets at scale {}", p.scale);
    assert_eq!(p.zero_count, zero);
    assert_eq!(p.count, all.len() as u64);
    let sum: f64 = all.iter().sum();
    let got = p.sum.unwrap_or(f64::NAN);
    assert!(
        (got - sum).abs() <= 1e-9 * sum.abs().max(1.0),
        "{got} vs {sum}"
    );
    p.scale
}

#[test]
fn three_decades_are_sent_at_scale_3_with_exact_buckets() {
    let mut values = log_spaced(1.0, 1000.0, 400);
    values.extend([2.0, 4.0, 512.0, 1.0 + 1e-12]);
    assert_eq!(exported_exactly(&[values], "three-decades"), 3);
}

#[test]
fn stripes_at_different_scales_merge_exactly() {
    // Six threads on a machine with at most 4 stripes of their own (on 2
    // cores): some share stripe 0. Each covers its own range, so each
    // stripe is at its own scale; the point is at the lowest, scale 2
    // (the 6-decade thread's).
    let groups = vec![
        log_spaced(1.0, 1.2, 300),
        log_spaced(0.001, 1.0, 300),
        log_spaced(3.7, 5.0, 200),
        log_spaced(1e-3, 1e3, 400),
        [log_spaced(20.0, 30.0, 100), vec![0.0, 0.0]].concat(),
        log_spaced(2.0, 8.0, 50).iter().map(|v| -v).collect(),
    ];
    assert_eq!(exported_exactly(&groups, "stripes"), 2);
}
