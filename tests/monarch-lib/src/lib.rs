//! A library shaped like Monarch's `hyperactor`: metrics declared with
//! `hyperactor_telemetry`'s macros, in every form Monarch's sources use,
//! with `hyperactor_telemetry` replaced by `telemetry_runtime` and nothing
//! else changed. Like hyperactor's lib.rs, it re-exports the macros, and
//! `monarch-app` (which does not depend on `telemetry-runtime`) calls them
//! through it.

pub use telemetry_runtime::declare_static_counter;
pub use telemetry_runtime::declare_static_gauge;
pub use telemetry_runtime::declare_static_histogram;
pub use telemetry_runtime::declare_static_timer;
pub use telemetry_runtime::key_value;
pub use telemetry_runtime::kv_pairs;

pub mod metrics;
pub mod workload;
