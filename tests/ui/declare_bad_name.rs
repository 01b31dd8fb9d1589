use telemetry_runtime::{declare_static_counter, declare_static_gauge};

declare_static_counter!(A, "Http-Requests_total");
declare_static_counter!(B, "http_requests");
declare_static_gauge!(C, "queue_total");

fn main() {}
