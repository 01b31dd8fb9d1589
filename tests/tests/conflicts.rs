//! Two declarations of one name with different shapes: reported once,
//! naming both locations, and only the first is exported.

use telemetry_runtime::{declare_static_counter, declare_static_gauge, declare_static_histogram};

mod a {
    telemetry_runtime::declare_static_counter!(pub SHARED, "conflict_shared_total");
}
mod b {
    telemetry_runtime::declare_static_counter!(pub SHARED, "conflict_shared_total");
}
declare_static_gauge!(KIND_A, "conflict_kind");
declare_static_histogram!(KIND_B, "conflict_kind", buckets = [1.0]);
declare_static_histogram!(BUCKETS_A, "conflict_buckets", buckets = [1.0]);
declare_static_histogram!(BUCKETS_B, "conflict_buckets", buckets = [2.0]);
declare_static_counter!(UNIT_A, "conflict_bytes_total", unit = "By");
declare_static_counter!(UNIT_B, "conflict_bytes_total");

#[test]
fn conflicts_are_reported_with_both_locations() {
    std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none");
    let cat = telemetry_runtime::catalog();
    let mut c: Vec<_> = cat
        .conflicts()
        .iter()
        .map(|c| (c.name, c.what, c.kept.line, c.dropped.line))
        .collect();
    c.sort();
    assert_eq!(
        c,
        [
            ("conflict_buckets", "buckets", 14, 15),
            ("conflict_bytes_total", "unit", 16, 17),
            ("conflict_kind", "kind", 12, 13),
        ]
    );
    let msg = cat.conflicts()[0].to_string();
    assert!(msg.contains("conflicts.rs:"), "{msg}");
    // Same name and shape in two modules is not a conflict: both are listed.
    assert_eq!(cat.get("conflict_shared_total").count(), 2);
    let _ = (
        &a::SHARED,
        &b::SHARED,
        &KIND_A,
        &KIND_B,
        &BUCKETS_A,
        &BUCKETS_B,
        &UNIT_A,
        &UNIT_B,
    );
}
