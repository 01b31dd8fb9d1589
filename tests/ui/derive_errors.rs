use telemetry_runtime::{Counter, Gauge, Histogram, LabelSet, LabelValue, Metrics};

#[derive(LabelValue)]
enum WithData {
    A(u32),
}

#[derive(LabelValue)]
struct NotAnEnum;

#[derive(LabelValue)]
enum Dup {
    #[label(value = "x")]
    A,
    #[label(value = "x")]
    B,
}

struct NotALabel;

#[derive(LabelSet)]
struct WrongType {
    thing: NotALabel,
}

#[derive(LabelSet)]
struct DupKey {
    a: u32,
    #[label(name = "a")]
    b: u32,
}

#[derive(LabelSet)]
struct UnknownAttr {
    #[label(rename = "x")]
    a: u32,
}

#[derive(Metrics)]
#[metrics(prefix = "app", colour = "red")]
struct UnknownContainer {
    hits_total: Counter,
}

#[derive(Metrics)]
struct BadField {
    #[metric(color = "x")]
    hits_total: Counter,
}

#[derive(Metrics)]
struct BadName {
    hits: Counter,
}

#[derive(Metrics)]
struct BucketsOnGauge {
    #[metric(buckets = [1.0])]
    depth: Gauge,
}

#[derive(Metrics)]
struct NotAnInstrument {
    depth: u64,
}

#[derive(Metrics)]
struct UnitMismatch {
    #[metric(unit = "s")]
    latency: Histogram,
}

fn main() {}
