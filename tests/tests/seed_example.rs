//! The seed's usage example (`src/bin/seed_example.rs`): a meter taken from
//! `opentelemetry::global::meter()` on the first line of `main`, with no
//! init call, exports all four of its instruments.

use std::process::Command;

#[test]
fn a_global_meter_from_the_first_line_of_main_is_exported() {
    let b = tests::backend();
    let instance = format!("seed-{}", std::process::id());
    let status = Command::new(env!("CARGO_BIN_EXE_seed_example"))
        .envs(tests::child_env(&instance))
        .status()
        .expect("run seed_example");
    assert!(status.success());
    let sel = format!("{}=\"{instance}\"", b.instance_label());
    b.wait_for_value(
        &format!("plain_requests_total{{{sel}, method=\"GET\"}}"),
        3.0,
    );
    b.wait_for_value(&format!("plain_latency_seconds_count{{{sel}}}"), 2.0);
    b.wait_for_value(&format!("plain_latency_seconds_sum{{{sel}}}"), 0.75);
    b.wait_for_value(&format!("plain_in_flight{{{sel}}}"), 3.0);
    b.wait_for_value(&format!("plain_temperature_celsius{{{sel}}}"), 21.5);
}
