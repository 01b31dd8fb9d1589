//! A child process that `tests/tests/exemplars.rs` drives line by line, as
//! `reliability_child` is driven: each command is answered with one line
//! (`ok ...` or `err ...`).
//!
//! Commands (attributes as `key=value` words; every record also carries
//! them):
//! - `span TRACE SPAN sampled|unsampled`: attaches a context whose remote
//!   span has those ids (32 and 16 hex digits); `end` detaches the latest;
//! - `add N [k=v..]`, `bound N [k=v..]`, `otel N [k=v..]` (through the
//!   `opentelemetry::metrics::Counter<u64>` the static dereferences to),
//!   `typed N` (a `#[derive(Metrics)]` counter), `updown N [k=v..]`;
//! - `hist V [k=v..]`: the histogram (buckets 1, 10, 100);
//! - `metered ok|err`: one call of a `#[metered]` function;
//! - `timer US [k=v..]`: the timer records US microseconds;
//! - `tracing N`: inside a `tracing` span (tracing-opentelemetry, the SDK's
//!   tracer), adds N with `phase=tracing`; answers `ok TRACE SPAN`, the
//!   span's ids;
//! - `flush`; `quit`.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry::{Context, ContextGuard};
use std::io::{BufRead, Write};
use std::time::Duration;
use telemetry_runtime::{
    declare_static_counter, declare_static_histogram, declare_static_timer,
    declare_static_up_down_counter, metered, Counter, KeyValue, Metrics, TimeUnit,
};
use tracing_subscriber::layer::SubscriberExt;

declare_static_counter!(EVENTS, "exemplar.events");
declare_static_up_down_counter!(OPEN, "exemplar.open");
declare_static_histogram!(
    SIZES,
    "exemplar.size",
    unit = "By",
    buckets = [1.0, 10.0, 100.0]
);
declare_static_timer!(HANDLER, "exemplar.handler", TimeUnit::Micros);

#[derive(Metrics)]
struct Typed {
    typed_total: Counter,
}

#[metered(histogram = "exemplar.work.duration", buckets = [1.0, 1000.0])]
fn work(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

fn attrs(words: &[&str]) -> Vec<KeyValue> {
    words
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| KeyValue::new(k.to_string(), v.to_string()))
        .collect()
}

fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn main() {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("exemplar_child")));
    let _default = tracing::subscriber::set_default(subscriber);
    let mut guards: Vec<ContextGuard> = Vec::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, rest)) = words.split_first() else {
            continue;
        };
        let num = || {
            rest.first()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let tail = || attrs(rest.get(1..).unwrap_or(&[]));
        let reply = match cmd {
            "span" => match (
                rest.first().and_then(|t| hex::<16>(t)),
                rest.get(1).and_then(|s| hex::<8>(s)),
                rest.get(2),
            ) {
                (Some(trace), Some(span), Some(&sampled)) => {
                    let flags = if sampled == "sampled" {
                        TraceFlags::SAMPLED
                    } else {
                        TraceFlags::default()
                    };
                    let sc = SpanContext::new(
                        TraceId::from_bytes(trace),
                        SpanId::from_bytes(span),
                        flags,
                        true,
                        TraceState::default(),
                    );
                    guards.push(Context::current().with_remote_span_context(sc).attach());
                    "ok".into()
                }
                _ => "err span TRACE SPAN sampled|unsampled".into(),
            },
            "end" => {
                guards.pop();
                "ok".into()
            }
            "add" => {
                EVENTS.add(num() as u64, &tail());
                "ok".into()
            }
            "bound" => {
                EVENTS.bind(&tail()).add(num() as u64);
                "ok".into()
            }
            "otel" => {
                let c: &opentelemetry::metrics::Counter<u64> = &EVENTS;
                c.add(num() as u64, &tail());
                "ok".into()
            }
            "typed" => {
                Typed::global().typed_total.add(num() as u64, &[]);
                "ok".into()
            }
            "updown" => {
                OPEN.add(num(), &tail());
                "ok".into()
            }
            "hist" => {
                let v = rest.first().and_then(|v| v.parse().ok()).unwrap_or(0.0);
                SIZES.record(v, &tail());
                "ok".into()
            }
            "metered" => {
                let _ = work(rest.first() == Some(&"err"));
                "ok".into()
            }
            "timer" => {
                HANDLER.record(Duration::from_micros(num() as u64), &tail());
                "ok".into()
            }
            "tracing" => {
                let span = tracing::info_span!("work");
                span.in_scope(|| {
                    EVENTS.add(num() as u64, &[KeyValue::new("phase", "tracing")]);
                    let cx = Context::current();
                    let sc = cx.span().span_context().clone();
                    format!("ok {} {}", sc.trace_id(), sc.span_id())
                })
            }
            "flush" => match telemetry_runtime::flush() {
                Ok(()) => "ok".into(),
                Err(e) => format!("err {e}"),
            },
            "quit" => return,
            other => format!("err unknown command {other:?}"),
        };
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
