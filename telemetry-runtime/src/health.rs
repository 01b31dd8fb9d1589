//! The runtime's own health, exported with everything else: records it
//! could not keep, attribute sets sent to the overflow series, series per
//! instrument, and how exports go (data points, attempts, retries, bytes,
//! durations, rejections).
//!
//! Names follow OpenTelemetry's semantic conventions for SDK
//! self-observability where they define one
//! (`otel.sdk.exporter.metric_data_point.exported`,
//! `otel.sdk.exporter.operation.duration`, with `error.type`); the others
//! are this crate's own, in the same `otel.sdk.` style. They are ordinary
//! declared instruments of module `telemetry_runtime::health`: the catalog
//! lists them, and the generated dashboard shows them in a "telemetry
//! health" row. `HYPERACTOR_OTEL_SELF_METRICS=off` removes them from the
//! catalog and the export, and nothing records into them.
//!
//! Nothing here is on a record's hot path: drops and overflows are counted
//! on branches that were already cold (a NaN, a set past the cardinality
//! limit), the series count is read at export, and the export's figures
//! are recorded by the export thread after each export. An export's
//! figures therefore reach the backend with the next export.

use crate::meta::Metadata;
use crate::registry;
use crate::storage::Loss;
use opentelemetry::KeyValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// The attribute naming the instrument a health series is about.
pub(crate) const METRIC_NAME: &str = "otel.metric.name";

/// `otel.component.type` of our exporter, as the conventions name an
/// OTLP/HTTP protobuf metric exporter.
const COMPONENT_TYPE: &str = "otlp_http_metric_exporter";

crate::declare_static_counter!(
    pub(crate) DROPPED,
    "otel.sdk.metric.measurement.dropped",
    unit = "{measurement}",
    cardinality_limit = 4096,
    description = "Measurements not recorded, by instrument (otel.metric.name) and reason \
                   (error.type: nan)."
);

crate::declare_static_counter!(
    pub(crate) OVERFLOWED,
    "otel.sdk.metric.measurement.overflowed",
    unit = "{measurement}",
    cardinality_limit = 4096,
    description = "Measurements whose attribute set was past the instrument's cardinality \
                   limit and went to its otel_metric_overflow series, by instrument \
                   (otel.metric.name)."
);

crate::declare_observable_gauge!(
    pub(crate) SERIES,
    "otel.sdk.metric.series",
    |observer| series_per_instrument(observer),
    unit = "{series}",
    description = "Series each instrument holds (labelled ones, its overflow series), by \
                   instrument (otel.metric.name)."
);

crate::declare_static_counter!(
    pub(crate) EXPORTED,
    "otel.sdk.exporter.metric_data_point.exported",
    unit = "{data_point}",
    description = "Data points whose export finished; error.type is set when it failed \
                   (rejected: refused by the backend in a partial success)."
);

crate::declare_static_histogram!(
    pub(crate) OPERATION_DURATION,
    "otel.sdk.exporter.operation.duration",
    unit = "s",
    description = "Duration of each export, retries and backoff included; error.type is set \
                   when it failed."
);

crate::declare_static_gauge!(
    pub(crate) LAST_DURATION,
    "otel.sdk.exporter.operation.last_duration",
    unit = "s",
    description = "Duration of the last export, retries and backoff included."
);

crate::declare_static_counter!(
    pub(crate) ATTEMPTS,
    "otel.sdk.exporter.attempts",
    unit = "{attempt}",
    description = "HTTP requests sent, first tries and retries; error.type is set on those \
                   that failed."
);

crate::declare_static_counter!(
    pub(crate) RETRIES,
    "otel.sdk.exporter.retries",
    unit = "{retry}",
    description = "HTTP requests that retried a failed one (429, 502, 503, 504)."
);

crate::declare_static_counter!(
    pub(crate) BYTES,
    "otel.sdk.exporter.request.bytes",
    unit = "By",
    description = "Bytes of request bodies sent (after compression), retries included."
);

/// Whether the health metrics are on (`HYPERACTOR_OTEL_SELF_METRICS`).
pub(crate) fn enabled() -> bool {
    crate::config::current().self_metrics
}

/// Whether `meta` is one of the health instruments.
fn is_health(meta: &Metadata) -> bool {
    meta.is_runtime_health()
}

/// Counts the losses storage and the instruments report.
#[linkme::distributed_slice(crate::storage::TELEMETRY_RUNTIME_LOSS_HOOKS)]
static COUNT_LOSSES: fn(Loss, &Metadata) = |loss, meta| match loss {
    Loss::Nan => nan_dropped(meta),
    Loss::Overflow => overflowed(meta),
};

/// A measurement of `meta` was not recorded because it was NaN. Called
/// on the NaN branch only.
#[cold]
fn nan_dropped(meta: &Metadata) {
    if enabled() && !is_health(meta) {
        DROPPED.add(
            1,
            &[
                KeyValue::new("error.type", "nan"),
                KeyValue::new(METRIC_NAME, meta.name),
            ],
        );
    }
}

/// A measurement of `meta` went to its overflow series. Called past the
/// cardinality limit only.
#[cold]
fn overflowed(meta: &Metadata) {
    // The health counters' own overflow is not counted (it would record
    // into the table that is overflowing).
    if enabled() && !is_health(meta) {
        OVERFLOWED.add(1, &[KeyValue::new(METRIC_NAME, meta.name)]);
    }
}

fn series_per_instrument(observer: &dyn opentelemetry::metrics::AsyncInstrument<f64>) {
    // Declarations that share a name (metered call sites) are one metric.
    let mut by_name: BTreeMap<&'static str, usize> = BTreeMap::new();
    for inst in registry::instruments() {
        if let Some(t) = inst.table_if_used() {
            *by_name.entry(inst.meta.name).or_default() += t.series_count();
        }
    }
    for (name, n) in by_name {
        observer.observe(n as f64, &[KeyValue::new(METRIC_NAME, name)]);
    }
}

/// What one export did, for [`record_export`].
#[derive(Debug, Default, Clone)]
pub(crate) struct ExportStats {
    /// Data points in the request.
    pub(crate) points: u64,
    /// HTTP requests sent.
    pub(crate) attempts: u64,
    /// Body bytes sent, over every attempt.
    pub(crate) bytes: u64,
    /// `error.type` of each failed attempt, in order.
    pub(crate) failed_attempts: Vec<String>,
    /// Data points the backend rejected in a partial success.
    pub(crate) rejected: u64,
}

/// The `error.type` of a failure's cause: the HTTP status code, or a short
/// word for what failed (`timeout`, `connection_failed`, `deadline`, ..).
pub(crate) fn error_type(cause: &str) -> String {
    if let Some(rest) = cause.strip_prefix("HTTP ") {
        return rest.chars().take_while(char::is_ascii_digit).collect();
    }
    cause
        .strip_prefix("transport ")
        .unwrap_or(cause)
        .replace(' ', "_")
}

/// Records one export: its points, attempts, retries, bytes and duration;
/// `failure` is the cause of its failure, if it failed.
pub(crate) fn record_export(stats: &ExportStats, failure: Option<&str>, took: Duration) {
    if !enabled() {
        return;
    }
    let component = KeyValue::new("otel.component.type", COMPONENT_TYPE);
    let error = failure.map(|c| KeyValue::new("error.type", error_type(c)));
    let with_error = |error: &Option<KeyValue>| -> Vec<KeyValue> {
        let mut a = vec![component.clone()];
        a.extend(error.iter().cloned());
        a
    };
    match &error {
        None => {
            let accepted = stats.points.saturating_sub(stats.rejected);
            EXPORTED.add(accepted, &with_error(&None));
            if stats.rejected > 0 {
                let rejected = Some(KeyValue::new("error.type", "rejected"));
                EXPORTED.add(stats.rejected, &with_error(&rejected));
            }
        }
        Some(_) => EXPORTED.add(stats.points, &with_error(&error)),
    }
    let seconds = took.as_secs_f64();
    OPERATION_DURATION.record(seconds, &with_error(&error));
    LAST_DURATION.record(seconds, std::slice::from_ref(&component));
    let failed = stats.failed_attempts.len() as u64;
    let ok = stats.attempts.saturating_sub(failed);
    if ok > 0 {
        ATTEMPTS.add(ok, std::slice::from_ref(&component));
    }
    for e in &stats.failed_attempts {
        ATTEMPTS.add(
            1,
            &with_error(&Some(KeyValue::new("error.type", e.clone()))),
        );
    }
    if stats.attempts > 1 {
        RETRIES.add(stats.attempts - 1, std::slice::from_ref(&component));
    }
    BYTES.add(stats.bytes, &[component]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_knows_this_module() {
        assert_eq!(
            module_path!().strip_suffix("::tests"),
            Some(crate::meta::HEALTH_MODULE)
        );
    }

    #[test]
    fn error_types_are_short_words() {
        assert_eq!(error_type("HTTP 503: busy"), "503");
        assert_eq!(
            error_type("transport connection failed"),
            "connection_failed"
        );
        assert_eq!(error_type("transport timeout"), "timeout");
        assert_eq!(error_type("deadline"), "deadline");
    }
}
