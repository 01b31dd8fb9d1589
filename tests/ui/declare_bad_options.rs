use telemetry_runtime::{declare_observable_gauge, declare_static_counter, declare_static_histogram};

declare_static_counter!(B, "b_total", colour = "red");
declare_static_counter!(C, "c_total", buckets = [1.0]);
declare_static_histogram!(D, "d_seconds", unit = "s", buckets = [0.1, 0.05]);
declare_static_histogram!(E, "e_seconds", unit = "s", buckets = [0.1, "x"]);
declare_static_counter!(F, "f_total", unit = "By", unit = "By");
declare_static_counter!(G, "g", unit = "µs");
declare_static_counter!(H, "h", description);
declare_observable_gauge!(I, "i", |observer| observer.observe(1.0, &[]), buckets = [1.0]);

fn main() {}
