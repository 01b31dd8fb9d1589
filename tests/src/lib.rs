//! The end-to-end test harness: a real OTLP backend, and PromQL queries
//! that poll with a deadline.
//!
//! Backend selection, in order:
//! 1. `TELEMETRY_TEST_VM_URL`: a VictoriaMetrics that `scripts/test.sh`
//!    started for the whole run (started with `-opentelemetry.usePrometheusNaming`);
//! 2. `PROMETHEUS_BIN`: a Prometheus 3.x with the OTLP receiver, started by
//!    this process with `examples/prometheus.yml`, whose translation
//!    strategy `PROMETHEUS_STRATEGY` may replace (default: the file's,
//!    `NoTranslation`); versions before 3.8 get
//!    `--enable-feature=native-histograms`;
//! 3. otherwise a VictoriaMetrics started by this process (installed by
//!    `scripts/vm-install.sh` if needed).
//!
//! A backend this process starts dies with it (`PR_SET_PDEATHSIG`).
//!
//! [`vm`] starts VictoriaMetrics instances of a test's own (chosen port and
//! data directory, basic auth, TLS); [`fault`] has a fault-injecting OTLP
//! server and the driver of the `reliability_child` process.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod fault;
pub mod fleet;
mod supervise;
pub mod vm;

/// How long a test waits for data to show up.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// One series of a query result: its labels and its value.
pub type Sample = (BTreeMap<String, String>, f64);

/// Which server is behind the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// VictoriaMetrics with Prometheus naming.
    Victoria,
    /// Prometheus 3.x with `--web.enable-otlp-receiver`.
    Prometheus,
}

/// A running backend.
#[derive(Debug)]
pub struct Backend {
    /// Base URL (PromQL API under `/api/v1/query`).
    pub url: String,
    /// Which server it is.
    pub kind: Kind,
    /// The translation strategy it stores names by (VictoriaMetrics with
    /// `-opentelemetry.usePrometheusNaming` is Prometheus's default).
    pub strategy: telemetry_runtime::TranslationStrategy,
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

impl Backend {
    /// The OTLP metrics endpoint.
    pub fn otlp_endpoint(&self) -> String {
        match self.kind {
            Kind::Victoria => format!("{}/opentelemetry/v1/metrics", self.url),
            Kind::Prometheus => format!("{}/api/v1/otlp/v1/metrics", self.url),
        }
    }

    /// The label that carries `service.instance.id`.
    pub fn instance_label(&self) -> &'static str {
        match self.kind {
            Kind::Victoria => "service_instance_id",
            Kind::Prometheus => "instance",
        }
    }

    /// The label that carries `service.name`.
    pub fn job_label(&self) -> &'static str {
        match self.kind {
            Kind::Victoria => "service_name",
            Kind::Prometheus => "job",
        }
    }

    /// A PromQL query that yields the series carrying resource attribute
    /// `key` (Prometheus keeps them on `target_info`).
    pub fn resource_query(&self, instance: &str, metric: &str) -> String {
        match self.kind {
            Kind::Victoria => format!("{metric}{{{}=\"{instance}\"}}", self.instance_label()),
            Kind::Prometheus => format!("target_info{{instance=\"{instance}\"}}"),
        }
    }

    /// Whether `actual` is the `expected` value of a query. Exact (to
    /// 1e-9) everywhere but for `extrapolated` functions on Prometheus,
    /// whose `increase()` and `rate()` extrapolate to the window's edges
    /// (VictoriaMetrics' do not): there within 10%.
    pub fn matches(&self, actual: f64, expected: f64, extrapolated: bool) -> bool {
        let tolerance = if extrapolated && self.kind == Kind::Prometheus {
            0.1
        } else {
            1e-9
        };
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0)
    }

    /// The count of exponential histogram `name` over `selector`
    /// (`a="b"`): one native series on Prometheus (`histogram_count(x)`),
    /// `x_count` on VictoriaMetrics.
    pub fn exponential_count(&self, name: &str, selector: &str) -> String {
        match self.kind {
            Kind::Prometheus => format!("histogram_count({name}{{{selector}}})"),
            Kind::Victoria => format!("{name}_count{{{selector}}}"),
        }
    }

    /// The sum of exponential histogram `name`, as [`exponential_count`](Self::exponential_count).
    pub fn exponential_sum(&self, name: &str, selector: &str) -> String {
        match self.kind {
            Kind::Prometheus => format!("histogram_sum({name}{{{selector}}})"),
            Kind::Victoria => format!("{name}_sum{{{selector}}}"),
        }
    }

    /// Runs an instant query; returns each series' labels and value.
    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        query_with(&default_agent(), &self.url, None, self.kind, promql)
    }

    /// Polls `promql` until it yields exactly one series whose value is
    /// `expected`, and returns that series' labels. Panics with what it saw
    /// last when `DEADLINE` passes.
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

fn default_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Runs an instant query against `url` with `agent`, sending `auth` as the
/// `Authorization` header when given.
pub(crate) fn query_with(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
    kind: Kind,
    promql: &str,
) -> Result<Vec<Sample>, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 1.0;
    query_at_with(agent, url, auth, kind, promql, now)
}

/// Runs an instant query against `url` evaluated at `time` (seconds since
/// the epoch); returns each series' labels and value.
/// Answers of any size, within a minute (a fleet's whole series list).
pub fn query_at(url: &str, kind: Kind, promql: &str, time: f64) -> Result<Vec<Sample>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    query_at_with(&agent, url, None, kind, promql, time)
}

fn query_at_with(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
    kind: Kind,
    promql: &str,
    time: f64,
) -> Result<Vec<Sample>, String> {
    if kind == Kind::Victoria {
        // Make just-ingested samples searchable now, not in a few seconds.
        let mut req = agent.get(format!("{url}/internal/force_flush"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let _ = req.call();
    }
    let mut req = agent
        .get(format!("{url}/api/v1/query"))
        .query("query", promql)
        .query("time", format!("{time:.3}"));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let mut resp = req.call().map_err(|e| format!("query {promql}: {e}"))?;
    let body: Value = serde_json::from_str(
        &resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    if body["status"] != "success" {
        return Err(format!("query {promql}: {body}"));
    }
    let mut out = Vec::new();
    for r in body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let labels = r["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let v: f64 = match &r["value"][1] {
            Value::String(s) => s.parse().unwrap_or(f64::NAN),
            _ => f64::NAN,
        };
        out.push((labels, v));
    }
    Ok(out)
}

/// Polls Prometheus's `/api/v1/query_exemplars` for `selector` over the
/// last hour until it returns an exemplar, at most [`DEADLINE`]; returns
/// each exemplar's `(trace_id, span_id)` labels.
pub fn query_exemplars(url: &str, selector: &str) -> Vec<(String, String)> {
    let agent = default_agent();
    let deadline = Instant::now() + DEADLINE;
    let mut last = String::new();
    while Instant::now() < deadline {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let answer = agent
            .get(format!("{url}/api/v1/query_exemplars"))
            .query("query", selector)
            .query("start", format!("{:.3}", now - 3600.0))
            .query("end", format!("{:.3}", now + 60.0))
            .call()
            .map_err(|e| e.to_string())
            .and_then(|mut r| r.body_mut().read_to_string().map_err(|e| e.to_string()));
        last = answer.unwrap_or_else(|e| e);
        if let Ok(body) = serde_json::from_str::<Value>(&last) {
            let found: Vec<(String, String)> = body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
                .map(|e| {
                    let label = |k: &str| e["labels"][k].as_str().unwrap_or_default().to_owned();
                    (label("trace_id"), label("span_id"))
                })
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{selector}: no exemplar within {DEADLINE:?}; last answer: {last}");
}

/// Polls `query(promql)` until `done` holds for the result, at most
/// [`DEADLINE`]; panics with the last result otherwise.
pub(crate) fn poll_query(
    promql: &str,
    query: impl Fn(&str) -> Result<Vec<Sample>, String>,
    done: impl Fn(&[Sample]) -> bool,
) -> Vec<Sample> {
    let deadline = Instant::now() + DEADLINE;
    let mut last = Err("never queried".to_owned());
    let mut pause = Duration::from_millis(20);
    while Instant::now() < deadline {
        last = query(promql);
        if let Ok(r) = &last {
            if done(r) {
                return r.clone();
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(500));
    }
    panic!("{promql}: condition not met within {DEADLINE:?}; last result: {last:?}");
}

/// The backend of this test process, started or attached on first use.
pub fn backend() -> &'static Backend {
    static B: OnceLock<Backend> = OnceLock::new();
    B.get_or_init(|| {
        if let Ok(url) = std::env::var("TELEMETRY_TEST_VM_URL") {
            return Backend {
                url,
                kind: Kind::Victoria,
                strategy: telemetry_runtime::TranslationStrategy::UnderscoreEscapingWithSuffixes,
            };
        }
        if let Ok(bin) = std::env::var("PROMETHEUS_BIN") {
            return spawn_prometheus(&bin);
        }
        spawn_victoria()
    })
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "telemetry-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts `cmd` from a thread that lives as long as the process, so that
/// `PR_SET_PDEATHSIG` (tied to the creating thread) kills the child only
/// when this process dies.
fn spawn_for_life(mut cmd: Command) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no shared state.
        unsafe {
            cmd.pre_exec(|| {
                libc_prctl_pdeathsig();
                Ok(())
            });
        }
        let child = cmd.spawn();
        let ok = child.is_ok();
        tx.send(child.map(|_| ()).map_err(|e| e.to_string()))
            .unwrap();
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv().unwrap().expect("could not start the backend");
}

pub(crate) fn libc_prctl_pdeathsig() {
    extern "C" {
        fn prctl(option: i32, ...) -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGKILL: i32 = 9;
    // SAFETY: plain syscall wrapper with integer arguments.
    unsafe {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }
}

pub(crate) fn wait_healthy(url: &str, path: &str) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if let Ok(r) = ureq::get(format!("{url}{path}")).call() {
            if r.status() == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("backend at {url} did not become healthy within {DEADLINE:?}");
}

/// The VictoriaMetrics binary, installed by `scripts/vm-install.sh` if needed.
pub fn victoria_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| installed("vm-install.sh"))
}

/// The binary an install script of `scripts/` prints on its last line
/// (installing it first if needed).
pub fn installed(script: &str) -> String {
    let out = Command::new(repo_root().join("scripts").join(script))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(out.status.success(), "scripts/{script} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

fn spawn_victoria() -> Backend {
    let bin = victoria_bin();
    let port = free_port();
    let data = temp_dir("vm");
    let mut cmd = Command::new(bin);
    cmd.args(victoria_flags())
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", data.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_for_life(cmd);
    let url = format!("http://127.0.0.1:{port}");
    wait_healthy(&url, "/health");
    Backend {
        url,
        kind: Kind::Victoria,
        strategy: telemetry_runtime::TranslationStrategy::UnderscoreEscapingWithSuffixes,
    }
}

/// `(major, minor)` of a Prometheus binary, from the first line of
/// `prometheus --version` (`prometheus, version 3.5.3 (branch: ..)`).
pub fn prometheus_version(bin: &str) -> Option<(u32, u32)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    parse_prometheus_version(&text)
}

/// `(major, minor)` from `prometheus --version`'s output.
pub fn parse_prometheus_version(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().next()?;
    let v = line.split("version ").nth(1)?.split_whitespace().next()?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The strategy the Prometheus of `PROMETHEUS_BIN` runs: `PROMETHEUS_STRATEGY`,
/// else the one in `examples/prometheus.yml`.
fn prometheus_strategy() -> telemetry_runtime::TranslationStrategy {
    match std::env::var("PROMETHEUS_STRATEGY") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|e| panic!("PROMETHEUS_STRATEGY: {e}")),
        Err(_) => telemetry_runtime::TranslationStrategy::NoTranslation,
    }
}

/// Flags VictoriaMetrics runs with in tests (also used by `scripts/test.sh`).
pub fn victoria_flags() -> [&'static str; 5] {
    [
        "-search.latencyOffset=0s",
        "-search.disableCache",
        "-storage.minFreeDiskSpaceBytes=0",
        "-opentelemetry.usePrometheusNaming",
        "-opentelemetry.promoteScopeMetadata=false",
    ]
}

fn spawn_prometheus(bin: &str) -> Backend {
    let port = free_port();
    let data = temp_dir("prom");
    let strategy = prometheus_strategy();
    // The shipped configuration with the strategy asked for.
    let shipped = std::fs::read_to_string(repo_root().join("examples/prometheus.yml"))
        .expect("examples/prometheus.yml");
    let config: String = shipped
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("translation_strategy:") {
                format!("  translation_strategy: {strategy}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config_path = data.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write prometheus.yml");
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", config_path.display()));
    // Native histograms are stable from 3.8 on; before, they need a flag.
    if prometheus_version(bin).is_some_and(|v| v < (3, 8)) {
        cmd.arg("--enable-feature=native-histograms");
    }
    // Exemplars are stored only with this feature (tests/tests/exemplars.rs).
    cmd.arg("--enable-feature=exemplar-storage");
    cmd.arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-otlp-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_for_life(cmd);
    let url = format!("http://127.0.0.1:{port}");
    wait_healthy(&url, "/-/ready");
    Backend {
        url,
        kind: Kind::Prometheus,
        strategy,
    }
}

/// Points this process's telemetry pipeline at the backend, with a random
/// instance id and a short export interval, before anything records.
/// Returns the instance id. Call it first in every test of a binary.
pub fn setup() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let b = backend();
        let id = format!("test-{}-{}", std::process::id(), free_port());
        // SAFETY (edition 2021: safe fn): done once, before the pipeline
        // reads the environment, which happens after this returns.
        std::env::set_var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", b.otlp_endpoint());
        std::env::set_var("OTEL_SERVICE_INSTANCE_ID", &id);
        std::env::set_var("OTEL_SERVICE_NAME", "e2e");
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test,team=obs%2Cinfra",
        );
        std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "500");
        std::env::set_var("HYPERACTOR_OTEL_TRANSLATION_STRATEGY", b.strategy.as_str());
        std::env::set_var("OTEL_METRIC_EXPORT_TIMEOUT", "5000");
        id
    })
}

/// Environment for a child process that exports to the backend.
pub fn child_env(instance: &str) -> Vec<(String, String)> {
    vec![
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(),
            backend().otlp_endpoint(),
        ),
        ("OTEL_SERVICE_INSTANCE_ID".into(), instance.into()),
        ("OTEL_SERVICE_NAME".into(), "e2e-child".into()),
        (
            "HYPERACTOR_OTEL_TRANSLATION_STRATEGY".into(),
            backend().strategy.as_str().into(),
        ),
        // Long interval: only the exit flush can deliver.
        ("OTEL_METRIC_EXPORT_INTERVAL".into(), "3600000".into()),
        // The tests read a finished child's last values with instant
        // queries, which a stale marker would end (tests/tests/health.rs
        // tests the markers).
        ("HYPERACTOR_OTEL_STALE_MARKERS".into(), "off".into()),
    ]
}

#[cfg(test)]
mod version_tests {
    #[test]
    fn prometheus_versions_are_read_from_the_first_line() {
        let out = "prometheus, version 3.5.3 (branch: HEAD, revision: abc)\n  build user: x\n";
        assert_eq!(super::parse_prometheus_version(out), Some((3, 5)));
        assert_eq!(
            super::parse_prometheus_version("prometheus, version 3.10.0 (branch: main)"),
            Some((3, 10))
        );
        assert_eq!(super::parse_prometheus_version("nonsense"), None);
    }
}
