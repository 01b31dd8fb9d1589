//! Records a known workload through every form Monarch's code uses: the
//! statics' own methods, and the statics handed to code that names their
//! OpenTelemetry types.

use crate::metrics::*;
use opentelemetry::metrics::{Counter, Gauge, Histogram, UpDownCounter};
use std::time::Duration;
use telemetry_runtime::{key_value, kv_pairs, KeyValue};

/// As Monarch's actor mesh controller returns its stall counter.
fn stall_counter() -> &'static opentelemetry::metrics::Counter<u64> {
    &STALLS
}

fn check_stall(counter: &Counter<u64>) {
    counter.add(1, &[]);
}

fn observe_latency(h: &Histogram<f64>, v: f64) {
    h.record(v, &[KeyValue::new("channel", "tcp")]);
}

fn leave(actors: &UpDownCounter<i64>) {
    actors.add(-1, &[]);
}

fn report_rss(g: &Gauge<f64>, bytes: f64) {
    g.record(bytes, &[]);
}

/// Posts `n` messages per actor for `actors` actors, and the rest of the
/// workload; the expected values are in `monarch-app`'s end-to-end test.
pub fn run() {
    for actor in 0..2u32 {
        for _ in 0..3 {
            MAILBOX_POSTS.add(
                1,
                kv_pairs!(
                    "actor_id" => actor.to_string(),
                    "http.request.method" => "POST",
                ),
            );
        }
    }
    check_stall(stall_counter());
    check_stall(&STALLS);
    CHANNEL_ERRORS.add(5, &[key_value!("reason", "closed")]);
    ENDPOINT_CALL_ERROR.add(
        1,
        kv_pairs!("endpoint" => "ping", "retry" => true, "attempt" => 3, "ratio" => 0.5),
    );
    // A pair list kept in a variable and used twice, and an empty one.
    let remote = kv_pairs!("transport" => "tcp",);
    REMOTE_MESSAGES.add(2, remote);
    REMOTE_MESSAGES.add(1, remote);
    REMOTE_MESSAGES.add(1, kv_pairs!());
    ACTORS_ACTIVE.add(5, &[]);
    ACTORS_ACTIVE.add(-2, &[]);
    leave(&ACTORS_ACTIVE);
    RSS_BYTES.record(1024.0, &[]);
    report_rss(&RSS_BYTES, 2048.0);
    CHANNEL_LATENCY.record(3.0, &[KeyValue::new("channel", "tcp")]);
    CHANNEL_LATENCY.record(30.0, kv_pairs!("channel" => "tcp"));
    observe_latency(&CHANNEL_LATENCY, 300.0);
    for _ in 0..4 {
        let _timer = MESSAGE_HANDLER_DURATION.start(kv_pairs!("actor_id" => "0"));
    }
    DISPATCH_DURATION.record(Duration::from_micros(1234), &[]);
    DISPATCH_DURATION.record(Duration::from_micros(766), &[]);
    SPAWN_DURATION.record(Duration::from_millis(7), &[]);
    SPAWN_DURATION.record(Duration::from_micros(2500), &[]);
    let _ = &*HEAP_SIZE;
}
