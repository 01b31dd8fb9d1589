//! Declarations as Monarch writes them: `($name:ident, $key:expr)`, dotted
//! OpenTelemetry names, snake_case names without `_total`, names from
//! `concat!` and from a `const`.

use telemetry_runtime::declare_observable_gauge;
use telemetry_runtime::declare_static_counter;
use telemetry_runtime::declare_static_gauge;
use telemetry_runtime::declare_static_histogram;
use telemetry_runtime::declare_static_timer;
use telemetry_runtime::declare_static_up_down_counter;

const STALLS_NAME: &str = "actor.actor_mesh_controller.num_stalls";

declare_static_counter!(MAILBOX_POSTS, "mailbox.posts");
declare_static_counter!(CHANNEL_ERRORS, "channel.errors");
declare_static_counter!(ENDPOINT_CALL_ERROR, "endpoint_call_error");
declare_static_counter!(STALLS, STALLS_NAME);
declare_static_counter!(REMOTE_MESSAGES, concat!("channel", ".remote_messages"));
declare_static_up_down_counter!(ACTORS_ACTIVE, "proc.actors.active");
declare_static_gauge!(RSS_BYTES, "process.memory.rss_bytes");
declare_static_histogram!(CHANNEL_LATENCY, "channel.latency.us");
declare_static_timer!(
    MESSAGE_HANDLER_DURATION,
    "actor.message_handler_duration",
    telemetry_runtime::TimeUnit::Nanos
);
declare_static_timer!(
    SPAWN_DURATION,
    "actor.spawn_duration",
    telemetry_runtime::TimeUnit::Millis
);
declare_static_timer!(
    DISPATCH_DURATION,
    "actor.dispatch_duration",
    telemetry_runtime::TimeUnit::Micros
);
declare_observable_gauge!(HEAP_SIZE, "process.heap.size", |observer| {
    observer.observe(512.0, &[]);
});
