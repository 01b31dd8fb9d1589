//! Reading recorded values in-process, for tests: what the next export
//! would send, as cumulative totals.

use crate::config::{Config, TemporalityPreference};
use crate::export::collect::Collector;
use crate::registry::build_catalog;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue as PbKeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point, Metric};

/// The values of every declared metric at one moment, as the next export
/// would send them (cumulative). Take one with [`snapshot()`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    metrics: Vec<Metric>,
}

/// Reads every declared metric now. Cheap enough for tests, not meant for
/// hot paths. Does not start the export pipeline.
///
/// ```
/// use telemetry_runtime::{declare_static_counter, kv_pairs};
/// declare_static_counter!(HITS, "doc_snapshot_hits_total");
/// HITS.add(2, kv_pairs!("cache" => "l1"));
/// let s = telemetry_runtime::snapshot();
/// assert_eq!(s.value("doc_snapshot_hits_total", &[("cache", "l1")]), Some(2.0));
/// ```
pub fn snapshot() -> Snapshot {
    let (mut cfg, _) = Config::from_lookup(|_| None);
    cfg.temporality = TemporalityPreference::Cumulative;
    let scope = Collector::default()
        .collect(&cfg, &build_catalog())
        .into_proto();
    Snapshot {
        metrics: scope.metrics,
    }
}

fn render(kv: &PbKeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn matches(attrs: &[PbKeyValue], labels: &[(&str, &str)]) -> bool {
    labels
        .iter()
        .all(|(k, v)| attrs.iter().any(|a| a.key == *k && render(a) == *v))
}

impl Snapshot {
    /// Sum of the points of counter, up-down counter or gauge `name` whose
    /// attributes include all of `labels`; `None` if no point matches.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut total = None;
        for m in self.metrics.iter().filter(|m| m.name == name) {
            let points: Vec<(&[PbKeyValue], f64)> = match &m.data {
                Some(Data::Sum(s)) => s
                    .data_points
                    .iter()
                    .map(|p| (p.attributes.as_slice(), number(&p.value)))
                    .collect(),
                Some(Data::Gauge(g)) => g
                    .data_points
                    .iter()
                    .map(|p| (p.attributes.as_slice(), number(&p.value)))
                    .collect(),
                _ => Vec::new(),
            };
            for (attrs, v) in points {
                if matches(attrs, labels) {
                    *total.get_or_insert(0.0) += v;
                }
            }
        }
        total
    }

    /// Count and sum of the points of histogram `name` whose attributes
    /// include all of `labels`; `None` if no point matches.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<(u64, f64)> {
        let mut total: Option<(u64, f64)> = None;
        for m in self.metrics.iter().filter(|m| m.name == name) {
            let points: Vec<(&[PbKeyValue], u64, f64)> = match &m.data {
                Some(Data::Histogram(h)) => h
                    .data_points
                    .iter()
                    .map(|p| (p.attributes.as_slice(), p.count, p.sum.unwrap_or(0.0)))
                    .collect(),
                Some(Data::ExponentialHistogram(h)) => h
                    .data_points
                    .iter()
                    .map(|p| (p.attributes.as_slice(), p.count, p.sum.unwrap_or(0.0)))
                    .collect(),
                _ => Vec::new(),
            };
            for (attrs, c, s) in points {
                if matches(attrs, labels) {
                    let t = total.get_or_insert((0, 0.0));
                    t.0 += c;
                    t.1 += s;
                }
            }
        }
        total
    }

    /// Names of the metrics in the snapshot.
    pub fn names(&self) -> Vec<&str> {
        self.metrics.iter().map(|m| m.name.as_str()).collect()
    }
}

fn number(v: &Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsInt(i)) => *i as f64,
        Some(number_data_point::Value::AsDouble(d)) => *d,
        None => 0.0,
    }
}

/// An exporter's own state (its collector, whose body buffer is kept from
/// one export to the next), exporting as the pipeline does but sending
/// nothing: the export-cost benchmark measures export after export, as the
/// pipeline runs them.
#[doc(hidden)]
pub struct __Exporter {
    cfg: Config,
    collector: Collector,
}

impl __Exporter {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        __Exporter {
            cfg: Config::from_lookup(|_| None).0,
            collector: Collector::default(),
        }
    }

    /// Collects and encodes one export; the body it would send.
    pub fn export(&mut self) -> &[u8] {
        let scope = self.collector.collect(&self.cfg, &build_catalog());
        self.collector.encode(&self.cfg, scope, Vec::new())
    }
}
