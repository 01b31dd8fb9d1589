//! A small HTTP-like service that records realistic metrics for a few
//! seconds: `cargo run -p examples --example quickstart [seconds]`.
//!
//! Configure the destination with the standard variables, for example
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://127.0.0.1:8428/opentelemetry/v1/metrics`.

use std::time::{Duration, Instant};
use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram,
    declare_static_up_down_counter, kv_pairs,
};

declare_static_counter!(
    REQUESTS,
    "http_requests_total",
    description = "HTTP requests served."
);
declare_static_histogram!(
    LATENCY,
    "http_request_duration_seconds",
    unit = "s",
    description = "Time to serve a request.",
    buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]
);
declare_static_up_down_counter!(IN_FLIGHT, "http_requests_in_flight");
declare_static_gauge!(
    POOL,
    "http_worker_pool_size",
    description = "Workers available."
);
declare_static_counter!(
    /// Bytes written in responses (a doc comment becomes the description).
    SENT,
    "http_response_bytes_total",
    unit = "By"
);

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let end = Instant::now() + Duration::from_secs(seconds);
    // Fixed attribute sets: bind once, record with one atomic add each.
    let ok_get = REQUESTS.bind(kv_pairs!("method" => "GET", "status" => 200));
    let in_flight = IN_FLIGHT.bind(&[]);
    POOL.record(8.0, &[]);
    let mut n: u64 = 0;
    while Instant::now() < end {
        n += 1;
        in_flight.add(1);
        let started = Instant::now();
        // "Serve" the request.
        std::thread::sleep(Duration::from_micros(200 + (n * 7919) % 3000));
        let (method, status) = match n % 10 {
            0 => ("POST", 201),
            7 => ("GET", 500),
            _ => ("GET", 200),
        };
        if (method, status) == ("GET", 200) {
            ok_get.add(1);
        } else {
            REQUESTS.add(1, kv_pairs!("method" => method, "status" => status));
        }
        LATENCY.record(
            started.elapsed().as_secs_f64(),
            kv_pairs!("method" => method),
        );
        SENT.add(512 + n % 1024, &[]);
        in_flight.add(-1);
    }
    // Optional: the process also flushes on exit. Calling it reports errors.
    match telemetry_runtime::flush() {
        Ok(()) => println!("quickstart: {n} requests recorded and exported"),
        Err(e) => eprintln!("quickstart: {n} requests recorded, export failed: {e}"),
    }
}
