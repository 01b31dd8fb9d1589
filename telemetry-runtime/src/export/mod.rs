//! The export pipeline: started by the first record, run by one thread of
//! its own (no async runtime needed), flushed at process exit.
//!
//! Each export reads our storage and the OpenTelemetry SDK's instruments
//! (through a manual reader on the global meter provider), puts both under
//! one resource, and POSTs one OTLP/HTTP protobuf request.

pub(crate) mod collect;
pub(crate) mod encode;
pub(crate) mod transport;

use crate::config::{Config, HistogramAggregation, TemporalityPreference};
use crate::diag;
use crate::registry;
use collect::Collector;
use opentelemetry_proto::tonic::metrics::v1::ScopeMetrics;
use opentelemetry_sdk::metrics::data::ResourceMetrics as SdkResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    ManualReader, Pipeline as SdkPipeline, SdkMeterProvider, Temporality,
};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use transport::{Failure, Transport};

const IDLE: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const STOPPED: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(IDLE);
static PIPELINE: OnceLock<Option<Pipeline>> = OnceLock::new();
/// Whether `shutdown()` was called.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);
/// The process that started the pipeline. A child made by `fork()` has
/// storage (a copy) but no export thread: it must not wait for one.
static OWNER_PID: AtomicU32 = AtomicU32::new(0);

/// Whether this process is a fork of the one that started the pipeline.
fn forked() -> bool {
    let owner = OWNER_PID.load(Ordering::Relaxed);
    owner != 0 && owner != std::process::id()
}

/// Time `flush()` and `shutdown()` allow beyond the export timeout.
const MARGIN: Duration = Duration::from_millis(250);

/// The registry's first-use hook: the first record anywhere starts the
/// pipeline.
#[linkme::distributed_slice(crate::registry::TELEMETRY_RUNTIME_FIRST_USE)]
static START_ON_FIRST_USE: fn() = kick;

/// Starts the pipeline unless it runs already. Called on the first use of
/// any instrument; never blocks a caller that loses the race.
#[inline]
pub(crate) fn kick() {
    if STATE.load(Ordering::Relaxed) == IDLE
        && STATE
            .compare_exchange(IDLE, STARTING, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        let _ = pipeline();
    }
}

/// The pipeline, started if needed (waits for a start under way).
fn pipeline() -> Option<&'static Pipeline> {
    if let Some(p) = PIPELINE.get() {
        return p.as_ref();
    }
    if SHUT_DOWN.load(Ordering::Acquire) {
        // shutdown() came before anything started: never start now.
        return None;
    }
    PIPELINE
        .get_or_init(|| {
            let p = start();
            let _ = STATE.compare_exchange(STARTING, RUNNING, Ordering::AcqRel, Ordering::Relaxed);
            let _ = STATE.compare_exchange(IDLE, RUNNING, Ordering::AcqRel, Ordering::Relaxed);
            p
        })
        .as_ref()
}

/// Why [`flush()`](crate::flush) or [`shutdown()`](crate::shutdown) did not
/// confirm delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The backend did not answer before the export timeout.
    Timeout(Duration),
    /// The export failed; the message says why (never with header values).
    Failed(String),
    /// The pipeline was shut down before.
    ShutDown,
    /// This process is a child made by `fork()` of the process that started
    /// the pipeline: it has no export thread and exports nothing.
    Forked,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::Timeout(d) => write!(f, "no answer from the backend within {d:?}"),
            ExportError::Failed(m) => f.write_str(m),
            ExportError::ShutDown => f.write_str("the telemetry pipeline is shut down"),
            ExportError::Forked => f.write_str(
                "this process is a fork of the one that started the telemetry pipeline; a forked \
                 child exports nothing",
            ),
        }
    }
}

impl std::error::Error for ExportError {}

struct Control {
    /// Exports asked for by `flush()`.
    requested: u64,
    /// Exports finished, with the result of the last one.
    completed: u64,
    last: Result<(), Failure>,
    shutdown: bool,
    exited: bool,
}

struct Pipeline {
    config: Config,
    control: Mutex<Control>,
    wake: Condvar,
    provider: SdkMeterProvider,
    reader: Arc<ManualReader>,
}

/// A `MetricReader` that shares a `ManualReader` with the export thread
/// (the provider takes ownership of its readers).
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<SdkPipeline>) {
        self.0.register_pipeline(pipeline)
    }
    fn collect(&self, rm: &mut SdkResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, t: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(t)
    }
    fn temporality(&self, kind: opentelemetry_sdk::metrics::InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

thread_local! {
    /// Whether this thread is starting the pipeline: a meter it asks for
    /// meanwhile must not wait for the start (it would wait for itself).
    static STARTING_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn start() -> Option<Pipeline> {
    STARTING_HERE.with(|s| s.set(true));
    let p = start_here();
    STARTING_HERE.with(|s| s.set(false));
    p
}

fn start_here() -> Option<Pipeline> {
    // Where no constructor installed it before `main`.
    crate::span::install();
    let config = crate::config::current().clone();
    OWNER_PID.store(std::process::id(), Ordering::Relaxed);
    let catalog = registry::build_catalog();
    registry::report_conflicts(&catalog);
    crate::describe::write_from_env(&catalog);
    if !config.export_enabled {
        STATE.store(STOPPED, Ordering::Release);
        return None;
    }
    let temporality = match config.temporality {
        TemporalityPreference::Cumulative => Temporality::Cumulative,
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
    };
    let reader = Arc::new(
        ManualReader::builder()
            .with_temporality(temporality)
            .build(),
    );
    let mut builder = SdkMeterProvider::builder().with_reader(SharedReader(reader.clone()));
    if config.histogram_aggregation == HistogramAggregation::Base2Exponential {
        builder = builder.with_view(|i: &opentelemetry_sdk::metrics::Instrument| {
            (i.kind() == opentelemetry_sdk::metrics::InstrumentKind::Histogram)
                .then(|| {
                    opentelemetry_sdk::metrics::Stream::builder()
                        .with_aggregation(
                            opentelemetry_sdk::metrics::Aggregation::Base2ExponentialHistogram {
                                max_size: 160,
                                max_scale: 20,
                                record_min_max: true,
                            },
                        )
                        .build()
                        .ok()
                })
                .flatten()
        });
    }
    let provider = builder.build();
    #[cfg(not(provider_before_main))]
    opentelemetry::global::set_meter_provider(LazyProvider);
    let spawned = std::thread::Builder::new()
        .name("telemetry-export".into())
        .spawn(|| {
            if let Some(p) = pipeline() {
                p.run();
            }
        });
    if let Err(e) = spawned {
        diag::warn(format_args!(
            "could not start the export thread ({e}); metrics are recorded but not exported"
        ));
    }
    // SAFETY: `at_exit` is a plain `extern "C" fn()` that never unwinds.
    if unsafe { libc::atexit(at_exit) } != 0 {
        diag::warn(format_args!(
            "could not register the exit flush; call telemetry_runtime::shutdown() before exiting"
        ));
    }
    Some(Pipeline {
        config,
        control: Mutex::new(Control {
            requested: 0,
            completed: 0,
            last: Ok(()),
            shutdown: false,
            exited: false,
        }),
        wake: Condvar::new(),
        provider,
        reader,
    })
}

extern "C" fn at_exit() {
    // Never unwind out of an exit handler.
    let _ = std::panic::catch_unwind(|| {
        let _ = shutdown_inner();
    });
}

impl Pipeline {
    fn lock(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        let transport = Transport::new(&self.config);
        let mut collector = Collector::default();
        let mut failing: Option<String> = None;
        let mut next = Instant::now() + self.config.interval;
        loop {
            let (target, stop) = {
                let mut c = self.lock();
                loop {
                    if c.shutdown || c.requested > c.completed {
                        break;
                    }
                    let now = Instant::now();
                    if now >= next {
                        break;
                    }
                    c = self
                        .wake
                        .wait_timeout(c, next - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                (c.requested, c.shutdown)
            };
            // A bug in collecting or sending must not end exports for the
            // life of the process: it fails this export only.
            let began = Instant::now();
            let deadline = began + self.config.export_timeout;
            let mut stats = crate::health::ExportStats::default();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let r = self.export_once(&transport, &mut collector, deadline, &mut stats);
                crate::health::record_export(
                    &stats,
                    r.as_ref().err().map(|f| f.cause.as_str()),
                    began.elapsed(),
                );
                // The last export ends every series at once: one more
                // request, every point flagged as a stale marker. Only
                // after the final values arrived, and within the same
                // deadline, so shutdown keeps its bound.
                if stop && r.is_ok() && self.config.stale_markers {
                    let mut markers = crate::health::ExportStats::default();
                    let sent =
                        self.send_stale_markers(&transport, &mut collector, deadline, &mut markers);
                    if let Err(f) = sent {
                        diag::warn_once(&format!(
                            "the stale markers of shutdown were not delivered: {}",
                            f.message
                        ));
                    }
                }
                r
            }))
            .unwrap_or_else(|_| {
                Err(Failure {
                    cause: "internal".into(),
                    message: "an export failed with an internal error (a panic, printed above); \
                              the next export will try again"
                        .into(),
                })
            });
            match &result {
                Ok(()) => {
                    if let Some(cause) = failing.take() {
                        diag::warn(format_args!("export works again (last failure: {cause})"));
                    }
                }
                Err(f) => {
                    diag::warn_once(&f.message);
                    failing = Some(f.cause.clone());
                }
            }
            let mut c = self.lock();
            c.completed = c.completed.max(target);
            c.last = result;
            if stop {
                c.exited = true;
                self.wake.notify_all();
                return;
            }
            self.wake.notify_all();
            drop(c);
            next = Instant::now() + self.config.interval;
        }
    }

    /// The SDK's instruments, as messages.
    fn collect_sdk(&self) -> Vec<ScopeMetrics> {
        let mut rm = SdkResourceMetrics::default();
        match self.reader.collect(&mut rm) {
            Ok(()) => {
                let req = opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest::from(&rm);
                req.resource_metrics
                    .into_iter()
                    .flat_map(|r| r.scope_metrics)
                    .collect()
            }
            Err(_) => Vec::new(),
        }
    }

    fn export_once(
        &self,
        transport: &Transport,
        collector: &mut Collector,
        deadline: Instant,
        stats: &mut crate::health::ExportStats,
    ) -> Result<(), Failure> {
        let catalog = registry::build_catalog();
        let ours = collector.collect(&self.config, &catalog);
        let sdk = self.collect_sdk();
        stats.points = ours.points.iter().map(|p| p.len() as u64).sum::<u64>()
            + sdk.iter().map(collect::points_in).sum::<u64>();
        let r = transport.send(collector.encode(&self.config, ours, sdk), deadline, stats);
        if r.is_ok() {
            collector.acknowledge();
        }
        r
    }

    /// Sends one request in which every point of the last export (ours
    /// and the SDK's) is sent again flagged `NoRecordedValue`, a
    /// Prometheus staleness marker, so that the backend ends each series
    /// at once instead of showing its last value for its lookback (5
    /// minutes). The request is the last body, decoded: exactly the series
    /// that were sent. The points keep their values (a backend that
    /// ignores the flag sees the last value again, never a zero that would
    /// look like a counter reset), and are stamped at least a millisecond
    /// after them (a backend keeps milliseconds: a marker at the same
    /// instant would be a duplicate sample).
    fn send_stale_markers(
        &self,
        transport: &Transport,
        collector: &mut Collector,
        deadline: Instant,
        stats: &mut crate::health::ExportStats,
    ) -> Result<(), Failure> {
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        let mut req = <ExportMetricsServiceRequest as prost::Message>::decode(collector.body())
            .map_err(|e| Failure {
                cause: "internal".into(),
                message: format!("could not read back the last request: {e}"),
            })?;
        let now = crate::clock::now_ns();
        for rm in &mut req.resource_metrics {
            for sm in &mut rm.scope_metrics {
                mark_stale(sm, now);
            }
        }
        transport.send(&prost::Message::encode_to_vec(&req), deadline, stats)
    }

    /// Asks for an export and waits for it, at most the export timeout.
    fn flush(&self) -> Result<(), ExportError> {
        let bound = self.config.export_timeout + MARGIN;
        let deadline = Instant::now() + bound;
        let mut c = self.lock();
        if c.exited {
            return Err(ExportError::ShutDown);
        }
        c.requested += 1;
        let mine = c.requested;
        self.wake.notify_all();
        while c.completed < mine && !c.exited {
            let now = Instant::now();
            if now >= deadline {
                return Err(ExportError::Timeout(bound));
            }
            c = self
                .wake
                .wait_timeout(c, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if c.completed < mine {
            return Err(ExportError::ShutDown);
        }
        c.last.clone().map_err(|f| ExportError::Failed(f.message))
    }

    fn shutdown(&self) -> Result<(), ExportError> {
        let bound = self.config.export_timeout + MARGIN;
        let deadline = Instant::now() + bound;
        let mut c = self.lock();
        if c.exited {
            return Ok(());
        }
        c.shutdown = true;
        self.wake.notify_all();
        while !c.exited {
            let now = Instant::now();
            if now >= deadline {
                return Err(ExportError::Timeout(bound));
            }
            c = self
                .wake
                .wait_timeout(c, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let last = c.last.clone();
        drop(c);
        let _ = self
            .provider
            .shutdown_with_timeout(Duration::from_millis(100));
        last.map_err(|f| ExportError::Failed(f.message))
    }
}

/// Flags every data point of `sm` as having no recorded value, stamped
/// `now`, and at least a millisecond after its own time.
fn mark_stale(sm: &mut ScopeMetrics, now: u64) {
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, DataPointFlags};
    const STALE: u32 = DataPointFlags::NoRecordedValueMask as u32;
    let later = |t: u64| now.max(t.saturating_add(1_000_000));
    // A marker carries no exemplar: those were sent with the values.
    macro_rules! mark {
        ($points:expr $(, $exemplars:ident)?) => {
            for p in $points.iter_mut() {
                p.flags |= STALE;
                p.time_unix_nano = later(p.time_unix_nano);
                $(p.$exemplars.clear();)?
            }
        };
    }
    for m in &mut sm.metrics {
        match &mut m.data {
            Some(Data::Sum(d)) => mark!(d.data_points, exemplars),
            Some(Data::Gauge(d)) => mark!(d.data_points, exemplars),
            Some(Data::Histogram(d)) => mark!(d.data_points, exemplars),
            Some(Data::ExponentialHistogram(d)) => mark!(d.data_points, exemplars),
            Some(Data::Summary(d)) => mark!(d.data_points),
            None => {}
        }
    }
}

/// Exports everything recorded so far and waits until the backend has
/// answered, or until `OTEL_METRIC_EXPORT_TIMEOUT` (plus 250 ms) has passed.
///
/// Starts the pipeline if nothing did yet. With export disabled
/// (`OTEL_SDK_DISABLED=true`, `HYPERACTOR_OTEL_BACKEND=none`) it returns
/// `Ok(())` at once.
///
/// ```no_run
/// telemetry_runtime::declare_static_counter!(JOBS, "jobs_total");
/// JOBS.add(1, &[]);
/// if let Err(e) = telemetry_runtime::flush() {
///     eprintln!("metrics not delivered: {e}");
/// }
/// ```
pub fn flush() -> Result<(), ExportError> {
    if forked() {
        return Err(ExportError::Forked);
    }
    kick();
    match pipeline() {
        Some(p) => p.flush(),
        None if SHUT_DOWN.load(Ordering::Acquire) => Err(ExportError::ShutDown),
        None => Ok(()),
    }
}

/// Exports one last time and stops the export thread, waiting at most
/// `OTEL_METRIC_EXPORT_TIMEOUT` (plus 250 ms).
///
/// Records made afterwards cost what they always cost and are not exported;
/// `flush()` then returns [`ExportError::ShutDown`], and a second
/// `shutdown()` returns `Ok(())` at once.
/// Calling it is optional: the pipeline also exports once more when the
/// process exits through `main` returning or `std::process::exit`.
///
/// In a child made by `fork()` it returns [`ExportError::Forked`] at once.
pub fn shutdown() -> Result<(), ExportError> {
    if forked() {
        return Err(ExportError::Forked);
    }
    SHUT_DOWN.store(true, Ordering::Release);
    let r = shutdown_inner();
    STATE.store(STOPPED, Ordering::Release);
    r
}

fn shutdown_inner() -> Result<(), ExportError> {
    if forked() {
        // No export thread here, and its lock may have been held at the
        // fork: touch nothing, so that the child exits at once.
        return Err(ExportError::Forked);
    }
    match PIPELINE.get().and_then(|p| p.as_ref()) {
        Some(p) => p.shutdown(),
        None => Ok(()),
    }
}

/// The global meter provider, installed before `main` runs (by an
/// `.init_array` entry, or `__mod_init_func` on Apple platforms), so that a
/// meter taken from `opentelemetry::global::meter()` on the first line of
/// `main` is exported like everything else. Taking a meter starts the
/// pipeline; its instruments are the pipeline's OpenTelemetry SDK
/// instruments, read at each export.
#[derive(Debug, Clone, Copy)]
struct LazyProvider;

impl opentelemetry::metrics::MeterProvider for LazyProvider {
    fn meter_with_scope(
        &self,
        scope: opentelemetry::InstrumentationScope,
    ) -> opentelemetry::metrics::Meter {
        // Export disabled or shut down, or a meter asked for by the start
        // itself (a tracing layer over the SDK's internal logs): a
        // provider with no reader, whose instruments record nothing.
        let off = |scope| {
            static OFF: OnceLock<SdkMeterProvider> = OnceLock::new();
            OFF.get_or_init(|| SdkMeterProvider::builder().build())
                .meter_with_scope(scope)
        };
        if STARTING_HERE.with(std::cell::Cell::get) {
            return off(scope);
        }
        kick();
        match pipeline() {
            Some(p) => p.provider.meter_with_scope(scope),
            None => off(scope),
        }
    }
}

/// Installs [`LazyProvider`] as the global meter provider, and the
/// context observer that exemplars read the active span from
/// (`span.rs`). Runs before `main`; never unwinds.
#[cfg(provider_before_main)]
extern "C" fn install_global_provider() {
    let _ = std::panic::catch_unwind(|| {
        opentelemetry::global::set_meter_provider(LazyProvider);
    });
    crate::span::install();
}

#[cfg(all(provider_before_main, not(target_vendor = "apple")))]
#[used]
#[link_section = ".init_array"]
static INSTALL_GLOBAL_PROVIDER: extern "C" fn() = install_global_provider;

#[cfg(all(provider_before_main, target_vendor = "apple"))]
#[used]
#[link_section = "__DATA,__mod_init_func"]
static INSTALL_GLOBAL_PROVIDER: extern "C" fn() = install_global_provider;

/// Returns a meter of the global OpenTelemetry meter provider, after
/// starting the pipeline.
///
/// `opentelemetry::global::meter(name)` works as well, from the first line
/// of `main`: the global provider is this crate's from before `main` runs
/// (where the platform has constructors: ELF targets and Apple; elsewhere
/// it is installed when the pipeline starts, and a meter taken before that
/// stays a no-op, an OpenTelemetry rule).
///
/// ```no_run
/// let meter = telemetry_runtime::meter("my-library");
/// let c = meter.u64_counter("sdk_events_total").build();
/// c.add(1, &[telemetry_runtime::KeyValue::new("kind", "a")]);
/// ```
pub fn meter(name: impl Into<std::borrow::Cow<'static, str>>) -> opentelemetry::metrics::Meter {
    kick();
    let _ = pipeline();
    opentelemetry::global::meter_with_scope(
        opentelemetry::InstrumentationScope::builder(name).build(),
    )
}
