use telemetry_runtime::{declare_static_gauge, declare_static_histogram};

declare_static_histogram!(LAT, "rpc_latency", unit = "s");
declare_static_gauge!(T, "temperature", unit = "furlongs");

fn main() {}
