// Names that are not OpenTelemetry instrument names, in every form a name
// can take: a literal, a `concat!` of literals, and a constant.
use telemetry_runtime::{declare_static_counter, declare_static_gauge, declare_static_timer};

const BAD: &str = "9lives";

declare_static_counter!(A, "9lives");
declare_static_counter!(B, "mailbox posts");
declare_static_gauge!(C, "");
declare_static_counter!(D, concat!("_", "x"));
declare_static_counter!(E, BAD);
declare_static_counter!(F, 42);
declare_static_timer!(H, "handler");

fn main() {}
