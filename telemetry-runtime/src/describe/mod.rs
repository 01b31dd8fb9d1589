//! The program describes its own observability: the catalog as Markdown
//! and JSON, the PromQL for every metric, a Grafana dashboard and a
//! Prometheus rules file, all derived from the link-time registry.

mod grafana;
mod json;
mod markdown;
mod promql;
mod rules;

pub use promql::{Query, QueryOptions, QUANTILES};

use crate::meta::{InstrumentKind, Location};
use crate::registry::{is_dropped, Catalog};
use std::collections::BTreeMap;
use std::path::Path;

/// One metric name, merged over its declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// The metric name.
    pub name: &'static str,
    /// Its kind.
    pub kind: InstrumentKind,
    /// Its unit.
    pub unit: &'static str,
    /// Its description (of the first declaration that has one).
    pub description: &'static str,
    /// Label keys, each with its known values (empty when free-form).
    pub labels: Vec<(String, Vec<String>)>,
    /// Histogram bucket bounds.
    pub buckets: &'static [f64],
    /// Where it is declared (several for metered functions).
    pub declared_at: Vec<Location>,
}

impl MetricSummary {
    /// Whether this is one of the metrics of `#[metered]` (they carry the
    /// `function` and `module` labels).
    pub fn is_metered(&self) -> bool {
        let has = |key: &str| self.labels.iter().any(|(k, _)| k == key);
        has("function") && has("module")
    }

    /// The name the backend stores under `strategy` (for a histogram,
    /// the base of `_bucket`, `_count` and `_sum`).
    pub fn stored_name(&self, strategy: crate::translation::TranslationStrategy) -> String {
        strategy.metric_name(self.name, self.unit, self.kind)
    }

    /// Known values of label `key`.
    pub fn values_of(&self, key: &str) -> &[String] {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// A metered function: its labels and which of its metrics exist.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteredFunction {
    /// The `function` label.
    pub function: String,
    /// The `module` label.
    pub module: String,
    /// The name of its duration histogram, unless left out.
    pub histogram: Option<String>,
    /// Whether `function_calls_total` is exported for it.
    pub calls: bool,
    /// Whether `function_calls_in_flight` is exported for it.
    pub in_flight: bool,
    /// Its objectives from `#[metered(objective(..))]`: `latency_seconds`,
    /// `percentile`, `error_ratio`.
    pub objectives: Vec<(&'static str, f64)>,
}

impl MeteredFunction {
    /// The value of objective `name`, if set.
    pub fn objective(&self, name: &str) -> Option<f64> {
        self.objectives
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }
}

impl Catalog {
    /// Every metered function, sorted by module and name.
    pub fn metered_functions(&self) -> Vec<MeteredFunction> {
        let mut by: BTreeMap<(String, String), MeteredFunction> = BTreeMap::new();
        for m in self.iter() {
            let get = |k: &str| {
                m.const_attributes
                    .iter()
                    .find(|(x, _)| *x == k)
                    .map(|(_, v)| *v)
            };
            let (Some(function), Some(module)) = (get("function"), get("module")) else {
                continue;
            };
            let f = by
                .entry((module.to_owned(), function.to_owned()))
                .or_insert_with(|| MeteredFunction {
                    function: function.to_owned(),
                    module: module.to_owned(),
                    histogram: None,
                    calls: false,
                    in_flight: false,
                    objectives: Vec::new(),
                });
            if f.objectives.is_empty() {
                f.objectives = m.objectives.to_vec();
            }
            match m.kind {
                InstrumentKind::Histogram => f.histogram = Some(m.name.to_owned()),
                InstrumentKind::Counter => f.calls = true,
                InstrumentKind::UpDownCounter => f.in_flight = true,
                InstrumentKind::Gauge => {}
            }
        }
        by.into_values().collect()
    }

    /// One summary per metric name, sorted by name (conflicting
    /// declarations that are not exported are left out).
    pub fn summaries(&self) -> Vec<MetricSummary> {
        let mut by_name: BTreeMap<&'static str, MetricSummary> = BTreeMap::new();
        for m in self.iter() {
            if is_dropped(self, m) {
                continue;
            }
            let s = by_name.entry(m.name).or_insert_with(|| MetricSummary {
                name: m.name,
                kind: m.kind,
                unit: m.unit,
                description: m.description,
                labels: Vec::new(),
                buckets: m.buckets,
                declared_at: Vec::new(),
            });
            if s.description.is_empty() {
                s.description = m.description;
            }
            s.declared_at.push(m.location);
            let mut add = |key: &str, values: &[&str]| {
                let i = match s.labels.iter().position(|(k, _)| k == key) {
                    Some(i) => i,
                    None => {
                        s.labels.push((key.to_owned(), Vec::new()));
                        s.labels.len() - 1
                    }
                };
                for v in values {
                    if !s.labels[i].1.iter().any(|x| x == v) {
                        s.labels[i].1.push((*v).to_owned());
                    }
                }
            };
            for (k, v) in m.const_attributes {
                add(k, &[v]);
            }
            for (i, k) in m.label_keys.iter().enumerate() {
                add(k, m.label_values.get(i).copied().unwrap_or(&[]));
            }
        }
        let mut out: Vec<MetricSummary> = by_name.into_values().collect();
        for s in &mut out {
            for (_, v) in &mut s.labels {
                v.sort();
            }
        }
        out
    }

    /// The catalog as a Markdown table, with the name each metric is
    /// stored as under the configured translation strategy
    /// (`HYPERACTOR_OTEL_TRANSLATION_STRATEGY`).
    pub fn to_markdown(&self) -> String {
        self.to_markdown_for(crate::config::current().translation_strategy)
    }

    /// [`to_markdown`](Self::to_markdown) under `strategy`.
    pub fn to_markdown_for(&self, strategy: crate::translation::TranslationStrategy) -> String {
        markdown::render(&self.summaries(), strategy)
    }

    /// The catalog as pretty-printed JSON, with each metric's stored name
    /// under the configured translation strategy.
    pub fn to_json(&self) -> String {
        self.to_json_for(crate::config::current().translation_strategy)
    }

    /// [`to_json`](Self::to_json) under `strategy`.
    pub fn to_json_for(&self, strategy: crate::translation::TranslationStrategy) -> String {
        json::render(&self.summaries(), strategy)
    }

    /// The names the backend stores for every exported metric under
    /// `strategy`, sorted: histograms as their `_bucket`, `_count` and
    /// `_sum` series (or their base name with `native_histograms`). What
    /// `/api/v1/label/__name__/values` should list.
    pub fn stored_series_names(
        &self,
        strategy: crate::translation::TranslationStrategy,
        native_histograms: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.summaries() {
            let base = m.stored_name(strategy);
            if m.kind == InstrumentKind::Histogram && !native_histograms {
                for s in ["_bucket", "_count", "_sum"] {
                    out.push(format!("{base}{s}"));
                }
            } else {
                out.push(base);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The PromQL queries for every metric, and the RED set of every
    /// metered function.
    pub fn queries(&self, opts: &QueryOptions) -> Vec<(String, Vec<Query>)> {
        promql::all(&self.summaries(), &self.metered_functions(), opts)
    }

    /// A Grafana dashboard (JSON model) with one row per module of metered
    /// functions and one per group of other metrics, templated on the
    /// `job` and `instance` labels (names from `opts`).
    pub fn grafana_dashboard(&self, opts: &QueryOptions) -> String {
        grafana::render(&self.summaries(), &self.metered_functions(), opts)
    }

    /// A Prometheus rules file: recording rules for the RED set of metered
    /// functions and alerts on their error ratio.
    pub fn prometheus_rules(&self, opts: &QueryOptions) -> String {
        rules::render(&self.metered_functions(), opts)
    }

    /// The recording rules and alerts of [`prometheus_rules`](Self::prometheus_rules),
    /// as (name, expression) pairs.
    pub fn rule_expressions(&self, opts: &QueryOptions) -> Vec<(String, String)> {
        let f = self.metered_functions();
        let mut out = rules::recording(&f, opts);
        out.extend(rules::alerts(&f, opts));
        out
    }

    /// Writes `catalog.md`, `catalog.json`, `dashboard.json` and
    /// `rules.yml` into `dir` (created if needed).
    pub fn write_to(&self, dir: &Path, opts: &QueryOptions) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("catalog.md"), self.to_markdown())?;
        std::fs::write(dir.join("catalog.json"), self.to_json())?;
        std::fs::write(dir.join("dashboard.json"), self.grafana_dashboard(opts))?;
        std::fs::write(dir.join("rules.yml"), self.prometheus_rules(opts))?;
        Ok(())
    }
}

/// Writes the generated files into `$TELEMETRY_CATALOG_DIR` when it is set
/// (called once when the pipeline starts).
pub(crate) fn write_from_env(catalog: &Catalog) {
    let Some(dir) = std::env::var_os("TELEMETRY_CATALOG_DIR") else {
        return;
    };
    if dir.is_empty() {
        return;
    }
    if let Err(e) = catalog.write_to(Path::new(&dir), &QueryOptions::default()) {
        crate::diag::warn(format_args!(
            "TELEMETRY_CATALOG_DIR={}: could not write the catalog files: {e}",
            Path::new(&dir).display()
        ));
    }
}
