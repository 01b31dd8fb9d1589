//! The active span as a record sees it, for exemplars.
//!
//! A record must not ask OpenTelemetry for the current `Context` (a
//! thread-local `RefCell` borrow and a walk to the span: several
//! nanoseconds on every record). Instead a context observer, installed
//! once per process, is told of every context the thread enters and
//! leaves (`Context::attach` and its guard's drop; `tracing-opentelemetry`
//! attaches a span's context when the span is entered), and keeps in two
//! thread-locals whether this thread's records offer an exemplar now and
//! with which span. A record then pays one load of a thread-local byte and
//! one branch: [`may_offer`].
//!
//! The observer is installed before `main` where the platform runs
//! constructors (with the global meter provider, see `export`), and
//! otherwise when the pipeline starts: a context attached before that is
//! seen from its next change.

use crate::config::{self, ExemplarFilter};
use opentelemetry::context::{ContextObserver, GlobalContextObserver};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

/// A sampled span's ids, as OpenTelemetry writes them (big-endian bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanIds {
    pub(crate) trace: [u8; 16],
    pub(crate) span: [u8; 8],
}

/// This thread has not been told of a context yet: its first record
/// decides from the filter (no span is active on a new thread).
const UNKNOWN: u8 = 0;
/// Records offer exemplars.
const OFFER: u8 = 1;
/// Records do not.
const SKIP: u8 = 2;

thread_local! {
    // `const` and no destructor: each read is one TLS-relative load.
    static STATE: Cell<u8> = const { Cell::new(UNKNOWN) };
    static IDS: Cell<Option<SpanIds>> = const { Cell::new(None) };
}

/// Whether a record on this thread may offer an exemplar: the one branch
/// every record pays. False outside a sampled span under the default
/// `trace_based` filter.
#[inline(always)]
pub(crate) fn may_offer() -> bool {
    STATE.with(Cell::get) != SKIP
}

/// Whether this record offers an exemplar, and with which span (`None`
/// outside one, under `always_on`). Called past [`may_offer`].
pub(crate) fn offered() -> Option<Option<SpanIds>> {
    let mut state = STATE.with(Cell::get);
    let ids = IDS.with(Cell::get);
    if state == UNKNOWN {
        state = state_for(filter(), ids);
        STATE.with(|s| s.set(state));
    }
    (state == OFFER).then_some(ids)
}

/// The filter in effect, as `Filter as u8`; 0 until first read. Read
/// from the configuration by the first record that asks, never by the
/// observer: a context attached before the program set its `OTEL_*`
/// variables must not fix the configuration.
static FILTER: AtomicU8 = AtomicU8::new(0);

#[derive(Clone, Copy)]
#[repr(u8)]
enum Filter {
    TraceBased = 1,
    AlwaysOn = 2,
    /// `always_off`, or nothing is exported.
    Off = 3,
}

/// The filter in effect, read from the configuration once.
fn filter() -> u8 {
    match FILTER.load(Relaxed) {
        0 => {
            let cfg = config::current();
            let f = match cfg.exemplar_filter {
                _ if !cfg.export_enabled => Filter::Off,
                ExemplarFilter::TraceBased => Filter::TraceBased,
                ExemplarFilter::AlwaysOn => Filter::AlwaysOn,
                ExemplarFilter::AlwaysOff => Filter::Off,
            } as u8;
            FILTER.store(f, Relaxed);
            f
        }
        f => f,
    }
}

/// The state of a thread whose active sampled span is `ids`, under
/// `filter` (0: not read yet, so the thread's first record decides).
fn state_for(filter: u8, ids: Option<SpanIds>) -> u8 {
    match filter {
        0 => UNKNOWN,
        f if f == Filter::AlwaysOn as u8 => OFFER,
        f if f == Filter::TraceBased as u8 && ids.is_some() => OFFER,
        _ => SKIP,
    }
}

/// The sampled span of `cx`, if it has one.
fn sampled_span(cx: &Context) -> Option<SpanIds> {
    let span = cx.span();
    let sc = span.span_context();
    (sc.is_valid() && sc.is_sampled()).then(|| SpanIds {
        trace: sc.trace_id().to_bytes(),
        span: sc.span_id().to_bytes(),
    })
}

/// This thread's context is now `cx`.
fn entered(cx: &Context) {
    let ids = sampled_span(cx);
    IDS.with(|c| c.set(ids));
    STATE.with(|c| c.set(state_for(FILTER.load(Relaxed), ids)));
}

/// Keeps the thread-locals in step with the thread's current context.
/// Reads only the contexts it is handed (calling `Context::current()`
/// here would panic: the context stack is borrowed).
struct Observer;

impl ContextObserver for Observer {
    fn on_context_enter(&self, _from: &Context, to: &Context) {
        entered(to);
    }

    fn on_context_exit(&self, _from: &Context, to: &Context) {
        entered(to);
    }
}

/// Installs the observer, once per process. Never unwinds. A process
/// that set its own global context observer first keeps it, and its
/// records carry no exemplars (OpenTelemetry takes one observer).
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::panic::catch_unwind(|| GlobalContextObserver::set(Arc::new(Observer)));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    fn remote(flags: TraceFlags) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_bytes([7; 16]),
            SpanId::from_bytes([9; 8]),
            flags,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn the_thread_follows_attached_contexts() {
        install();
        std::thread::spawn(|| {
            assert!(may_offer(), "a new thread decides at its first record");
            assert_eq!(offered(), None);
            assert!(!may_offer());
            {
                let _g = remote(TraceFlags::SAMPLED).attach();
                assert!(may_offer());
                let ids = SpanIds {
                    trace: [7; 16],
                    span: [9; 8],
                };
                assert_eq!(offered(), Some(Some(ids)));
                {
                    let _g = remote(TraceFlags::default()).attach();
                    assert!(!may_offer(), "an unsampled span offers nothing");
                }
                assert_eq!(offered(), Some(Some(ids)), "back in the sampled span");
            }
            assert!(!may_offer());
        })
        .join()
        .unwrap();
    }
}
