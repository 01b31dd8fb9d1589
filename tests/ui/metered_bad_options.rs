use telemetry_runtime::metered;

#[metered(colour = "red")]
fn a() {}

#[metered(buckets = [0.1, 1.0])]
fn b() {}

#[metered(labels(result = "x"))]
fn c() {}

#[metered(without(latency))]
fn d() {}

#[metered(histogram = "checkout_latency", buckets = [1.0])]
fn e() {}

#[metered(name = 5)]
fn f() {}

#[metered]
const fn g() -> u32 {
    1
}

#[metered]
struct NotAFunction;



#[metered(objective(latency = -1.0))]
fn h() {}

#[metered(objective(percentile = 0.9))]
fn i() {}
fn main() {}
