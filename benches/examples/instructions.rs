//! One case of `scripts/instructions.sh`: `instructions CASE N` runs the
//! case's call N times. The script counts the instructions of N and 2N
//! calls under callgrind; their difference over N is the instructions per
//! call, the same on every run whatever else the machine does.

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use std::hint::black_box;
use telemetry_runtime::kv_pairs;

const STATUSES: [&str; 4] = ["200", "404", "500", "503"];

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let fixed = |_: u64| STATUSES[0];
    let varying = |i: u64| STATUSES[(i % 4) as usize];
    let sdk = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    let sdk_counter = sdk.meter("instructions").u64_counter("sdk_counter").build();
    match case.as_str() {
        "counter_per_call/ours" | "counter_per_call_varying/ours" => {
            let st = if case.contains("varying") {
                varying
            } else {
                fixed
            };
            for i in 0..n {
                let (m, s) = (black_box("GET"), black_box(st(i)));
                benches::ours::COUNTER.add(1, kv_pairs!("method" => m, "status" => s));
            }
        }
        "counter_per_call/prometheus" | "counter_per_call_varying/prometheus" => {
            let st = if case.contains("varying") {
                varying
            } else {
                fixed
            };
            for i in 0..n {
                let (m, s) = (black_box("GET"), black_box(st(i)));
                benches::prom::counters().with_label_values(&[m, s]).inc();
            }
        }
        "counter_per_call/otel_sdk" | "counter_per_call_varying/otel_sdk" => {
            let st = if case.contains("varying") {
                varying
            } else {
                fixed
            };
            for i in 0..n {
                let (m, s) = (black_box("GET"), black_box(st(i)));
                sdk_counter.add(1, &[KeyValue::new("method", m), KeyValue::new("status", s)]);
            }
        }
        "gauge_set/ours_bind" => {
            let b = benches::ours::GAUGE.bind(kv_pairs!("method" => "GET", "status" => "200"));
            for i in 0..n {
                b.record(black_box(i as f64));
            }
        }
        "gauge_set/prometheus" => {
            let h = benches::prom::gauges().with_label_values(&["GET", "200"]);
            for i in 0..n {
                h.set(black_box(i as f64));
            }
        }
        "monarch_counter_strings/build_only" => {
            for i in 0..n {
                let id = black_box(i % 8);
                black_box(
                    kv_pairs!("actor_id" => id.to_string(), "proc_id" => (id / 4).to_string()),
                );
            }
        }
        "monarch_counter_strings/ours" => {
            for i in 0..n {
                let id = black_box(i % 8);
                benches::ours::COUNTER.add(
                    1,
                    kv_pairs!("actor_id" => id.to_string(), "proc_id" => (id / 4).to_string()),
                );
            }
        }
        "monarch_counter_strings/hyperactor_sdk" => {
            for i in 0..n {
                let id = black_box(i % 8);
                sdk_counter.add(
                    1,
                    &[
                        KeyValue::new("actor_id", id.to_string()),
                        KeyValue::new("proc_id", (id / 4).to_string()),
                    ],
                );
            }
        }
        other => {
            eprintln!("instructions: unknown case {other:?}");
            std::process::exit(2);
        }
    }
}
