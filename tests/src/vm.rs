//! VictoriaMetrics instances of a test's own: on a chosen port and data
//! directory (so that a test can stop one and start it again), with extra
//! flags (basic auth, TLS), queried with the matching credentials and CA.
//!
//! Each instance dies with the test process (`PR_SET_PDEATHSIG`) and is
//! stopped when its handle is dropped.

use crate::supervise::Supervised;
use crate::{free_port, poll_query, query_with, temp_dir, victoria_bin, Kind, Sample};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to start an instance.
#[derive(Clone, Debug, Default)]
pub struct VmOptions {
    /// Port on 127.0.0.1 (a free one when `None`).
    pub port: Option<u16>,
    /// Data directory (a fresh one when `None`).
    pub data: Option<PathBuf>,
    /// Flags beyond the harness's usual ones.
    pub extra_flags: Vec<String>,
    /// Store names and labels as sent (like Prometheus's `NoTranslation`):
    /// without `-opentelemetry.usePrometheusNaming`.
    pub as_sent: bool,
    /// Basic-auth user and password the server requires (`-httpAuth.*`).
    pub basic_auth: Option<(String, String)>,
    /// Serve HTTPS with this certificate and key (PEM files), trusting
    /// `ca_pem` for the harness's own queries.
    pub tls: Option<Tls>,
}

/// TLS material for an instance.
#[derive(Clone, Debug)]
pub struct Tls {
    /// Server certificate chain, PEM file.
    pub cert: PathBuf,
    /// Server key, PEM file.
    pub key: PathBuf,
    /// The CA the harness trusts when it queries, PEM text.
    pub ca_pem: String,
}

/// A running (or stopped) VictoriaMetrics of a test's own.
pub struct Vm {
    /// `http://127.0.0.1:<port>` or `https://...`.
    pub url: String,
    /// Its port.
    pub port: u16,
    /// Its data directory.
    pub data: PathBuf,
    opts: VmOptions,
    agent: ureq::Agent,
    auth: Option<String>,
    running: Option<Supervised>,
}

/// `Basic <base64(user:password)>`.
pub fn basic_auth_header(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Vm {
    /// Starts an instance and waits until it is healthy.
    pub fn start(opts: VmOptions) -> Vm {
        let port = opts.port.unwrap_or_else(free_port);
        let data = opts.data.clone().unwrap_or_else(|| temp_dir("own-vm"));
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(t) = &opts.tls {
            let certs: Vec<_> = ureq::tls::parse_pem(t.ca_pem.as_bytes())
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .tls_config(tls.build())
            .build()
            .into();
        let auth = opts
            .basic_auth
            .as_ref()
            .map(|(u, p)| basic_auth_header(u, p));
        let mut vm = Vm {
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            data,
            opts,
            agent,
            auth,
            running: None,
        };
        vm.restart();
        vm
    }

    /// Starts the process again (same port, same data) after a stop.
    pub fn restart(&mut self) {
        assert!(self.running.is_none(), "already running");
        let mut cmd = Command::new(victoria_bin());
        let as_sent = self.opts.as_sent;
        cmd.args(
            crate::victoria_flags()
                .into_iter()
                .filter(|f| !(as_sent && *f == "-opentelemetry.usePrometheusNaming")),
        )
        .arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
        .arg(format!("-storageDataPath={}", self.data.display()))
        .args(&self.opts.extra_flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some((u, p)) = &self.opts.basic_auth {
            cmd.arg(format!("-httpAuth.username={u}"))
                .arg(format!("-httpAuth.password={p}"));
        }
        if let Some(t) = &self.opts.tls {
            cmd.arg("-tls")
                .arg(format!("-tlsCertFile={}", t.cert.display()))
                .arg(format!("-tlsKeyFile={}", t.key.display()));
        }
        // The supervising thread lives as long as the child, so
        // PR_SET_PDEATHSIG (tied to that thread) fires only when the test
        // process dies.
        let running = Supervised::spawn(cmd)
            .unwrap_or_else(|e| panic!("could not start victoria-metrics: {e}"));
        self.running = Some(running);
        self.wait_healthy();
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + crate::DEADLINE;
        while Instant::now() < deadline {
            let mut req = self.agent.get(format!("{}/health", self.url));
            if let Some(a) = &self.auth {
                req = req.header("authorization", a);
            }
            if let Ok(r) = req.call() {
                if r.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("own victoria-metrics at {} not healthy in time", self.url);
    }

    /// Stops the process with `signal` (`libc::SIGTERM` or `libc::SIGKILL`)
    /// and waits until it is gone.
    pub fn stop(&mut self, signal: i32) {
        if let Some(r) = self.running.take() {
            r.stop(signal);
        }
    }

    /// The OTLP metrics endpoint.
    pub fn otlp_endpoint(&self) -> String {
        format!("{}/opentelemetry/v1/metrics", self.url)
    }

    /// Runs an instant query (with the instance's credentials and CA).
    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        query_with(
            &self.agent,
            &self.url,
            self.auth.as_deref(),
            Kind::Victoria,
            promql,
        )
    }

    /// Polls until `promql` yields exactly one series with value `expected`.
    pub fn wait_for_value(&self, promql: &str, expected: f64) -> BTreeMap<String, String> {
        self.wait_until(promql, |r| r.len() == 1 && r[0].1 == expected)
            .remove(0)
            .0
    }

    /// Polls `promql` until `done` holds for the result; returns it.
    pub fn wait_until(&self, promql: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
        poll_query(promql, |q| self.query(q), done)
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.stop(libc::SIGKILL);
    }
}

/// The metric names `vm` stores for the series of `selector`, sorted
/// (`/api/v1/label/__name__/values`).
pub fn stored_names(vm: &Vm, selector: &str) -> Vec<String> {
    let _ = vm
        .agent
        .get(format!("{}/internal/force_flush", vm.url))
        .call();
    let body = vm
        .agent
        .get(format!("{}/api/v1/label/__name__/values", vm.url))
        .query("match[]", selector)
        .call()
        .expect("label values")
        .body_mut()
        .read_to_string()
        .expect("label values body");
    let v: serde_json::Value = serde_json::from_str(&body).expect("label values JSON");
    let mut names: Vec<String> = v["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
