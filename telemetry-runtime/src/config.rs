//! Configuration from the standard `OTEL_*` environment variables.
//!
//! Parsing never fails: a malformed value produces one message naming the
//! variable, the bad value (never for headers, which carry secrets) and the
//! default used instead.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default metrics endpoint: Prometheus's OTLP receiver on loopback.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:9090/api/v1/otlp/v1/metrics";
/// Default export interval (`OTEL_METRIC_EXPORT_INTERVAL`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(15_000);
/// Default bound of one whole export, retries included (`OTEL_METRIC_EXPORT_TIMEOUT`).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_millis(30_000);
/// Default bound of one HTTP request (`OTEL_EXPORTER_OTLP_TIMEOUT`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(10_000);
/// Default `service.name`.
pub const DEFAULT_SERVICE_NAME: &str = "monarch";

/// Largest accepted duration, in milliseconds (one day).
const MAX_MILLIS: u64 = 86_400_000;

/// Which temporality sums and histograms are exported with
/// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemporalityPreference {
    /// Totals since the series started (the default; what Prometheus stores).
    Cumulative,
    /// Changes since the last export, for counters, histograms and up-down counters.
    Delta,
    /// Delta for counters and histograms, cumulative for up-down counters.
    LowMemory,
}

/// How histograms are aggregated
/// (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistogramAggregation {
    /// Explicit buckets (the default).
    ExplicitBucket,
    /// Base-2 exponential buckets (Prometheus native histograms).
    Base2Exponential,
}

/// Which records offer an exemplar (`OTEL_METRICS_EXEMPLAR_FILTER`), as the
/// OpenTelemetry SDK specification names them.
///
/// Under the default, a record made while a sampled span's context is
/// attached (by `Context::attach`, or by entering a `tracing` span with
/// `tracing-opentelemetry`) gives its point an exemplar with the span's ids:
///
/// ```
/// use telemetry_runtime::opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use telemetry_runtime::opentelemetry::Context;
/// use telemetry_runtime::{declare_static_histogram, ExemplarFilter};
///
/// declare_static_histogram!(LATENCY, "doc.exemplar.latency", unit = "s");
/// let span = SpanContext::new(TraceId::from_bytes([1; 16]), SpanId::from_bytes([2; 8]),
///     TraceFlags::SAMPLED, true, TraceState::default());
/// let _attached = Context::current().with_remote_span_context(span).attach();
/// // Exported with an exemplar: 0.25, now, trace 0101.., span 0202..
/// LATENCY.record(0.25, &[]);
/// assert_eq!(ExemplarFilter::default().as_str(), "trace_based");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExemplarFilter {
    /// Records made inside a sampled span (the default): the exemplar
    /// carries that span's trace and span ids.
    #[default]
    TraceBased,
    /// Every record, with the ids of the active sampled span if there is one.
    AlwaysOn,
    /// No record.
    AlwaysOff,
}

impl ExemplarFilter {
    /// The value as `OTEL_METRICS_EXEMPLAR_FILTER` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExemplarFilter::TraceBased => "trace_based",
            ExemplarFilter::AlwaysOn => "always_on",
            ExemplarFilter::AlwaysOff => "always_off",
        }
    }
}

/// The whole configuration of the export pipeline.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Whether anything is exported (`OTEL_SDK_DISABLED`, `HYPERACTOR_OTEL_BACKEND`).
    pub export_enabled: bool,
    /// Full URL metrics are POSTed to.
    pub endpoint: String,
    /// Time between two exports.
    pub interval: Duration,
    /// Bound of one whole export, retries included; also bounds `flush()`.
    pub export_timeout: Duration,
    /// Bound of one HTTP request.
    pub request_timeout: Duration,
    /// `service.name`.
    pub service_name: String,
    /// `service.instance.id`.
    pub service_instance_id: String,
    /// Other resource attributes, decoded, in the order given.
    pub resource_attributes: Vec<(String, String)>,
    /// Temporality preference.
    pub temporality: TemporalityPreference,
    /// Histogram aggregation.
    pub histogram_aggregation: HistogramAggregation,
    /// Extra HTTP headers (values are secrets: never printed).
    pub headers: Vec<(String, String)>,
    /// PEM file of the CA that signs the backend's certificate.
    pub certificate: Option<PathBuf>,
    /// Whether request bodies are gzip-compressed.
    pub gzip: bool,
    /// The backend's name translation strategy
    /// (`HYPERACTOR_OTEL_TRANSLATION_STRATEGY`).
    pub translation_strategy: crate::translation::TranslationStrategy,
    /// Whether the runtime's own health metrics (`otel.sdk.*`) are
    /// exported (`HYPERACTOR_OTEL_SELF_METRICS`).
    pub self_metrics: bool,
    /// Whether the last export is followed by stale markers
    /// (`HYPERACTOR_OTEL_STALE_MARKERS`).
    pub stale_markers: bool,
    /// Which records offer exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`).
    pub exemplar_filter: ExemplarFilter,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("export_enabled", &self.export_enabled)
            .field("endpoint", &redact_url(&self.endpoint))
            .field("interval", &self.interval)
            .field("export_timeout", &self.export_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("service_name", &self.service_name)
            .field("service_instance_id", &self.service_instance_id)
            .field("resource_attributes", &self.resource_attributes)
            .field("temporality", &self.temporality)
            .field("histogram_aggregation", &self.histogram_aggregation)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| (k.as_str(), "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("certificate", &self.certificate)
            .field("gzip", &self.gzip)
            .field("translation_strategy", &self.translation_strategy)
            .field("self_metrics", &self.self_metrics)
            .field("stale_markers", &self.stale_markers)
            .field("exemplar_filter", &self.exemplar_filter)
            .finish()
    }
}

impl Config {
    /// Every environment variable the runtime reads.
    pub const VARIABLES: &'static [&'static str] = &[
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_SERVICE_NAME",
        "OTEL_SERVICE_INSTANCE_ID",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "OTEL_SDK_DISABLED",
        "HYPERACTOR_OTEL_BACKEND",
        "HYPERACTOR_OTEL_TRANSLATION_STRATEGY",
        "HYPERACTOR_OTEL_SELF_METRICS",
        "HYPERACTOR_OTEL_STALE_MARKERS",
        "OTEL_METRICS_EXEMPLAR_FILTER",
    ];

    /// Reads the process environment. Returns the configuration and the
    /// messages about malformed values.
    pub fn from_env() -> (Config, Vec<String>) {
        Config::from_lookup(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Parses the variables that `get` returns (testable without touching
    /// the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> (Config, Vec<String>) {
        let mut p = Parser {
            get: &get,
            msgs: Vec::new(),
        };
        let cfg = p.parse();
        (cfg, p.msgs)
    }
}

/// The process's configuration, read from the environment once; its
/// messages are printed when it is first read.
pub(crate) fn current() -> &'static Config {
    static CURRENT: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    CURRENT.get_or_init(|| {
        let (config, msgs) = Config::from_env();
        for m in &msgs {
            crate::diag::warn(format_args!("{m}"));
        }
        config
    })
}

/// Whether histograms use exponential buckets in this process.
pub(crate) fn exponential_histograms() -> bool {
    current().histogram_aggregation == HistogramAggregation::Base2Exponential
}

struct Parser<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    msgs: Vec<String>,
}

impl Parser<'_> {
    /// The value of `var`; an empty value counts as unset, with a message.
    fn var(&mut self, var: &str, default: &str) -> Option<String> {
        let v = (self.get)(var)?;
        if v.trim().is_empty() {
            self.msgs.push(format!(
                "{var} is set but empty; using the default ({default})"
            ));
            return None;
        }
        Some(v.trim().to_owned())
    }

    fn bad(&mut self, var: &str, value: &str, why: &str, default: &str) {
        let value = shown(value);
        self.msgs.push(format!(
            "{var}={value:?} is not valid ({why}); using the default ({default})"
        ));
    }

    /// The first of `vars` that is set, with its name.
    fn first(&mut self, vars: &[&'static str], default: &str) -> Option<(&'static str, String)> {
        vars.iter()
            .find_map(|v| self.var(v, default).map(|val| (*v, val)))
    }

    fn millis(&mut self, vars: &[&'static str], default: Duration) -> Duration {
        let shown = format!("{} ms", default.as_millis());
        let Some((var, v)) = self.first(vars, &shown) else {
            return default;
        };
        match v.parse::<u64>() {
            Ok(0) => {
                self.bad(var, &v, "must be a positive number of milliseconds", &shown);
                default
            }
            Ok(n) if n > MAX_MILLIS => {
                self.bad(var, &v, "more than one day", &shown);
                default
            }
            Ok(n) => Duration::from_millis(n),
            Err(_) => {
                self.bad(
                    var,
                    &v,
                    "expected whole milliseconds, such as 15000",
                    &shown,
                );
                default
            }
        }
    }

    fn boolean(&mut self, var: &'static str) -> bool {
        match self.var(var, "false") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.bad(var, &v, "expected true or false", "false");
                false
            }
        }
    }

    fn parse(&mut self) -> Config {
        let sdk_disabled = self.boolean("OTEL_SDK_DISABLED");
        let backend_on = match self.var("HYPERACTOR_OTEL_BACKEND", "prometheus") {
            None => true,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "prometheus" => true,
                "none" | "off" => false,
                _ => {
                    self.bad(
                        "HYPERACTOR_OTEL_BACKEND",
                        &v,
                        "supported values: prometheus, none, off",
                        "prometheus",
                    );
                    true
                }
            },
        };
        self.protocol();
        Config {
            export_enabled: backend_on && !sdk_disabled,
            endpoint: self.endpoint(),
            interval: self.millis(&["OTEL_METRIC_EXPORT_INTERVAL"], DEFAULT_INTERVAL),
            export_timeout: self.millis(&["OTEL_METRIC_EXPORT_TIMEOUT"], DEFAULT_EXPORT_TIMEOUT),
            request_timeout: self.millis(
                &[
                    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                    "OTEL_EXPORTER_OTLP_TIMEOUT",
                ],
                DEFAULT_REQUEST_TIMEOUT,
            ),
            service_name: String::new(),
            service_instance_id: String::new(),
            resource_attributes: Vec::new(),
            temporality: self.temporality(),
            histogram_aggregation: self.histogram_aggregation(),
            translation_strategy: self.translation_strategy(),
            self_metrics: self.on_off("HYPERACTOR_OTEL_SELF_METRICS"),
            stale_markers: self.on_off("HYPERACTOR_OTEL_STALE_MARKERS"),
            exemplar_filter: self.exemplar_filter(),
            headers: self.headers(),
            certificate: self
                .first(
                    &[
                        "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                        "OTEL_EXPORTER_OTLP_CERTIFICATE",
                    ],
                    "the system's roots",
                )
                .map(|(_, v)| PathBuf::from(v)),
            gzip: self.compression(),
        }
        .with_resource(self)
    }

    fn protocol(&mut self) {
        const SUPPORTED: &str = "supported: http/protobuf";
        let Some((var, v)) = self.first(
            &[
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ],
            "http/protobuf",
        ) else {
            return;
        };
        if v != "http/protobuf" {
            self.bad(var, &v, SUPPORTED, "http/protobuf");
        }
    }

    fn endpoint(&mut self) -> String {
        // The base endpoint gets the signal path appended (OTLP spec). It is
        // checked even when the signal-specific one overrides it, so that a
        // malformed value is always reported.
        let base = match self.var("OTEL_EXPORTER_OTLP_ENDPOINT", DEFAULT_ENDPOINT) {
            None => None,
            Some(v) => match check_url(&v) {
                Ok(()) => Some(format!("{}/v1/metrics", v.trim_end_matches('/'))),
                Err(why) => {
                    self.bad(
                        "OTEL_EXPORTER_OTLP_ENDPOINT",
                        &redact_url(&v),
                        why,
                        DEFAULT_ENDPOINT,
                    );
                    None
                }
            },
        };
        let fallback = base.unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        // The signal-specific endpoint is used as given.
        match self.var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &fallback) {
            None => fallback,
            Some(v) => match check_url(&v) {
                Ok(()) => v,
                Err(why) => {
                    let shown = redact_url(&fallback);
                    self.bad(
                        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                        &redact_url(&v),
                        why,
                        &shown,
                    );
                    fallback
                }
            },
        }
    }

    fn temporality(&mut self) -> TemporalityPreference {
        const VAR: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
        let t = match self.var(VAR, "cumulative") {
            None => return TemporalityPreference::Cumulative,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "cumulative" => TemporalityPreference::Cumulative,
                "delta" => TemporalityPreference::Delta,
                "lowmemory" => TemporalityPreference::LowMemory,
                _ => {
                    self.bad(
                        VAR,
                        &v,
                        "supported values: cumulative, delta, lowmemory",
                        "cumulative",
                    );
                    return TemporalityPreference::Cumulative;
                }
            },
        };
        if t == TemporalityPreference::Cumulative {
            return t;
        }
        self.msgs.push(format!(
            "{VAR} selects delta temporality: Prometheus stores delta sums only with \
             --enable-feature=otlp-deltatocumulative (or native delta ingestion) and otherwise \
             drops them while answering 200"
        ));
        t
    }

    fn translation_strategy(&mut self) -> crate::translation::TranslationStrategy {
        const VAR: &str = "HYPERACTOR_OTEL_TRANSLATION_STRATEGY";
        let default = crate::translation::TranslationStrategy::default();
        match self.var(VAR, default.as_str()) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                self.bad(
                    VAR,
                    &v,
                    "supported values: UnderscoreEscapingWithSuffixes, \
                     UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes, NoTranslation",
                    default.as_str(),
                );
                default
            }),
        }
    }

    fn exemplar_filter(&mut self) -> ExemplarFilter {
        const VAR: &str = "OTEL_METRICS_EXEMPLAR_FILTER";
        let default = ExemplarFilter::default();
        let Some(v) = self.var(VAR, default.as_str()) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "trace_based" => ExemplarFilter::TraceBased,
            "always_on" => ExemplarFilter::AlwaysOn,
            "always_off" => ExemplarFilter::AlwaysOff,
            _ => {
                self.bad(
                    VAR,
                    &v,
                    "supported values: trace_based, always_on, always_off",
                    default.as_str(),
                );
                default
            }
        }
    }

    /// A switch that is on by default.
    fn on_off(&mut self, var: &'static str) -> bool {
        match self.var(var, "on") {
            None => true,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "on" | "true" => true,
                "off" | "false" => false,
                _ => {
                    self.bad(var, &v, "supported values: on, off", "on");
                    true
                }
            },
        }
    }

    fn histogram_aggregation(&mut self) -> HistogramAggregation {
        const VAR: &str = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION";
        match self.var(VAR, "explicit_bucket_histogram") {
            None => HistogramAggregation::ExplicitBucket,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "explicit_bucket_histogram" => HistogramAggregation::ExplicitBucket,
                "base2_exponential_bucket_histogram" => HistogramAggregation::Base2Exponential,
                _ => {
                    self.bad(
                        VAR,
                        &v,
                        "supported values: explicit_bucket_histogram, base2_exponential_bucket_histogram",
                        "explicit_bucket_histogram",
                    );
                    HistogramAggregation::ExplicitBucket
                }
            },
        }
    }

    fn compression(&mut self) -> bool {
        let Some((var, v)) = self.first(
            &[
                "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ],
            "none",
        ) else {
            return false;
        };
        match v.to_ascii_lowercase().as_str() {
            "gzip" => true,
            "none" => false,
            _ => {
                self.bad(var, &v, "supported values: gzip, none", "none");
                false
            }
        }
    }

    fn headers(&mut self) -> Vec<(String, String)> {
        // Signal-specific headers are added after (and override) general ones.
        let mut out: Vec<(String, String)> = Vec::new();
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            let Some(v) = self.var(var, "no headers") else {
                continue;
            };
            for (n, item) in v.split(',').enumerate() {
                if item.trim().is_empty() {
                    continue;
                }
                let parsed = item.split_once('=').ok_or("no `=`").and_then(|(k, val)| {
                    let k = percent_decode(k.trim()).ok_or("bad percent-encoding in the name")?;
                    let val =
                        percent_decode(val.trim()).ok_or("bad percent-encoding in the value")?;
                    if k.is_empty() || !k.bytes().all(is_token_byte) {
                        return Err("the name is not a valid HTTP header name");
                    }
                    if val.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                        return Err("the value contains a line break");
                    }
                    Ok((k, val))
                });
                match parsed {
                    Ok((k, val)) => {
                        out.retain(|(o, _)| !o.eq_ignore_ascii_case(&k));
                        out.push((k, val));
                    }
                    // Never echo the item: it may hold a credential.
                    Err(why) => self.msgs.push(format!(
                        "{var}: item {} is not a valid `name=value` header ({why}); it is ignored \
                         (the value is not shown because headers carry credentials)",
                        n + 1
                    )),
                }
            }
        }
        out
    }

    fn resource(&mut self) -> (String, String, Vec<(String, String)>) {
        const VAR: &str = "OTEL_RESOURCE_ATTRIBUTES";
        let mut attrs: Vec<(String, String)> = Vec::new();
        if let Some(v) = self.var(VAR, "no attributes") {
            for item in v.split(',') {
                if item.trim().is_empty() {
                    continue;
                }
                let parsed = item.split_once('=').and_then(|(k, val)| {
                    Some((percent_decode(k.trim())?, percent_decode(val.trim())?))
                });
                match parsed {
                    Some((k, val)) if !k.is_empty() => {
                        attrs.retain(|(o, _)| *o != k);
                        attrs.push((k, val));
                    }
                    _ => self.msgs.push(format!(
                        "{VAR}: {:?} is not a valid `key=value` pair (percent-encoded); it is ignored",
                        shown(item)
                    )),
                }
            }
        }
        // An empty `service.name=` or `service.instance.id=` counts as
        // unset (an empty label is an absent one in Prometheus).
        let take = |attrs: &mut Vec<(String, String)>, key: &str| {
            let i = attrs.iter().position(|(k, _)| k == key)?;
            Some(attrs.remove(i).1).filter(|v| !v.trim().is_empty())
        };
        let from_attrs_name = take(&mut attrs, "service.name");
        let from_attrs_id = take(&mut attrs, "service.instance.id");
        let name = self
            .var("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAME)
            .or(from_attrs_name)
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        let id = self
            .var("OTEL_SERVICE_INSTANCE_ID", "a random UUID")
            .or(from_attrs_id)
            .unwrap_or_else(random_uuid);
        (name, id, attrs)
    }
}

impl Config {
    fn with_resource(mut self, p: &mut Parser<'_>) -> Config {
        let (name, id, attrs) = p.resource();
        self.service_name = name;
        self.service_instance_id = id;
        self.resource_attributes = attrs;
        self
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// At most the first 100 characters of a bad value, for a message.
fn shown(value: &str) -> String {
    const MAX: usize = 100;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_owned(),
    }
}

/// `url` as messages show it: without user-info (`user:password@`), query
/// or fragment, which may carry credentials.
pub(crate) fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("<redacted>@{host}"),
        None => authority.to_owned(),
    };
    let path = match path.find(['?', '#']) {
        Some(i) => format!("{}?<redacted>", &path[..i]),
        None => path.to_owned(),
    };
    match scheme {
        Some(s) => format!("{s}://{authority}{path}"),
        None => format!("{authority}{path}"),
    }
}

/// Checks that `url` is an absolute `http` or `https` URL with a host.
fn check_url(url: &str) -> Result<(), &'static str> {
    let uri: ureq::http::Uri = url.parse().map_err(|_| "not a URL")?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err("the scheme must be http or https"),
    }
    let authority = uri.authority().ok_or("no host")?;
    if authority.host().is_empty() {
        return Err("no host");
    }
    match authority.as_str().rsplit_once(':') {
        Some((_, port)) if !authority.as_str().ends_with(']') && port.parse::<u16>().is_err() => {
            Err("the port is not a number from 0 to 65535")
        }
        _ => Ok(()),
    }
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result
/// is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A random (version 4) UUID.
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No entropy source: fall back to time and pid, still unique enough
        // to tell processes apart.
        let t = crate::clock::now_ns().to_le_bytes();
        b[..8].copy_from_slice(&t);
        b[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> (Config, Vec<String>) {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let (c, msgs) = parse(&[]);
        assert!(msgs.is_empty(), "{msgs:?}");
        assert!(c.export_enabled);
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(c.interval, Duration::from_millis(15_000));
        assert_eq!(c.export_timeout, Duration::from_millis(30_000));
        assert_eq!(c.request_timeout, Duration::from_millis(10_000));
        assert_eq!(c.service_name, "monarch");
        assert_eq!(c.service_instance_id.len(), 36);
        assert_eq!(&c.service_instance_id[14..15], "4");
        assert_eq!(c.temporality, TemporalityPreference::Cumulative);
        assert_eq!(
            c.histogram_aggregation,
            HistogramAggregation::ExplicitBucket
        );
        assert!(c.headers.is_empty() && c.resource_attributes.is_empty());
        assert!(!c.gzip && c.certificate.is_none());
    }

    #[test]
    fn instance_ids_differ() {
        assert_ne!(
            parse(&[]).0.service_instance_id,
            parse(&[]).0.service_instance_id
        );
    }

    #[test]
    fn endpoints() {
        let (c, _) = parse(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1/api/v1/otlp/")]);
        assert_eq!(c.endpoint, "http://h:1/api/v1/otlp/v1/metrics");
        let (c, _) = parse(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m:2/x"),
        ]);
        assert_eq!(c.endpoint, "https://m:2/x");
        for bad in [
            "not a url",
            "ftp://h/x",
            "http://",
            "localhost:9090",
            "http://h:99999999/",
        ] {
            let (c, msgs) = parse(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", bad)]);
            assert_eq!(c.endpoint, DEFAULT_ENDPOINT, "{bad}");
            assert_eq!(msgs.len(), 1, "{bad}: {msgs:?}");
            assert!(
                msgs[0].starts_with("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="),
                "{msgs:?}"
            );
            assert!(msgs[0].contains(DEFAULT_ENDPOINT), "{msgs:?}");
        }
    }

    #[test]
    fn protocol() {
        let (_, msgs) = parse(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]);
        assert!(msgs.is_empty());
        let (_, msgs) = parse(&[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")]);
        assert_eq!(
            msgs,
            ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=\"grpc\" is not valid (supported: http/protobuf); \
              using the default (http/protobuf)"]
        );
    }

    #[test]
    fn durations() {
        let (c, msgs) = parse(&[
            ("OTEL_METRIC_EXPORT_INTERVAL", "250"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "900"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "700"),
        ]);
        assert!(msgs.is_empty());
        assert_eq!(c.interval, Duration::from_millis(250));
        assert_eq!(c.export_timeout, Duration::from_millis(900));
        assert_eq!(c.request_timeout, Duration::from_millis(700));
        let (c, _) = parse(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "700"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "300"),
        ]);
        assert_eq!(c.request_timeout, Duration::from_millis(300));
        for bad in [
            "abc",
            "-5",
            "0",
            "1.5",
            "99999999999999999999999",
            "86400001",
        ] {
            let (c, msgs) = parse(&[("OTEL_METRIC_EXPORT_INTERVAL", bad)]);
            assert_eq!(c.interval, DEFAULT_INTERVAL, "{bad}");
            assert_eq!(msgs.len(), 1, "{bad}");
            assert!(
                msgs[0].contains("OTEL_METRIC_EXPORT_INTERVAL") && msgs[0].contains("15000 ms")
            );
        }
    }

    #[test]
    fn empty_values_are_reported_and_ignored() {
        let (c, msgs) = parse(&[
            ("OTEL_SERVICE_NAME", ""),
            ("OTEL_METRIC_EXPORT_INTERVAL", " "),
        ]);
        assert_eq!(c.service_name, "monarch");
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[0].contains("OTEL_METRIC_EXPORT_INTERVAL is set but empty"),
            "{msgs:?}"
        );
    }

    #[test]
    fn resource() {
        let (c, msgs) = parse(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "region=eu%2Cwest,host.name=a%3Db, broken ,service.name=x,k=%zz",
            ),
            ("OTEL_SERVICE_INSTANCE_ID", "i-1"),
        ]);
        assert_eq!(
            c.resource_attributes,
            [
                ("region".into(), "eu,west".into()),
                ("host.name".into(), "a=b".into())
            ]
        );
        assert_eq!(c.service_name, "x");
        assert_eq!(c.service_instance_id, "i-1");
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        let (c, _) = parse(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=x"),
            ("OTEL_SERVICE_NAME", "y"),
        ]);
        assert_eq!(c.service_name, "y");
        // Found by fuzz/config: empty values there fell through as "".
        let (c, _) = parse(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=,service.instance.id=%20",
        )]);
        assert_eq!(c.service_name, "monarch");
        assert_eq!(c.service_instance_id.len(), 36);
    }

    #[test]
    fn temporality() {
        for (v, t) in [
            ("cumulative", TemporalityPreference::Cumulative),
            ("Delta", TemporalityPreference::Delta),
            ("lowmemory", TemporalityPreference::LowMemory),
        ] {
            let (c, msgs) = parse(&[("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", v)]);
            assert_eq!(c.temporality, t);
            let warned = msgs.iter().any(|m| m.contains("otlp-deltatocumulative"));
            assert_eq!(warned, t != TemporalityPreference::Cumulative);
        }
        let (c, msgs) = parse(&[(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "weekly",
        )]);
        assert_eq!(c.temporality, TemporalityPreference::Cumulative);
        assert!(msgs[0].contains("cumulative, delta, lowmemory"));
    }

    #[test]
    fn exemplar_filter() {
        assert_eq!(parse(&[]).0.exemplar_filter, ExemplarFilter::TraceBased);
        for (v, f) in [
            ("trace_based", ExemplarFilter::TraceBased),
            ("ALWAYS_ON", ExemplarFilter::AlwaysOn),
            ("always_off", ExemplarFilter::AlwaysOff),
        ] {
            let (c, msgs) = parse(&[("OTEL_METRICS_EXEMPLAR_FILTER", v)]);
            assert_eq!((c.exemplar_filter, msgs.len()), (f, 0), "{v}");
        }
        let (c, msgs) = parse(&[("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")]);
        assert_eq!(c.exemplar_filter, ExemplarFilter::TraceBased);
        assert_eq!(
            msgs,
            [
                "OTEL_METRICS_EXEMPLAR_FILTER=\"sometimes\" is not valid (supported values: \
                 trace_based, always_on, always_off); using the default (trace_based)"
            ]
        );
    }

    #[test]
    fn headers_never_echo_values() {
        let (c, msgs) = parse(&[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Basic%20c2VjcmV0,x-a=1",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "X-A=2,bad header=sekrit,novalue",
            ),
        ]);
        assert_eq!(
            c.headers,
            [
                ("Authorization".into(), "Basic c2VjcmV0".into()),
                ("X-A".into(), "2".into())
            ]
        );
        assert_eq!(msgs.len(), 2);
        for m in &msgs {
            assert!(!m.contains("sekrit") && !m.contains("c2VjcmV0"), "{m}");
        }
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn switches() {
        for (vars, on) in [
            (vec![("HYPERACTOR_OTEL_BACKEND", "prometheus")], true),
            (vec![("HYPERACTOR_OTEL_BACKEND", "none")], false),
            (vec![("HYPERACTOR_OTEL_BACKEND", "OFF")], false),
            (vec![("OTEL_SDK_DISABLED", "true")], false),
            (vec![("OTEL_SDK_DISABLED", "false")], true),
        ] {
            let (c, msgs) = parse(&vars);
            assert_eq!(c.export_enabled, on, "{vars:?}");
            assert!(msgs.is_empty());
        }
        let (c, msgs) = parse(&[("HYPERACTOR_OTEL_BACKEND", "graphite")]);
        assert!(c.export_enabled);
        assert!(
            msgs[0].contains("HYPERACTOR_OTEL_BACKEND=\"graphite\"")
                && msgs[0].contains("none, off")
        );
        let (c, msgs) = parse(&[("OTEL_SDK_DISABLED", "yes")]);
        assert!(c.export_enabled);
        assert_eq!(msgs.len(), 1);
    }

    #[test]
    fn histogram_aggregation_and_compression() {
        let (c, msgs) = parse(&[
            (
                "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                "base2_exponential_bucket_histogram",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ]);
        assert!(msgs.is_empty());
        assert_eq!(
            c.histogram_aggregation,
            HistogramAggregation::Base2Exponential
        );
        assert!(c.gzip);
        let (c, msgs) = parse(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")]);
        assert!(!c.gzip && msgs.len() == 1);
    }

    #[test]
    fn translation_strategy() {
        use crate::translation::TranslationStrategy as T;
        assert_eq!(
            parse(&[]).0.translation_strategy,
            T::UnderscoreEscapingWithSuffixes
        );
        for t in T::ALL {
            let (c, msgs) = parse(&[("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", t.as_str())]);
            assert!(msgs.is_empty());
            assert_eq!(c.translation_strategy, t);
        }
        let (c, msgs) = parse(&[("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", "notranslation")]);
        assert!(msgs.is_empty() && c.translation_strategy == T::NoTranslation);
        let (c, msgs) = parse(&[("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", "Legacy")]);
        assert_eq!(c.translation_strategy, T::UnderscoreEscapingWithSuffixes);
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("HYPERACTOR_OTEL_TRANSLATION_STRATEGY=\"Legacy\"")
                && msgs[0].contains("using the default (UnderscoreEscapingWithSuffixes)"),
            "{}",
            msgs[0]
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%e2%82%ac").as_deref(), Some("€"));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%ff"), None);
    }

    /// Variables whose whole value is one word, number or URL: a bad value
    /// gives exactly one message and the default.
    const SCALAR_VARS: &[&str] = &[
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        "OTEL_SDK_DISABLED",
        "HYPERACTOR_OTEL_BACKEND",
        "HYPERACTOR_OTEL_SELF_METRICS",
        "HYPERACTOR_OTEL_STALE_MARKERS",
    ];

    /// What the defaults are, without the random instance id.
    fn comparable(c: &Config) -> String {
        let mut c = c.clone();
        c.service_instance_id.clear();
        format!("{c:?}")
    }

    #[test]
    fn every_scalar_variable_rejects_garbage_with_one_message() {
        let default = comparable(&parse(&[]).0);
        let huge = "9".repeat(100_000);
        for var in SCALAR_VARS {
            for bad in [
                "",
                "   ",
                "garbage",
                "-1",
                "-15000",
                "0",
                "1e3",
                "99999999999999999999999999999",
                huge.as_str(),
                "\u{0}",
                "é€😀",
                "http://",
                "http://[::1",
                "http://h:-1/x",
                "ftp://h/x",
                "//h/x",
                "http/json",
                "weekly",
                "yes",
            ] {
                let (c, msgs) = parse(&[(var, bad)]);
                // A few of these are valid for some variables.
                let valid = matches!(
                    (*var, bad),
                    ("OTEL_METRIC_EXPORT_INTERVAL" | "OTEL_METRIC_EXPORT_TIMEOUT"
                        | "OTEL_EXPORTER_OTLP_TIMEOUT" | "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", _)
                        if bad.parse::<u64>().is_ok_and(|n| n > 0 && n <= MAX_MILLIS)
                );
                if valid {
                    continue;
                }
                assert_eq!(msgs.len(), 1, "{var}={bad:.40}: {msgs:?}");
                assert!(msgs[0].starts_with(var), "{var}: {msgs:?}");
                assert!(msgs[0].contains("default"), "{var}: {msgs:?}");
                assert!(msgs[0].len() < 600, "{var}: message too long");
                assert_eq!(comparable(&c), default, "{var}={bad:.40}");
            }
        }
    }

    #[test]
    fn list_variables_ignore_bad_items_one_message_each() {
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            let (c, msgs) = parse(&[(var, "=,novalue,a b=c,k=%zz,k2=%0A,ok=1,,")]);
            assert_eq!(c.headers, [("ok".to_string(), "1".to_string())], "{var}");
            assert_eq!(msgs.len(), 5, "{var}: {msgs:?}");
            assert!(msgs.iter().all(|m| m.starts_with(var)), "{msgs:?}");
        }
        let (c, msgs) = parse(&[("OTEL_RESOURCE_ATTRIBUTES", "=x,novalue,k=%zz,ok=1,,")]);
        assert_eq!(c.resource_attributes, [("ok".into(), "1".into())]);
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs
            .iter()
            .all(|m| m.starts_with("OTEL_RESOURCE_ATTRIBUTES")));
        // Free-text variables: only an empty value is wrong.
        for var in ["OTEL_SERVICE_NAME", "OTEL_SERVICE_INSTANCE_ID"] {
            let (_, msgs) = parse(&[(var, "")]);
            assert_eq!(msgs.len(), 1);
            assert!(msgs[0].starts_with(var));
            let (_, msgs) = parse(&[(var, "any \"text\" é, = %")]);
            assert!(msgs.is_empty(), "{msgs:?}");
        }
    }

    #[test]
    fn a_bad_signal_endpoint_falls_back_to_a_good_base_one() {
        let (c, msgs) = parse(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:1"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "nope"),
        ]);
        assert_eq!(c.endpoint, "http://h:1/v1/metrics");
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].contains("using the default (http://h:1/v1/metrics)"),
            "{msgs:?}"
        );
        // A bad base endpoint is reported even when the signal one wins.
        let (c, msgs) = parse(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:2/x"),
        ]);
        assert_eq!(c.endpoint, "http://m:2/x");
        assert_eq!(msgs.len(), 1);
        assert!(
            msgs[0].starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="),
            "{msgs:?}"
        );
    }

    #[test]
    fn endpoint_credentials_are_not_shown() {
        let (c, msgs) = parse(&[(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://user:hunter22@h:99999999/x?token=abcd",
        )]);
        assert_eq!(c.endpoint, DEFAULT_ENDPOINT);
        assert!(
            !msgs[0].contains("hunter22") && !msgs[0].contains("abcd"),
            "{msgs:?}"
        );
        let (c, _) = parse(&[(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://user:hunter22@h:1/x",
        )]);
        assert!(!format!("{c:?}").contains("hunter22"));
        assert_eq!(
            redact_url("https://u:p@h:1/a/b?k=v#f"),
            "https://<redacted>@h:1/a/b?<redacted>"
        );
        assert_eq!(redact_url("http://h/x"), "http://h/x");
        assert_eq!(redact_url("garbage"), "garbage");
    }

    #[test]
    fn default_endpoint_is_loopback() {
        let (c, _) = parse(&[]);
        let uri: ureq::http::Uri = c.endpoint.parse().unwrap();
        let host = uri.host().unwrap();
        assert_eq!(host, "localhost");
        use std::net::ToSocketAddrs;
        // Whatever `localhost` resolves to here is a loopback address.
        if let Ok(addrs) = (host, 9090).to_socket_addrs() {
            for a in addrs {
                assert!(a.ip().is_loopback(), "{a}");
            }
        }
    }

    use crate::test_rng::Rng;

    impl Rng {
        /// Random variable text, with `secret` in it now and then.
        fn env_text(&mut self, secret: &str) -> String {
            const PIECES: &[&str] = &[
                "a",
                "Z",
                "0",
                "9",
                "-",
                "_",
                ".",
                ",",
                "=",
                "%",
                "%2",
                "%2C",
                "%3D",
                "%zz",
                "%ff",
                "%e2%82%ac",
                " ",
                "\t",
                "\n",
                "\r",
                "\0",
                "é",
                "😀",
                "http://",
                "https://",
                "localhost",
                ":",
                "[",
                "]",
                "::1",
                "/",
                "?",
                "#",
                "@",
                "999999",
                "-1",
                "0",
                "true",
                "FALSE",
                "gzip",
                "delta",
                "none",
                "off",
                "prometheus",
                "http/protobuf",
                "Basic ",
                "Bearer ",
            ];
            let mut s = String::new();
            for _ in 0..self.below(12) {
                if self.below(10) == 0 {
                    s.push_str(secret);
                } else {
                    s.push_str(self.pick(PIECES));
                }
            }
            s
        }
    }

    /// Random environments: parsing never panics, every message names a
    /// variable, the result is always usable, and no header value is ever
    /// printed. Bounded (a few thousand cases, well under a second) so that
    /// it runs in CI; `fuzz/` has the open-ended version.
    #[test]
    fn random_environments_never_panic_or_leak() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..3000 {
            let secret = format!("S3CR3T{case}x");
            let mut vars: HashMap<String, String> = HashMap::new();
            for _ in 0..rng.below(8) {
                let var = rng.pick(Config::VARIABLES);
                let value = if var.ends_with("HEADERS") {
                    // The secret only ever stands in a value (a header's
                    // name is not secret).
                    format!(
                        "{},authorization=Bearer%20{secret}{},{}",
                        rng.env_text(""),
                        rng.env_text(""),
                        rng.env_text("")
                    )
                } else {
                    rng.env_text("")
                };
                vars.insert(var.to_owned(), value);
            }
            let (c, msgs) = Config::from_lookup(|k| vars.get(k).cloned());
            for m in &msgs {
                assert!(
                    Config::VARIABLES.iter().any(|v| m.contains(v)),
                    "case {case}: {m:?} names no variable"
                );
                assert!(!m.contains(&secret), "case {case}: leaked {m:?}");
            }
            assert!(!format!("{c:?}").contains(&secret), "case {case}");
            assert!(
                check_url(&c.endpoint).is_ok(),
                "case {case}: {}",
                c.endpoint
            );
            for d in [c.interval, c.export_timeout, c.request_timeout] {
                assert!(d > Duration::ZERO && d <= Duration::from_millis(MAX_MILLIS));
            }
            assert!(!c.service_name.is_empty() && !c.service_instance_id.is_empty());
            for (k, v) in &c.headers {
                assert!(!k.is_empty() && k.bytes().all(is_token_byte));
                assert!(!v.contains(['\r', '\n', '\0']));
            }
        }
    }

    #[test]
    fn random_percent_decoding_never_panics() {
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let s = rng.env_text("");
            if let Some(d) = percent_decode(&s) {
                // Decoding never makes a string longer.
                assert!(d.len() <= s.len());
            }
            let _ = check_url(&s);
            let _ = redact_url(&s);
        }
    }
}
