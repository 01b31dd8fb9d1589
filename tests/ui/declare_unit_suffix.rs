// Strict names (`strict`): Prometheus names that no translation strategy
// changes.
use telemetry_runtime::{declare_static_counter, declare_static_gauge, declare_static_histogram};

const NAME: &str = "x_total";

declare_static_counter!(A, "Http-Requests_total", strict);
declare_static_counter!(B, "http_requests", strict);
declare_static_gauge!(C, "queue_total", strict = true);
declare_static_histogram!(LAT, "rpc_latency", unit = "s", strict);
declare_static_gauge!(T, "temperature", unit = "furlongs", strict);
declare_static_counter!(D, "mailbox.posts", strict);
declare_static_counter!(E, NAME, strict);
declare_static_counter!(F, "f_total", strict = "yes");

// The same names without `strict` are fine.
declare_static_counter!(OK_A, "mailbox.posts");
declare_static_histogram!(OK_B, "rpc_latency", unit = "s");
declare_static_gauge!(OK_C, "temperature", unit = "furlongs");

fn main() {}
