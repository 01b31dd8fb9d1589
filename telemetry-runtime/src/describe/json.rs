//! The catalog as JSON.

use super::MetricSummary;
use serde_json::{json, Value};

pub(super) fn render(
    metrics: &[MetricSummary],
    strategy: crate::translation::TranslationStrategy,
) -> String {
    let list: Vec<Value> = metrics
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "stored_name": m.stored_name(strategy),
                "translation_strategy": strategy.as_str(),
                "kind": m.kind.as_str(),
                "unit": m.unit,
                "description": m.description,
                "labels": m.labels.iter().map(|(k, v)| json!({"key": k, "values": v})).collect::<Vec<_>>(),
                "buckets": m.buckets,
                "declared_at": m.declared_at.iter().map(|l| json!({
                    "file": l.file, "line": l.line, "column": l.column, "module": l.module_path,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_default();
    s.push('\n');
    s
}
