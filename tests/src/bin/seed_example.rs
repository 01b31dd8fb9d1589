//! The seed's usage example, with `.init()` written `.build()`: a meter
//! from `opentelemetry::global::meter()` taken on the first line of `main`,
//! before anything else has recorded, four instruments, and a plain return
//! from `main`. No init call: the global provider was installed before
//! `main`, taking the meter started the pipeline, and the exit flush sends
//! the values.

use opentelemetry::KeyValue;

// A binary that names nothing of telemetry_runtime still has to link it.
use telemetry_runtime as _;

fn main() {
    let meter = opentelemetry::global::meter("seed-example");
    let requests = meter.u64_counter("plain_requests_total").build();
    let latency = meter
        .f64_histogram("plain_latency_seconds")
        .with_unit("s")
        .with_boundaries(vec![0.1, 1.0])
        .build();
    let in_flight = meter.i64_up_down_counter("plain_in_flight").build();
    let temperature = meter.f64_gauge("plain_temperature_celsius").build();
    requests.add(3, &[KeyValue::new("method", "GET")]);
    latency.record(0.25, &[]);
    latency.record(0.5, &[]);
    in_flight.add(4, &[]);
    in_flight.add(-1, &[]);
    temperature.record(21.5, &[]);
}
