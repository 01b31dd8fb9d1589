//! A child process for end-to-end tests: records known values in the way
//! named by its first argument, then ends in the way that scenario needs.
//!
//! - `return`: records from plain `main` and returns without any call;
//! - `exit`: records, then `std::process::exit(0)`;
//! - `tokio-current` / `tokio-multi`: the first record happens inside a
//!   current-thread / multi-thread tokio runtime; returns from `main`;
//! - `race`: 8 threads make the first record of the process at once, each
//!   adding 1000 times; returns from `main`.

use std::sync::{Arc, Barrier};
use telemetry_runtime::{declare_static_counter, declare_static_histogram, kv_pairs};

declare_static_counter!(EVENTS, "scenario_events_total");
declare_static_histogram!(
    SIZES,
    "scenario_size_bytes",
    unit = "By",
    buckets = [10.0, 100.0]
);

fn record_known() {
    EVENTS.add(7, kv_pairs!("phase" => "main"));
    SIZES.record(5.0, &[]);
    SIZES.record(50.0, &[]);
    SIZES.record(500.0, &[]);
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "return" => record_known(),
        "exit" => {
            record_known();
            std::process::exit(0);
        }
        "tokio-current" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                record_known();
                tokio::task::yield_now().await;
            }),
        "tokio-multi" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(async {
                let tasks: Vec<_> = (0..4)
                    .map(|_| tokio::spawn(async { EVENTS.add(1, kv_pairs!("phase" => "task")) }))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                record_known();
            }),
        "race" => {
            let barrier = Arc::new(Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let b = barrier.clone();
                    std::thread::spawn(move || {
                        b.wait();
                        for _ in 0..1000 {
                            EVENTS.add(1, kv_pairs!("phase" => "race"));
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        other => {
            eprintln!("unknown scenario {other:?}");
            std::process::exit(2);
        }
    }
}
