//! Fuzzes attribute handling through the public API: arbitrary keys and
//! values (any string, numbers, NaN, empty, huge) recorded into counters,
//! histograms and gauges, past the cardinality limit, while the export
//! pipeline collects and encodes them every few milliseconds (to a local
//! port where nothing listens). It never panics, and storage stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;
use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram, KeyValue,
};

declare_static_counter!(C, "fuzz_events_total", cardinality_limit = 50);
declare_static_histogram!(H, "fuzz_size_bytes", unit = "By", buckets = [1.0, 10.0]);
declare_static_gauge!(G, "fuzz_level_ratio", unit = "1");

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY (edition 2021): before anything reads the environment.
        std::env::set_var(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://127.0.0.1:9/v1/metrics",
        );
        std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "5");
        std::env::set_var("OTEL_METRIC_EXPORT_TIMEOUT", "100");
        std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "region=eu,le_x=1");
    });
}

/// Splits the input into attributes: `key \x00 tag value \x01 ...`.
fn attributes(data: &[u8]) -> Vec<KeyValue> {
    data.split(|b| *b == 1)
        .take(64)
        .filter_map(|item| {
            let mut parts = item.splitn(2, |b| *b == 0);
            let key = String::from_utf8_lossy(parts.next()?).into_owned();
            let raw = parts.next().unwrap_or_default();
            let (tag, rest) = raw.split_first().unwrap_or((&0, &[]));
            let text = String::from_utf8_lossy(rest).into_owned();
            Some(match tag % 5 {
                0 => KeyValue::new(key, text),
                1 => KeyValue::new(key, text.len() as i64 - 7),
                2 => KeyValue::new(key, f64::from_bits(text.len() as u64 * 0x9e37_79b9)),
                3 => KeyValue::new(key, text.is_empty()),
                _ => KeyValue::new(key, text.repeat(300)),
            })
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    setup();
    let attrs = attributes(data);
    let value = data.first().copied().unwrap_or(0) as f64 - 100.0;
    C.add(data.len() as u64, &attrs);
    C.bind(&attrs).add(1);
    H.record(value, &attrs);
    H.record(
        if data.len() % 7 == 0 {
            f64::NAN
        } else {
            f64::INFINITY
        },
        &attrs,
    );
    G.record(value / 0.0, &attrs);
    let stats = telemetry_runtime::storage_stats();
    // 3 instruments, each at most its limit (50, 2000, 2000) + overflow.
    assert!(stats.series <= 50 + 2 * 2000 + 3, "{stats:?}");
});
