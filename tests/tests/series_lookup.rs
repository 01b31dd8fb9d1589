//! Attributes passed per call (`kv_pairs!`, slices) find their series
//! through three places: the series the thread's stripe found last, the
//! recent-lookup cache and the table. Whichever answers, each value lands
//! in the series of exactly its attributes.

use std::sync::Once;
use telemetry_runtime::{declare_static_counter, kv_pairs, snapshot, KeyValue};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("HYPERACTOR_OTEL_BACKEND", "none"));
}

declare_static_counter!(ALTERNATING, "lookup_alternating_total");
declare_static_counter!(THREADS, "lookup_threads_total");
declare_static_counter!(COPIES, "lookup_copies_total");
declare_static_counter!(LIMITED, "lookup_limited_total", cardinality_limit = 2);

fn value(name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snapshot().value(name, labels)
}

#[test]
fn alternating_sets_on_one_thread_keep_their_counts() {
    setup();
    let statuses = ["200", "201", "404", "500"];
    for i in 0..1000usize {
        // Every call misses the last series except runs of the same set.
        let status = statuses[(i * i + i / 3) % 4];
        ALTERNATING.add(1, kv_pairs!("method" => "GET", "status" => status));
    }
    let mut want = [0.0; 4];
    for i in 0..1000usize {
        want[(i * i + i / 3) % 4] += 1.0;
    }
    for (status, want) in statuses.iter().zip(want) {
        assert_eq!(
            value(
                "lookup_alternating_total",
                &[("method", "GET"), ("status", status)]
            ),
            Some(want),
            "status {status}"
        );
    }
}

#[test]
fn two_threads_with_their_own_and_a_shared_set() {
    setup();
    let handles: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|me| {
            std::thread::spawn(move || {
                for i in 0..10_000u32 {
                    if i % 3 == 0 {
                        THREADS.add(1, kv_pairs!("who" => "both"));
                    } else {
                        THREADS.add(2, kv_pairs!("who" => me));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // 3,334 of each thread's 10,000 calls are shared, the rest add 2.
    assert_eq!(
        value("lookup_threads_total", &[("who", "both")]),
        Some(6668.0)
    );
    assert_eq!(
        value("lookup_threads_total", &[("who", "a")]),
        Some(13332.0)
    );
    assert_eq!(
        value("lookup_threads_total", &[("who", "b")]),
        Some(13332.0)
    );
}

#[test]
fn equal_strings_from_other_allocations_and_orders_meet() {
    setup();
    COPIES.add(1, kv_pairs!("k" => "v", "n" => 1));
    // Same contents, other addresses: a pointer comparison fails, the
    // bytes agree.
    let k = String::from("k");
    let v = String::from("v");
    COPIES.add(
        1,
        &[KeyValue::new(k.clone(), v.clone()), KeyValue::new("n", 1)],
    );
    // Other order.
    COPIES.add(1, &[KeyValue::new("n", 1), KeyValue::new(k, v)]);
    // A different value is a different series, even right after a hit.
    COPIES.add(1, kv_pairs!("k" => "w", "n" => 1));
    COPIES.add(1, kv_pairs!("k" => "v", "n" => 2));
    assert_eq!(
        value("lookup_copies_total", &[("k", "v"), ("n", "1")]),
        Some(3.0)
    );
    assert_eq!(
        value("lookup_copies_total", &[("k", "w"), ("n", "1")]),
        Some(1.0)
    );
    assert_eq!(
        value("lookup_copies_total", &[("k", "v"), ("n", "2")]),
        Some(1.0)
    );
}

#[test]
fn sets_past_the_limit_go_to_overflow_even_when_repeated() {
    setup();
    for i in 0..5u64 {
        // The same new set three times in a row: the overflow series is
        // never remembered as this set's series.
        for _ in 0..3 {
            LIMITED.add(1, kv_pairs!("id" => i));
        }
    }
    assert_eq!(value("lookup_limited_total", &[("id", "0")]), Some(3.0));
    assert_eq!(value("lookup_limited_total", &[("id", "1")]), Some(3.0));
    assert_eq!(value("lookup_limited_total", &[("id", "2")]), None);
    assert_eq!(
        value("lookup_limited_total", &[("otel_metric_overflow", "true")]),
        Some(9.0)
    );
}
