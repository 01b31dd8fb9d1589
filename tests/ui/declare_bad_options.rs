use telemetry_runtime::{declare_static_counter, declare_static_histogram};

const NAME: &str = "x_total";
declare_static_counter!(A, NAME);
declare_static_counter!(B, "b_total", colour = "red");
declare_static_counter!(C, "c_total", buckets = [1.0]);
declare_static_histogram!(D, "d_seconds", unit = "s", buckets = [0.1, 0.05]);
declare_static_histogram!(E, "e_seconds", unit = "s", buckets = [0.1, "x"]);
declare_static_counter!(F, "f_total", unit = "By", unit = "By");

fn main() {}
