//! Faults a real backend cannot produce on demand, and child processes the
//! tests drive.
//!
//! - [`FaultServer`]: a small HTTP/1.1 server on 127.0.0.1 (std only) that
//!   answers each OTLP request the way the test says: a status with a body,
//!   a partial success, a hang, a slow answer, a header check. It records
//!   every request it receives.
//! - [`Child`]: the `reliability_child` binary, driven one command per line,
//!   with its standard error collected for the checks on what was logged.

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint,
};
use prost::Message;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a child's answer, or for a call to return,
/// before it fails: far above any bound under test.
pub const RETURN_DEADLINE: Duration = Duration::from_secs(60);

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with this status, body and extra headers.
    Status(u16, Vec<u8>, Vec<(String, String)>),
    /// Reads the request and never answers (the connection stays open
    /// until the server is dropped).
    Hang,
    /// Waits, then replies.
    Slow(Duration, Box<Reply>),
}

impl Reply {
    /// A status with a text body.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Status(status, body.as_bytes().to_vec(), Vec::new())
    }

    /// 200 with an empty OTLP response.
    pub fn ok() -> Reply {
        Reply::Status(200, Vec::new(), Vec::new())
    }

    /// 200 with an OTLP partial success.
    pub fn partial(rejected: i64, message: &str) -> Reply {
        let body = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message.into(),
            }),
        }
        .encode_to_vec();
        Reply::Status(200, body, Vec::new())
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Request {
    /// When its body was complete.
    pub at: Instant,
    /// Method and path, e.g. `POST /v1/metrics`.
    pub line: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as an OTLP request.
    pub fn decode(&self) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest::decode(self.body.as_slice()).expect("an OTLP request")
    }

    /// The integer value of sum `metric` on the point whose attributes are
    /// exactly `attrs` (string values).
    pub fn sum(&self, name: &str, attrs: &[(&str, &str)]) -> Option<i64> {
        for rm in self.decode().resource_metrics {
            for sm in rm.scope_metrics {
                for m in sm.metrics.into_iter().filter(|m| m.name == name) {
                    if let Some(metric::Data::Sum(s)) = m.data {
                        for p in s.data_points {
                            let got: Vec<(String, String)> = p
                                .attributes
                                .iter()
                                .map(|kv| (kv.key.clone(), string_of(kv.value.as_ref())))
                                .collect();
                            let want: Vec<(String, String)> = attrs
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect();
                            if got == want {
                                if let Some(number_data_point::Value::AsInt(v)) = p.value {
                                    return Some(v);
                                }
                            }
                        }
                    }
                }
            }
        }
        None
    }
}

/// A point's attributes as `(key, value as text)`, in the order sent.
pub type Attrs = Vec<(String, String)>;

fn attrs_of(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Attrs {
    kvs.iter()
        .map(|kv| (kv.key.clone(), string_of(kv.value.as_ref())))
        .collect()
}

/// `attrs` as an [`Attrs`].
pub fn attrs(attrs: &[(&str, &str)]) -> Attrs {
    attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Request {
    /// Every metric of the request, with the name of its scope.
    pub fn metrics(&self) -> Vec<(String, Metric)> {
        let mut out = Vec::new();
        for rm in self.decode().resource_metrics {
            for sm in rm.scope_metrics {
                let scope = sm.scope.map(|s| s.name).unwrap_or_default();
                out.extend(sm.metrics.into_iter().map(|m| (scope.clone(), m)));
            }
        }
        out
    }

    /// The number points (sums and gauges) of metric `name`.
    pub fn number_points(&self, name: &str) -> Vec<(Attrs, NumberDataPoint)> {
        let mut out = Vec::new();
        for (_, m) in self.metrics().into_iter().filter(|(_, m)| m.name == name) {
            let points = match m.data {
                Some(metric::Data::Sum(s)) => s.data_points,
                Some(metric::Data::Gauge(g)) => g.data_points,
                _ => Vec::new(),
            };
            out.extend(points.into_iter().map(|p| (attrs_of(&p.attributes), p)));
        }
        out
    }

    /// The number point of metric `name` whose attributes are exactly `attrs`.
    pub fn number_point(&self, name: &str, want: &[(&str, &str)]) -> Option<NumberDataPoint> {
        let want = attrs(want);
        self.number_points(name)
            .into_iter()
            .find(|(a, _)| *a == want)
            .map(|(_, p)| p)
    }

    /// The explicit-bucket histogram points of metric `name`.
    pub fn histogram_points(&self, name: &str) -> Vec<(Attrs, HistogramDataPoint)> {
        let mut out = Vec::new();
        for (_, m) in self.metrics().into_iter().filter(|(_, m)| m.name == name) {
            if let Some(metric::Data::Histogram(h)) = m.data {
                out.extend(
                    h.data_points
                        .into_iter()
                        .map(|p| (attrs_of(&p.attributes), p)),
                );
            }
        }
        out
    }

    /// Every data point's flags, by metric name, in the request.
    pub fn flags(&self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        for (_, m) in self.metrics() {
            let flags: Vec<u32> = match &m.data {
                Some(metric::Data::Sum(s)) => s.data_points.iter().map(|p| p.flags).collect(),
                Some(metric::Data::Gauge(g)) => g.data_points.iter().map(|p| p.flags).collect(),
                Some(metric::Data::Histogram(h)) => h.data_points.iter().map(|p| p.flags).collect(),
                Some(metric::Data::ExponentialHistogram(h)) => {
                    h.data_points.iter().map(|p| p.flags).collect()
                }
                Some(metric::Data::Summary(s)) => s.data_points.iter().map(|p| p.flags).collect(),
                None => Vec::new(),
            };
            out.extend(flags.into_iter().map(|f| (m.name.clone(), f)));
        }
        out
    }
}

fn string_of(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    match v.and_then(|v| v.value.as_ref()) {
        Some(V::StringValue(s)) => s.clone(),
        Some(V::IntValue(i)) => i.to_string(),
        Some(V::BoolValue(b)) => b.to_string(),
        Some(V::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

type Behaviour = dyn Fn(usize, &Request) -> Reply + Send + Sync;

struct Shared {
    behaviour: Mutex<Arc<Behaviour>>,
    requests: Mutex<Vec<Request>>,
    arrived: Condvar,
    stop: AtomicBool,
}

/// A fault-injecting OTLP/HTTP server on 127.0.0.1.
pub struct FaultServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Shared>,
}

impl FaultServer {
    /// Starts a server that answers request number `n` (from 0) with
    /// `behaviour(n, &request)`.
    pub fn start(behaviour: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Arc::new(behaviour)),
            requests: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let s = s.clone();
                        std::thread::spawn(move || serve(conn, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultServer { url, shared }
    }

    /// Answers every request with `reply`.
    pub fn always(reply: Reply) -> Self {
        FaultServer::start(move |_, _| reply.clone())
    }

    /// The OTLP endpoint to configure.
    pub fn endpoint(&self) -> String {
        format!("{}/v1/metrics", self.url)
    }

    /// Replaces the behaviour for the following requests.
    pub fn set(&self, behaviour: impl Fn(usize, &Request) -> Reply + Send + Sync + 'static) {
        *self.shared.behaviour.lock().unwrap() = Arc::new(behaviour);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests have arrived; panics after
    /// [`RETURN_DEADLINE`].
    pub fn wait_requests(&self, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + RETURN_DEADLINE;
        let mut r = self.shared.requests.lock().unwrap();
        while r.len() < n {
            let now = Instant::now();
            assert!(now < deadline, "only {} of {n} requests arrived", r.len());
            r = self
                .shared
                .arrived
                .wait_timeout(r, deadline - now)
                .unwrap()
                .0;
        }
        r.clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(conn: TcpStream, s: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut writer = conn;
    while !s.stop.load(Ordering::Relaxed) {
        let Some(req) = read_request(&mut reader, s) else {
            return;
        };
        let n = {
            let mut r = s.requests.lock().unwrap();
            r.push(req.clone());
            s.arrived.notify_all();
            r.len() - 1
        };
        let behaviour = s.behaviour.lock().unwrap().clone();
        let mut reply = behaviour(n, &req);
        loop {
            match reply {
                Reply::Slow(d, next) => {
                    let end = Instant::now() + d;
                    while Instant::now() < end && !s.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    reply = *next;
                }
                Reply::Hang => {
                    while !s.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return;
                }
                Reply::Status(code, body, headers) => {
                    let mut head = format!(
                        "HTTP/1.1 {code} X\r\ncontent-length: {}\r\ncontent-type: {}\r\n",
                        body.len(),
                        if code == 200 {
                            "application/x-protobuf"
                        } else {
                            "text/plain"
                        }
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    if writer.write_all(head.as_bytes()).is_err()
                        || writer.write_all(&body).is_err()
                    {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// Reads one request; `None` when the connection closed or the server stops.
fn read_request(r: &mut BufReader<TcpStream>, s: &Shared) -> Option<Request> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    loop {
        if s.stop.load(Ordering::Relaxed) {
            return None;
        }
        match r.read_line(&mut cur) {
            Ok(0) => return None,
            Ok(_) => {
                if !cur.ends_with('\n') {
                    continue;
                }
                let line = cur.trim_end().to_owned();
                cur.clear();
                if line.is_empty() {
                    if lines.is_empty() {
                        continue;
                    }
                    break;
                }
                lines.push(line);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return None,
        }
    }
    let line = lines.remove(0);
    let headers: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let mut got = 0;
    while got < len {
        if s.stop.load(Ordering::Relaxed) {
            return None;
        }
        match r.read(&mut body[got..]) {
            Ok(0) => return None,
            Ok(n) => got += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return None,
        }
    }
    Some(Request {
        at: Instant::now(),
        line,
        headers,
        body,
    })
}

/// A `reliability_child` process: commands in, one answer line out, its
/// standard error collected.
pub struct Child {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

/// Variables the child must not inherit from the test process.
fn inherited_telemetry_var(k: &str) -> bool {
    k.starts_with("OTEL_") || k.starts_with("HYPERACTOR_")
}

impl Child {
    /// Starts `bin`, runs `command` (an `add`), `flush` and `quit`, and
    /// returns the flush answer and the child's standard error. The child
    /// exports to `endpoint` as instance `id`, only when flushed, with
    /// `extra` variables on top; it must exit with success.
    pub fn add_and_flush(
        bin: &str,
        endpoint: &str,
        id: &str,
        extra: &[(&str, &str)],
        command: &str,
    ) -> (String, String) {
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint),
            ("OTEL_SERVICE_INSTANCE_ID", id),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "3000"),
        ];
        env.extend_from_slice(extra);
        let mut c = Child::spawn(bin, &env);
        c.ok(command);
        let flush = c.cmd("flush");
        let (status, err) = c.finish("quit");
        assert!(status.success(), "{err}");
        (flush, err)
    }

    /// Starts `bin` (pass `env!("CARGO_BIN_EXE_reliability_child")`) with
    /// exactly the telemetry variables in `env`.
    pub fn spawn(bin: &str, env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(bin);
        for (k, _) in std::env::vars_os() {
            if inherited_telemetry_var(&k.to_string_lossy()) {
                cmd.env_remove(k);
            }
        }
        // Without stale markers unless asked: tests read a finished
        // child's last values from the backend with instant queries.
        if !env
            .iter()
            .any(|(k, _)| *k == "HYPERACTOR_OTEL_STALE_MARKERS")
        {
            cmd.env("HYPERACTOR_OTEL_STALE_MARKERS", "off");
        }
        cmd.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start reliability_child");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Child {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr,
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command and returns its answer; panics when none comes
    /// within [`RETURN_DEADLINE`] (a call that never returned).
    pub fn cmd(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to child");
        stdin.flush().unwrap();
        match self.lines.recv_timeout(RETURN_DEADLINE) {
            Ok(l) => l,
            Err(e) => panic!(
                "`{line}`: no answer within {RETURN_DEADLINE:?} ({e}); stderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// `cmd`, asserting that the answer starts with `ok`.
    pub fn ok(&mut self, line: &str) -> String {
        let r = self.cmd(line);
        assert!(
            r.starts_with("ok"),
            "`{line}` -> {r}; stderr:\n{}",
            self.stderr()
        );
        r
    }

    /// Everything the child wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until standard error contains `needle`; panics after
    /// [`RETURN_DEADLINE`].
    pub fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + RETURN_DEADLINE;
        loop {
            let e = self.stderr();
            if e.contains(needle) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "stderr never contained {needle:?}:\n{e}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `line` (`quit` or `exit`), closes standard input and waits for
    /// the process to end; returns its status and standard error.
    pub fn finish(mut self, line: &str) -> (ExitStatus, String) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "{line}");
        }
        let status = self.wait();
        // Let the reader thread take the last bytes.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.stderr) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        (status, self.stderr())
    }

    /// Sends `signal` and waits for the process to end.
    pub fn signal(mut self, signal: i32) -> (ExitStatus, String) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let status = self.wait();
        (status, self.stderr())
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + RETURN_DEADLINE;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "the child did not exit within {RETURN_DEADLINE:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `key=value` figure named `key` in a child's answer.
pub fn figure(answer: &str, key: &str) -> u64 {
    answer
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {answer:?}"))
}

/// The milliseconds a `flush`/`shutdown` answer reports.
pub fn millis(answer: &str) -> u64 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no milliseconds in {answer:?}"))
}

/// Lines of `stderr` that come from the runtime.
pub fn runtime_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("telemetry-runtime:"))
        .collect()
}

/// Percent-encodes `s` for a child command word.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
