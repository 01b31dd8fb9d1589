//! Memory of exponential histogram series whose values span three decades
//! (`1.0` to `1000.0`), recorded from one thread: storage's own figure
//! (`storage_stats().heap_bytes`, every stripe's words) and the resident
//! bytes the process gains, per series, over 2,000 series.
//!
//! `cargo run --release -p benches --bin exp_memory`

use telemetry_runtime::{declare_static_histogram, kv_pairs, storage_stats};

declare_static_histogram!(SIZES, "exp_memory_size_bytes", unit = "By");
declare_static_histogram!(WARM, "exp_memory_warm_bytes", unit = "By");

/// Resident bytes (`/proc/self/statm`).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn main() {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "base2_exponential_bucket_histogram",
    );
    const SERIES: u64 = 2000;
    // Three decades, 10 values per decade.
    let values: Vec<f64> = (0..=30).map(|i| 10f64.powf(i as f64 / 10.0)).collect();
    // What no series owns: code, configuration, the first arena chunk.
    WARM.record(1.0, kv_pairs!("id" => 0u64));
    let (heap0, rss0) = (storage_stats().heap_bytes, rss());
    for id in 0..SERIES {
        for v in &values {
            SIZES.record(*v, kv_pairs!("id" => id));
        }
    }
    let (heap1, rss1) = (storage_stats().heap_bytes, rss());
    let stripes =
        (2 * std::thread::available_parallelism().map_or(1, |n| n.get()) + 1).clamp(3, 64);
    let heap = (heap1 - heap0) as f64 / SERIES as f64;
    println!(
        "{SERIES} series, values 1 to 1000 (3 decades), one thread: storage_stats {heap:.0} B per series \
         ({stripes} stripes reserved: {:.0} B per series per stripe, header and attributes included); \
         resident {:.0} B per series (one stripe written)",
        heap / stripes as f64,
        (rss1 - rss0) as f64 / SERIES as f64,
    );
}
