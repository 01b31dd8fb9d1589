//! The catalog as a Markdown table.

use super::MetricSummary;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn labels(m: &MetricSummary) -> String {
    if m.labels.is_empty() {
        return "free-form".into();
    }
    m.labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                format!("`{k}`")
            } else if v.len() <= 8 {
                format!("`{k}` ∈ {{{}}}", v.join(", "))
            } else {
                format!("`{k}` ∈ {{{}, … {} values}}", v[..6].join(", "), v.len())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn sites(m: &MetricSummary) -> String {
    match m.declared_at.as_slice() {
        [one] => one.to_string(),
        many => format!("{} declarations, first at {}", many.len(), many[0]),
    }
}

pub(super) fn render(
    metrics: &[MetricSummary],
    strategy: crate::translation::TranslationStrategy,
) -> String {
    let mut out = format!(
        "| name | stored as ({strategy}) | kind | unit | description | labels | buckets | declared at |\n|---|---|---|---|---|---|---|---|\n",
    );
    for m in metrics {
        let buckets = m
            .buckets
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            m.stored_name(strategy),
            m.kind,
            cell(m.unit),
            cell(m.description),
            cell(&labels(m)),
            buckets,
            sites(m),
        ));
    }
    out
}
