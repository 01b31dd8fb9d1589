//! A Grafana dashboard (JSON model, schema version 39) built from the
//! catalog: one row per module of metered functions, one row per module
//! of other metrics, templated on data source, job and instance.

use super::promql::{for_metric, red, Query, QueryOptions};
use super::{MeteredFunction, MetricSummary};
use serde_json::{json, Value};
use std::collections::BTreeMap;

struct Layout {
    panels: Vec<Value>,
    id: u64,
    x: u64,
    y: u64,
}

impl Layout {
    fn row(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        self.id += 1;
        self.panels.push(json!({
            "type": "row", "id": self.id, "title": title, "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": [],
        }));
        self.y += 1;
    }

    fn panel(&mut self, title: &str, unit: &str, queries: &[&Query]) {
        self.id += 1;
        let targets: Vec<Value> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                json!({
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "expr": q.expr,
                    "legendFormat": q.title,
                    "refId": ((b'A' + i as u8) as char).to_string(),
                })
            })
            .collect();
        self.panels.push(json!({
            "type": "timeseries", "id": self.id, "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 8, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": targets,
        }));
        self.x += 8;
        if self.x >= 24 {
            self.x = 0;
            self.y += 8;
        }
    }

    /// One panel per unit among `queries`.
    fn panels_by_unit(&mut self, title: &str, queries: &[Query]) {
        let mut units: Vec<&'static str> = Vec::new();
        for q in queries {
            if !units.contains(&q.unit) {
                units.push(q.unit);
            }
        }
        for u in units {
            let group: Vec<&Query> = queries.iter().filter(|q| q.unit == u).collect();
            let t = if group.len() == 1 {
                group[0].title.clone()
            } else {
                title.to_owned()
            };
            self.panel(&t, u, &group);
        }
    }
}

pub(super) fn render(
    metrics: &[MetricSummary],
    functions: &[MeteredFunction],
    opts: &QueryOptions,
) -> String {
    let (job, instance) = (&opts.job_label, &opts.instance_label);
    let mut o = opts.clone();
    o.selector = format!("{job}=\"$job\",{instance}=~\"$instance\"");
    let mut l = Layout {
        panels: Vec::new(),
        id: 0,
        x: 0,
        y: 0,
    };
    let mut modules: BTreeMap<&str, Vec<&MeteredFunction>> = BTreeMap::new();
    for f in functions {
        modules.entry(f.module.as_str()).or_default().push(f);
    }
    for (module, fs) in modules {
        l.row(&format!("metered functions: {module}"));
        for f in fs {
            l.panels_by_unit(&f.function, &red(f, &o));
        }
    }
    let mut groups: BTreeMap<&str, Vec<&MetricSummary>> = BTreeMap::new();
    let mut health: Vec<&MetricSummary> = Vec::new();
    for m in metrics.iter().filter(|m| !m.is_metered()) {
        let module = m.declared_at.first().map_or("", |l| l.module_path);
        if module == crate::meta::HEALTH_MODULE {
            health.push(m);
        } else {
            groups.entry(module).or_default().push(m);
        }
    }
    for (module, ms) in groups {
        l.row(&format!("metrics: {module}"));
        for m in ms {
            l.panels_by_unit(m.name, &for_metric(m, &o));
        }
    }
    // The runtime's own metrics (`otel.sdk.*`), last.
    if !health.is_empty() {
        l.row("telemetry health");
        for m in health {
            l.panels_by_unit(m.name, &for_metric(m, &o));
        }
    }
    // Any metric of the binary serves to list the label values.
    let probe = metrics.first().map_or("up".to_owned(), |m| match m.kind {
        crate::meta::InstrumentKind::Histogram if !opts.native_histograms => {
            format!("{}_count", m.name)
        }
        _ => m.name.to_owned(),
    });
    let ds = json!({"type": "prometheus", "uid": "${datasource}"});
    let dashboard = json!({
        "title": "telemetry-runtime: service metrics",
        "uid": "telemetry-runtime",
        "tags": ["telemetry-runtime"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}},
            {"name": "job", "label": "Job", "type": "query", "datasource": ds,
             "query": {"query": format!("label_values({probe}, {job})"), "refId": "job"},
             "definition": format!("label_values({probe}, {job})"), "refresh": 2, "current": {}},
            {"name": "instance", "label": "Instance", "type": "query", "datasource": ds,
             "query": {"query": format!("label_values({probe}{{{job}=\"$job\"}}, {instance})"), "refId": "instance"},
             "definition": format!("label_values({probe}{{{job}=\"$job\"}}, {instance})"),
             "refresh": 2, "multi": true, "includeAll": true, "allValue": ".*", "current": {}},
        ]},
        "annotations": {"list": []},
        "panels": l.panels,
    });
    let mut s = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
    s.push('\n');
    s
}
