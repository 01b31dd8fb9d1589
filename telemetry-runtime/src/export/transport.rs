//! One OTLP/HTTP POST with a protobuf body, its retries and its messages.
//!
//! Retries follow the OTLP/HTTP spec: only 429, 502, 503 and 504 are
//! retried, with exponential backoff (100 ms doubling to 5 s; a server's
//! `Retry-After` can lengthen a wait, never shorten it), and never past the
//! export deadline. Other failures are not retried: with cumulative
//! temporality the next export carries the same totals, so nothing is lost
//! by waiting for it. Each attempt is bounded by the request timeout and by
//! what is left of the export deadline, whichever is shorter.
//!
//! No message carries a header value (nor the user-info or query of the
//! endpoint URL): the backend's own text is scrubbed of them too, in case
//! it echoes a credential back.

use crate::config::Config;
use crate::diag;
use crate::health::{error_type, ExportStats};
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
    /// The endpoint as messages show it (no user-info, no query).
    shown: String,
    headers: Vec<(String, String)>,
    /// Texts never to print: header values and the parts they are made of.
    secrets: Vec<String>,
    request_timeout: Duration,
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
                    "OTEL_EXPORTER_OTLP[_METRICS]_CERTIFICATE={}: {e}; using the built-in root \
                     certificates",
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
            shown: crate::config::redact_url(&cfg.endpoint),
            secrets: secrets(&cfg.headers, &cfg.endpoint),
            headers: cfg.headers.clone(),
            request_timeout: cfg.request_timeout,
            gzip: cfg.gzip,
        }
    }

    /// `text` with every secret replaced by `<redacted>`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "<redacted>");
            }
        }
        out
    }

    /// Sends `body`, retrying where the spec allows, until `deadline`;
    /// counts the attempts, bytes and rejections into `stats`.
    pub(crate) fn send(
        &self,
        body: &[u8],
        deadline: Instant,
        stats: &mut ExportStats,
    ) -> Result<(), Failure> {
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
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure {
                    cause: "deadline".into(),
                    message: format!(
                        "export to {} failed: no time left within OTEL_METRIC_EXPORT_TIMEOUT",
                        self.shown
                    ),
                });
            }
            stats.attempts += 1;
            stats.bytes += body.len() as u64;
            match self.post(&body, left.min(self.request_timeout), stats) {
                Attempt::Done(r) => {
                    if let Err(f) = &r {
                        stats.failed_attempts.push(error_type(&f.cause));
                    }
                    return r;
                }
                Attempt::Retry(failure, after) => {
                    stats.failed_attempts.push(error_type(&failure.cause));
                    // A server's Retry-After may ask for longer, never for
                    // less: `Retry-After: 0` must not become a tight loop.
                    let wait = after.map_or(backoff, |a| a.max(backoff));
                    if Instant::now()
                        .checked_add(wait)
                        .is_none_or(|t| t >= deadline)
                    {
                        return Err(failure);
                    }
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn post(&self, body: &[u8], timeout: Duration, stats: &mut ExportStats) -> Attempt {
        // `timeout`: this attempt's bound (request timeout or less).
        let mut req = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(timeout))
            .build()
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
                let what = match e {
                    // Stable text (the configured bound, not what was left
                    // of the deadline), so that it is logged once.
                    ureq::Error::Timeout(_) => format!(
                        "no answer within the request timeout ({} ms, \
                         OTEL_EXPORTER_OTLP_TIMEOUT) or the export deadline",
                        self.request_timeout.as_millis()
                    ),
                    e => {
                        let text = e.to_string();
                        if text.contains("certificate") {
                            format!(
                                "{text} (the server's certificate is not trusted: for a private \
                                 CA, set OTEL_EXPORTER_OTLP_CERTIFICATE to its PEM file)"
                            )
                        } else {
                            text
                        }
                    }
                };
                return Attempt::Done(Err(Failure {
                    cause: format!("transport {kind}"),
                    message: self.scrub(&format!("export to {} failed: {what}", self.shown)),
                }));
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            // A hostile value must not overflow the deadline arithmetic; a
            // wait past the export deadline ends the export anyway.
            .map(|s| Duration::from_secs(s.min(3600)));
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            if let Ok(r) = ExportMetricsServiceResponse::decode(bytes.as_slice()) {
                if let Some(p) = r.partial_success {
                    stats.rejected = p.rejected_data_points.max(0) as u64;
                    if p.rejected_data_points > 0 || !p.error_message.is_empty() {
                        let text: String = p.error_message.chars().take(300).collect();
                        diag::warn_once(&self.scrub(&format!(
                            "the backend at {} rejected {} data points: {}",
                            self.shown, p.rejected_data_points, text
                        )));
                    }
                }
            }
            return Attempt::Done(Ok(()));
        }
        let text = self.scrub(&backend_message(&bytes));
        let hint = match status {
            401 | 403 => " (check the credentials in OTEL_EXPORTER_OTLP_HEADERS)",
            _ => "",
        };
        let failure = Failure {
            cause: format!("HTTP {status}: {text}"),
            message: format!(
                "export to {} failed: HTTP {status}{}{text}{hint}",
                self.shown,
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

/// The texts of `headers` (and of the endpoint's user-info) that no message
/// may show: each value, each word of it after the first (`Bearer <token>`),
/// and a Basic credential decoded (`user:password` and the password).
/// Texts shorter than 4 bytes are not secrets worth hiding and would mangle
/// every message.
fn secrets(headers: &[(String, String)], endpoint: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if s.len() >= 4 && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    };
    for (_, v) in headers {
        add(v);
        let mut words = v.split_whitespace();
        let scheme = words.next().unwrap_or_default();
        for w in words {
            add(w);
            if scheme.eq_ignore_ascii_case("basic") {
                if let Some(decoded) = base64_decode(w) {
                    add(&decoded);
                    if let Some((_, password)) = decoded.split_once(':') {
                        add(password);
                    }
                }
            }
        }
    }
    if let Some(rest) = endpoint.split_once("://").map(|(_, r)| r) {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            add(userinfo);
            if let Some((_, password)) = userinfo.split_once(':') {
                add(password);
            }
        }
    }
    // Longest first, so that a part never spoils the scrubbing of a whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Standard base64 (padding optional); `None` unless it decodes to UTF-8.
fn base64_decode(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(headers: &[(&str, &str)], endpoint: &str) -> Transport {
        let (mut cfg, _) = Config::from_lookup(|_| None);
        cfg.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        cfg.endpoint = endpoint.into();
        Transport::new(&cfg)
    }

    #[test]
    fn secrets_are_scrubbed_from_any_text() {
        // "user:s3cret-pass" in base64.
        let t = transport(
            &[
                ("Authorization", "Basic dXNlcjpzM2NyZXQtcGFzcw=="),
                ("x-api-key", "k-123456"),
                ("x-small", "1"),
            ],
            "http://bob:hunter22@127.0.0.1:1/v1/metrics?token=abcdef",
        );
        let echoed = "denied Basic dXNlcjpzM2NyZXQtcGFzcw== for user:s3cret-pass \
                      (s3cret-pass) key k-123456 bob:hunter22 hunter22, HTTP 401";
        let clean = t.scrub(echoed);
        for secret in [
            "dXNlcjpzM2NyZXQtcGFzcw",
            "s3cret-pass",
            "k-123456",
            "hunter22",
        ] {
            assert!(!clean.contains(secret), "{clean}");
        }
        // Short values are left alone, so numbers in messages survive.
        assert!(clean.contains("HTTP 401"), "{clean}");
        assert_eq!(
            t.shown,
            "http://<redacted>@127.0.0.1:1/v1/metrics?<redacted>"
        );
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(base64_decode("Zm9vYg==").as_deref(), Some("foob"));
        assert_eq!(base64_decode("not base64!"), None);
    }
}
