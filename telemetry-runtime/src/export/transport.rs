//! One OTLP/HTTP POST with a protobuf body, its retries and its messages.
//!
//! Retries follow the OTLP/HTTP spec: only 429, 502, 503 and 504 are
//! retried, with exponential backoff (or the server's `Retry-After`), and
//! never past the export deadline. Other failures are not retried: with
//! cumulative temporality the next export carries the same totals, so
//! nothing is lost by waiting for it.

use crate::config::Config;
use crate::diag;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why an export did not reach the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// A stable description of the cause, used to print each cause once.
    pub(crate) cause: String,
    /// The full message.
    pub(crate) message: String,
}

pub(crate) struct Transport {
    agent: ureq::Agent,
    endpoint: String,
    headers: Vec<(String, String)>,
    gzip: bool,
}

impl Transport {
    pub(crate) fn new(cfg: &Config) -> Transport {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &cfg.certificate {
            match load_certs(path) {
                Ok(certs) => {
                    tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
                }
                Err(e) => diag::warn(format_args!(
                    "OTEL_EXPORTER_OTLP_CERTIFICATE={}: {e}; using the built-in root certificates",
                    path.display()
                )),
            }
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.request_timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls.build())
            .user_agent(concat!("telemetry-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Transport {
            agent,
            endpoint: cfg.endpoint.clone(),
            headers: cfg.headers.clone(),
            gzip: cfg.gzip,
        }
    }

    /// Sends `body`, retrying where the spec allows, until `deadline`.
    pub(crate) fn send(&self, body: &[u8], deadline: Instant) -> Result<(), Failure> {
        let body = if self.gzip {
            gzip(body).map_err(|e| Failure {
                cause: "gzip".into(),
                message: format!("could not compress the request: {e}"),
            })?
        } else {
            body.to_vec()
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.post(&body) {
                Attempt::Done(r) => return r,
                Attempt::Retry(failure, after) => {
                    let wait = after.unwrap_or(backoff);
                    if Instant::now() + wait >= deadline {
                        return Err(failure);
                    }
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn post(&self, body: &[u8]) -> Attempt {
        let mut req = self
            .agent
            .post(&self.endpoint)
            .header("content-type", "application/x-protobuf");
        if self.gzip {
            req = req.header("content-encoding", "gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                // ureq's messages name the URL, never the headers.
                let kind = error_kind(&e);
                return Attempt::Done(Err(Failure {
                    cause: format!("transport {kind}"),
                    message: format!("export to {} failed: {e}", self.endpoint),
                }));
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            if let Ok(r) = ExportMetricsServiceResponse::decode(bytes.as_slice()) {
                if let Some(p) = r.partial_success {
                    if p.rejected_data_points > 0 || !p.error_message.is_empty() {
                        diag::warn_once(&format!(
                            "the backend at {} rejected {} data points: {}",
                            self.endpoint, p.rejected_data_points, p.error_message
                        ));
                    }
                }
            }
            return Attempt::Done(Ok(()));
        }
        let text = backend_message(&bytes);
        let failure = Failure {
            cause: format!("HTTP {status}: {text}"),
            message: format!(
                "export to {} failed: HTTP {status}{}{text}",
                self.endpoint,
                if text.is_empty() { "" } else { ": " }
            ),
        };
        match status {
            429 | 502 | 503 | 504 => Attempt::Retry(failure, retry_after),
            _ => Attempt::Done(Err(failure)),
        }
    }
}

enum Attempt {
    Done(Result<(), Failure>),
    Retry(Failure, Option<Duration>),
}

fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) => "io",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "tls",
        _ => "error",
    }
}

/// The backend's error text: an OTLP `Status` message when the body is
/// protobuf, else the body as text; one line, at most 300 characters.
fn backend_message(bytes: &[u8]) -> String {
    let text = match opentelemetry_proto::tonic::metrics::v1::Metric::decode(bytes) {
        // A google.rpc.Status has the message as field 2, as does Metric's
        // description; decoding as Metric reads it without another type.
        Ok(m) if !m.description.is_empty() && !bytes.is_ascii() => m.description,
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(300).collect()
}

fn load_certs(path: &std::path::Path) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(certs)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body)?;
    enc.finish()
}
