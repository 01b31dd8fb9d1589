// A timer's unit is a `TimeUnit`, whatever its path looks like.
use telemetry_runtime::declare_static_timer;

declare_static_timer!(G, "handler", Nanos);
declare_static_timer!(H, "handler", std::time::Duration::ZERO);

fn main() {}
