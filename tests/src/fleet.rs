//! A fleet of processes behind a scalable tier: two VictoriaMetrics nodes,
//! a `vmagent` in front of them sharding series across both with a disk
//! buffer, and N processes of `examples/fleet_worker.rs` exporting OTLP to
//! the agent every second. Shared by `scripts/fleet.sh` (through the
//! `fleet` binary) and `tests/tests/fleet.rs`, so that both run the same
//! code.
//!
//! [`run`] goes through these steps, each waited for by polling with a
//! deadline:
//! 1. start the nodes, the agent, and the workers (each with its own
//!    `OTEL_SERVICE_INSTANCE_ID`);
//! 2. wait until every worker's M counter series are stored, on one node
//!    or the other;
//! 3. stop node 2 (SIGTERM) for [`FleetOptions::outage`], start it again,
//!    and wait until, for every worker, node 2 holds as many samples per
//!    series stamped inside the outage as node 1 does: what the agent
//!    accepted while node 2 was down reached it from the disk buffer;
//! 4. kill the agent (SIGKILL: what it held in memory is lost) and start
//!    it again on the same buffer directory; exports that fail meanwhile
//!    are carried by the next ones (cumulative temporality);
//! 5. close the workers' standard input: each finishes its rounds, exports
//!    a last time (`shutdown()`) and exits with status 0 only if that
//!    export was confirmed;
//! 6. poll both nodes until every total is exact: every worker, every
//!    series, summed across both nodes, and no series on both nodes.

use crate::supervise::Supervised;
use crate::vm::{Vm, VmOptions};
use crate::{installed, query_at, temp_dir, Kind, Sample};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to run.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// Worker processes (N).
    pub workers: usize,
    /// Counter series per worker (M).
    pub series: usize,
    /// Rounds of the workload per worker (K).
    pub rounds: u64,
    /// Milliseconds between rounds.
    pub round_ms: u64,
    /// How long node 2 stays stopped (zero: not stopped).
    pub outage: Duration,
    /// Kill and restart the agent once the node is back.
    pub restart_agent: bool,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` in the workers.
    pub gzip: bool,
    /// The `fleet_worker` binary.
    pub worker_bin: PathBuf,
    /// How long each wait may take.
    pub deadline: Duration,
    /// Print progress on standard error.
    pub verbose: bool,
}

/// What a run measured (checks that failed are an `Err` of [`run`]).
#[derive(Clone, Debug, Default)]
pub struct FleetReport {
    /// Series (all of the fleet's) stored on node 1 and node 2.
    pub series_per_node: [usize; 2],
    /// Expected values checked, all exact.
    pub checked: usize,
    /// For each worker, its summary line's `key=value` pairs.
    pub workers: Vec<BTreeMap<String, String>>,
    /// The agent's figures over the steady part of the run (from all
    /// series stored to just before the agent's restart, or the end).
    pub agent: AgentFigures,
    /// Samples per series that node 2 received from the agent's buffer
    /// for one worker (the smallest over the workers).
    pub buffered_samples_per_series: u64,
    /// Seconds from the workers' start to all totals exact.
    pub seconds: f64,
}

/// Figures read from the agent's own `/metrics`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AgentFigures {
    /// Seconds between the two readings.
    pub seconds: f64,
    /// OTLP requests received.
    pub requests: f64,
    /// Rows (samples) parsed from OTLP.
    pub rows: f64,
    /// Bytes read on its HTTP listener (requests with their headers).
    pub bytes: f64,
    /// CPU seconds the agent used.
    pub cpu_seconds: f64,
}

impl AgentFigures {
    fn between(a: &AgentFigures, b: &AgentFigures) -> AgentFigures {
        AgentFigures {
            seconds: b.seconds - a.seconds,
            requests: b.requests - a.requests,
            rows: b.rows - a.rows,
            bytes: b.bytes - a.bytes,
            cpu_seconds: b.cpu_seconds - a.cpu_seconds,
        }
    }
}

/// The `vmagent` binary, installed by `scripts/vmagent-install.sh` if needed.
pub fn vmagent_bin() -> String {
    installed("vmagent-install.sh")
}

/// Seconds since the epoch.
fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `vmagent` in front of the nodes.
pub struct Agent {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    data: PathBuf,
    nodes: [String; 2],
    running: Option<Supervised>,
}

impl Agent {
    /// Starts an agent that shards series across `nodes` (their base
    /// URLs), buffering on disk under `data`.
    pub fn start(nodes: [String; 2], data: PathBuf, deadline: Duration) -> Result<Agent, String> {
        let port = crate::free_port();
        let mut a = Agent {
            url: format!("http://127.0.0.1:{port}"),
            port,
            data,
            nodes,
            running: None,
        };
        a.restart(deadline)?;
        Ok(a)
    }

    /// The OTLP metrics endpoint.
    pub fn otlp_endpoint(&self) -> String {
        format!("{}/opentelemetry/v1/metrics", self.url)
    }

    /// Starts the process again (same port, same buffer) after a stop.
    pub fn restart(&mut self, deadline: Duration) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.join("vmagent.log"))
            .map_err(|e| e.to_string())?;
        let mut cmd = Command::new(vmagent_bin());
        cmd.arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .args(
                self.nodes
                    .iter()
                    .map(|n| format!("-remoteWrite.url={n}/api/v1/write")),
            )
            // Each series goes to one node, chosen by a hash of its labels.
            .arg("-remoteWrite.shardByURL")
            // What a node cannot take now waits on disk here.
            .arg(format!(
                "-remoteWrite.tmpDataPath={}",
                self.data.join("buffer").display()
            ))
            // A node that is back gets its backlog within a second or two
            // (the default backoff grows to a minute).
            .arg("-remoteWrite.retryMinInterval=250ms")
            .arg("-remoteWrite.retryMaxInterval=1s")
            // The agent translates OTLP names as the tests' single node
            // does: Prometheus's default strategy, no scope labels.
            .arg("-opentelemetry.usePrometheusNaming")
            .arg("-opentelemetry.promoteScopeMetadata=false")
            .arg("-loggerLevel=WARN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        self.running = Some(Supervised::spawn(cmd)?);
        wait_health(&self.url, deadline)
    }

    /// Stops the process with `signal` and waits until it is gone.
    pub fn stop(&mut self, signal: i32) {
        if let Some(r) = self.running.take() {
            r.stop(signal);
        }
    }

    /// The agent's figures now (its counters restart with the process).
    pub fn figures(&self) -> Result<AgentFigures, String> {
        let text = ureq::get(format!("{}/metrics", self.url))
            .call()
            .map_err(|e| format!("vmagent /metrics: {e}"))?
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let pick = |name: &str, label: &str| -> f64 {
            text.lines()
                .filter(|l| {
                    l.starts_with(name)
                        && l[name.len()..].starts_with(['{', ' '])
                        && l.contains(label)
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        Ok(AgentFigures {
            seconds: now_s(),
            requests: pick(
                "vmagent_http_requests_total",
                "path=\"/opentelemetry/v1/metrics\"",
            ),
            rows: pick("vm_protoparser_rows_read_total", "type=\"opentelemetry\""),
            bytes: pick("vm_tcplistener_read_bytes_total", "name=\"http\""),
            cpu_seconds: pick("process_cpu_seconds_total", ""),
        })
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop(libc::SIGKILL);
    }
}

fn wait_health(url: &str, deadline: Duration) -> Result<(), String> {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if let Ok(r) = ureq::get(format!("{url}/health")).call() {
            if r.status() == 200 {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{url} not healthy within {deadline:?}"))
}

/// The worker processes.
struct Workers {
    children: Vec<(String, Child, Option<ChildStdin>)>,
    logs: PathBuf,
}

impl Workers {
    fn spawn(o: &FleetOptions, endpoint: &str, logs: &Path) -> Result<Workers, String> {
        let mut children = Vec::with_capacity(o.workers);
        for w in 0..o.workers {
            let id = instance(w);
            let err = std::fs::File::create(logs.join(format!("{id}.stderr")))
                .map_err(|e| e.to_string())?;
            let mut cmd = Command::new(&o.worker_bin);
            for (k, _) in std::env::vars_os() {
                let k = k.to_string_lossy();
                if k.starts_with("OTEL_") || k.starts_with("HYPERACTOR_") || k.starts_with("FLEET_")
                {
                    cmd.env_remove(&*k);
                }
            }
            cmd.env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint)
                .env("OTEL_SERVICE_NAME", "fleet")
                .env("OTEL_SERVICE_INSTANCE_ID", &id)
                .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
                .env("OTEL_METRIC_EXPORT_TIMEOUT", "10000")
                .env(
                    "HYPERACTOR_OTEL_TRANSLATION_STRATEGY",
                    "UnderscoreEscapingWithSuffixes",
                )
                .env("FLEET_SERIES", o.series.to_string())
                .env("FLEET_ROUNDS", o.rounds.to_string())
                .env("FLEET_ROUND_MS", o.round_ms.to_string())
                .env("FLEET_WAIT_STDIN", "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(err));
            if o.gzip {
                cmd.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
            }
            {
                use std::os::unix::process::CommandExt;
                // SAFETY: prctl is async-signal-safe and touches no shared state.
                unsafe {
                    cmd.pre_exec(|| {
                        crate::libc_prctl_pdeathsig();
                        Ok(())
                    });
                }
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("start {}: {e}", o.worker_bin.display()))?;
            let stdin = child.stdin.take();
            children.push((id, child, stdin));
        }
        Ok(Workers {
            children,
            logs: logs.to_owned(),
        })
    }

    /// Closes every worker's standard input, waits for all to exit, and
    /// returns their summary lines.
    fn finish(&mut self, deadline: Duration) -> Result<Vec<BTreeMap<String, String>>, String> {
        for (_, _, stdin) in &mut self.children {
            stdin.take();
        }
        let end = Instant::now() + deadline;
        let mut lines = Vec::new();
        for (id, child, _) in &mut self.children {
            let status = loop {
                if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                    break s;
                }
                if Instant::now() > end {
                    return Err(format!("worker {id} still running after {deadline:?}"));
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let mut out = String::new();
            if let Some(mut o) = child.stdout.take() {
                let _ = o.read_to_string(&mut out);
            }
            if !status.success() {
                let err = std::fs::read_to_string(self.logs.join(format!("{id}.stderr")))
                    .unwrap_or_default();
                return Err(format!(
                    "worker {id} exited with {status}; stdout: {out}; stderr: {err}"
                ));
            }
            let line = out
                .lines()
                .find(|l| l.starts_with("fleet_worker "))
                .ok_or_else(|| format!("worker {id} printed no summary: {out:?}"))?;
            lines.push(parse_summary(line));
        }
        Ok(lines)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `key=value` pairs of a worker's summary line.
pub fn parse_summary(line: &str) -> BTreeMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The instance id of worker `w`.
pub fn instance(w: usize) -> String {
    format!("worker-{w:04}")
}

/// The metered function's ok and error calls after `rounds` rounds.
pub fn step_calls(rounds: u64) -> (u64, u64) {
    let errors = (0..rounds).filter(|r| r % 5 == 4).count() as u64;
    (rounds - errors, errors)
}

/// The histogram's kinds and the value each records per round (as
/// `examples/fleet_worker.rs` records them).
pub const KINDS: [(&str, f64); 4] = [("a", 0.0625), ("b", 0.25), ("c", 0.5), ("d", 2.0)];
/// The histogram's bucket bounds.
pub const BOUNDS: [f64; 3] = [0.1, 0.3, 1.0];

/// A stored series' identity for the checks: instance, name, and the one
/// label that tells the worker's series apart.
type Key = (String, String, String);

/// Every value one worker's series must hold after `rounds` rounds, keyed
/// as [`key_of`] keys stored series.
pub fn expected(w: usize, series: usize, rounds: u64) -> BTreeMap<Key, f64> {
    let id = instance(w);
    let mut e = BTreeMap::new();
    let mut put = |name: String, label: String, v: f64| {
        e.insert((id.clone(), name, label), v);
    };
    for i in 0..series {
        put(
            format!("fleet_work_{}_total", work_counter(i)),
            format!("series={i}"),
            (rounds * (1 + (i % 3) as u64)) as f64,
        );
    }
    for (kind, v) in KINDS {
        for b in BOUNDS.iter().copied().chain([f64::INFINITY]) {
            let n = if v <= b { rounds } else { 0 };
            put(
                "fleet_latency_seconds_bucket".into(),
                format!("kind={kind},le={}", le(b)),
                n as f64,
            );
        }
        put(
            "fleet_latency_seconds_count".into(),
            format!("kind={kind}"),
            rounds as f64,
        );
        put(
            "fleet_latency_seconds_sum".into(),
            format!("kind={kind}"),
            rounds as f64 * v,
        );
    }
    let (ok, err) = step_calls(rounds);
    for (result, n) in [("ok", ok), ("error", err)] {
        if n > 0 {
            put(
                "function_calls_total".into(),
                format!("result={result}"),
                n as f64,
            );
            put(
                "function_call_duration_seconds_count".into(),
                format!("result={result}"),
                n as f64,
            );
        }
    }
    put("function_calls_in_flight".into(), String::new(), 0.0);
    e
}

/// The counter (`fleet.work.<n>`) of series `i`, as the worker splits them.
pub fn work_counter(i: usize) -> usize {
    match i {
        0..1_000 => 0,
        1_000..10_000 => 1,
        _ => 2,
    }
}

/// A bucket bound as the checks spell it.
fn le(b: f64) -> String {
    if b.is_infinite() {
        "+Inf".into()
    } else {
        format!("{b}")
    }
}

/// The key of a stored series for [`expected`], or `None` for series
/// whose value the workload does not fix (the metered function's
/// duration buckets and sum, the export count).
pub fn key_of(labels: &BTreeMap<String, String>) -> Option<Key> {
    let name = labels.get("__name__")?.clone();
    let id = labels.get("service_instance_id")?.clone();
    let get = |k: &str| labels.get(k).map(String::as_str).unwrap_or("");
    let label = if name.starts_with("fleet_work_") {
        // The idle counters' one zero point has no `series`.
        format!("series={}", labels.get("series")?)
    } else if name == "fleet_latency_seconds_bucket" {
        let bound: f64 = get("le").parse().ok()?;
        format!("kind={},le={}", get("kind"), le(bound))
    } else if name.starts_with("fleet_latency_seconds_") {
        format!("kind={}", get("kind"))
    } else if name == "function_calls_total" || name == "function_call_duration_seconds_count" {
        if get("function") != "step" {
            return None;
        }
        format!("result={}", get("result"))
    } else if name == "function_calls_in_flight" {
        if get("function") != "step" {
            return None;
        }
        String::new()
    } else {
        return None;
    };
    Some((id, name, label))
}

/// The whole identity of a series (every label), to tell whether one
/// series is stored on both nodes.
fn identity(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every series of the fleet on one node, with its last value.
fn fleet_series(node: &Vm) -> Result<Vec<Sample>, String> {
    query_at(
        &node.url,
        Kind::Victoria,
        r#"last_over_time({service_name="fleet"}[1h]) keep_metric_names"#,
        now_s() + 1.0,
    )
}

/// Compares what both nodes hold with what every worker must have sent.
/// Returns the series per node and the number of values checked, or what
/// differs.
pub fn verify(nodes: &[&Vm; 2], o: &FleetOptions) -> Result<([usize; 2], usize), String> {
    let stored = [fleet_series(nodes[0])?, fleet_series(nodes[1])?];
    let mut problems = Vec::new();
    let ids: [BTreeSet<String>; 2] =
        [0, 1].map(|n| stored[n].iter().map(|s| identity(&s.0)).collect());
    let both = ids[0].intersection(&ids[1]).count();
    if both > 0 {
        problems.push(format!(
            "{both} series are stored on both nodes, e.g. {}",
            ids[0]
                .intersection(&ids[1])
                .next()
                .cloned()
                .unwrap_or_default()
        ));
    }
    let mut got: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for (labels, v) in stored.iter().flatten() {
        if let Some(k) = key_of(labels) {
            got.entry(k).or_default().push(*v);
        }
    }
    let mut checked = 0;
    let mut missing = 0;
    let mut wrong = 0;
    for w in 0..o.workers {
        for (k, want) in expected(w, o.series, o.rounds) {
            match got.get(&k).map(Vec::as_slice) {
                Some([v]) if *v == want => checked += 1,
                None => {
                    missing += 1;
                    if missing <= 3 {
                        problems.push(format!("missing {k:?} (want {want})"));
                    }
                }
                Some(vs) => {
                    wrong += 1;
                    if wrong <= 3 {
                        problems.push(format!("{k:?}: {vs:?}, want {want}"));
                    }
                }
            }
        }
    }
    if missing + wrong > 0 {
        problems.push(format!(
            "{missing} values missing, {wrong} wrong, {checked} right"
        ));
    }
    if problems.is_empty() {
        Ok(([stored[0].len(), stored[1].len()], checked))
    } else {
        Err(problems.join("; "))
    }
}

/// The counter series of the fleet, as a selector.
const WORK: &str = r#"{__name__=~"fleet_work_[0-9]+_total", service_name="fleet", series!=""}"#;

/// Polls `f` until it returns `Ok`, for at most `deadline`; the error says
/// what the last try saw.
fn poll<T>(
    what: &str,
    deadline: Duration,
    mut f: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(100);
    loop {
        match f() {
            Ok(t) => return Ok(t),
            Err(e) if Instant::now() >= end => {
                return Err(format!("{what}: not within {deadline:?}; last: {e}"))
            }
            Err(_) => {}
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// The number of the fleet's counter series on `node`.
fn work_series(node: &Vm) -> Result<usize, String> {
    let r = node.query(&format!("count({WORK})"))?;
    Ok(r.first().map_or(0, |s| s.1 as usize))
}

/// For each instance, the number of samples each of its counter series
/// has on `node` in the `window` seconds before `at` (all of an
/// instance's series are exported together, with one timestamp, so the
/// number is the same for each; a different one is an error). Counted by
/// the node (`count_values`), so that the answer has a line per instance.
fn samples_in(node: &Vm, at: f64, window: f64) -> Result<BTreeMap<String, u64>, String> {
    let q = format!(
        "count_values(\"n\", count_over_time({WORK}[{}ms])) by (service_instance_id)",
        (window * 1000.0).round() as u64
    );
    let r = query_at(&node.url, Kind::Victoria, &q, at)?;
    let mut per: BTreeMap<String, u64> = BTreeMap::new();
    for (labels, _) in r {
        let id = labels
            .get("service_instance_id")
            .cloned()
            .unwrap_or_default();
        let n: u64 = labels.get("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        if let Some(old) = per.insert(id.clone(), n) {
            return Err(format!(
                "{id}: its series hold {old} and {n} samples in the window"
            ));
        }
    }
    Ok(per)
}

/// Runs the fleet (see the module's documentation). Every check that
/// fails is an `Err` saying what was seen.
pub fn run(o: &FleetOptions) -> Result<FleetReport, String> {
    let say = |m: String| {
        if o.verbose {
            eprintln!("fleet: {m}");
        }
    };
    let dir = temp_dir("fleet");
    let result = run_in(o, &dir, &say);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        say(format!("logs kept in {}", dir.display()));
    }
    result
}

fn run_in(o: &FleetOptions, dir: &Path, say: &dyn Fn(String)) -> Result<FleetReport, String> {
    let node_opts = |n: usize| VmOptions {
        data: Some(dir.join(format!("node{n}"))),
        // The final check reads every series of the fleet in one query.
        extra_flags: vec!["-search.maxUniqueTimeseries=10000000".into()],
        ..VmOptions::default()
    };
    let mut node1 = Vm::start(node_opts(1));
    let mut node2 = Vm::start(node_opts(2));
    let agent_dir = dir.join("agent");
    std::fs::create_dir_all(&agent_dir).map_err(|e| e.to_string())?;
    let mut agent = Agent::start(
        [node1.url.clone(), node2.url.clone()],
        agent_dir,
        o.deadline,
    )?;
    say(format!(
        "nodes {} and {}, vmagent {}; starting {} workers x {} series, {} rounds every {} ms",
        node1.url, node2.url, agent.url, o.workers, o.series, o.rounds, o.round_ms
    ));
    let logs = dir.join("workers");
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut workers = Workers::spawn(o, &agent.otlp_endpoint(), &logs)?;

    let want = o.workers * o.series;
    let on = poll("every worker's counter series stored", o.deadline, || {
        let n = [work_series(&node1)?, work_series(&node2)?];
        if n[0] + n[1] == want {
            Ok(n)
        } else {
            Err(format!("{} + {} of {want} counter series", n[0], n[1]))
        }
    })?;
    say(format!(
        "all {want} counter series stored after {:.1} s: {} on node 1, {} on node 2",
        started.elapsed().as_secs_f64(),
        on[0],
        on[1]
    ));
    let steady_from = agent.figures()?;

    let mut buffered = 0;
    if !o.outage.is_zero() {
        node2.stop(libc::SIGTERM);
        let down = now_s();
        say(format!("node 2 stopped; back in {:?}", o.outage));
        std::thread::sleep(o.outage);
        let up = now_s();
        node2.restart();
        // Samples stamped inside the outage, a second in from each end:
        // on node 2 they can only have come from the agent's buffer.
        let (at, window) = (up - 1.0, up - down - 2.0);
        let per = poll("node 2's outage samples delivered", o.deadline, || {
            let a = samples_in(&node1, at, window)?;
            let b = samples_in(&node2, at, window)?;
            let mut missing = Vec::new();
            for w in 0..o.workers {
                let id = instance(w);
                match (a.get(&id), b.get(&id)) {
                    (Some(x), Some(y)) if x == y && *x > 0 => {}
                    (x, y) => missing.push(format!("{id}: node 1 {x:?}, node 2 {y:?}")),
                }
            }
            if missing.is_empty() {
                Ok(b)
            } else {
                Err(format!(
                    "{} workers differ, e.g. {}",
                    missing.len(),
                    missing[..missing.len().min(3)].join("; ")
                ))
            }
        })?;
        buffered = per.values().copied().min().unwrap_or(0);
        say(format!(
            "node 2 back; it holds, for every worker, as many samples per series from the \
             {window:.1} s inside the outage as node 1 (at least {buffered})"
        ));
    }

    let steady_to = agent.figures()?;
    if o.restart_agent {
        agent.stop(libc::SIGKILL);
        say("vmagent killed (SIGKILL); starting it again".into());
        agent.restart(o.deadline)?;
    }

    let remaining = Duration::from_millis(o.rounds * o.round_ms).saturating_sub(started.elapsed());
    let lines = workers.finish(remaining + o.deadline)?;
    say(format!(
        "{} workers exited, each after a confirmed last export ({:.1} s)",
        lines.len(),
        started.elapsed().as_secs_f64()
    ));

    let (per_node, checked) = poll("exact totals on the two nodes", o.deadline, || {
        verify(&[&node1, &node2], o)
    })?;
    say(format!(
        "{checked} values exact; {} series on node 1, {} on node 2, none on both ({:.1} s)",
        per_node[0],
        per_node[1],
        started.elapsed().as_secs_f64()
    ));
    let seconds = started.elapsed().as_secs_f64();
    drop(agent);
    node1.stop(libc::SIGTERM);
    node2.stop(libc::SIGTERM);
    Ok(FleetReport {
        series_per_node: per_node,
        checked,
        workers: lines,
        agent: AgentFigures::between(&steady_from, &steady_to),
        buffered_samples_per_series: buffered,
        seconds,
    })
}

/// A summary of a report, for people.
pub fn describe(o: &FleetOptions, r: &FleetReport) -> String {
    let mut s = String::new();
    let nums = |k: &str| -> Vec<f64> {
        r.workers
            .iter()
            .filter_map(|w| w.get(k)?.parse().ok())
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let cpu = nums("export_cpu_mean_ns");
    let cpu_median = nums("export_cpu_median_ns");
    let exports = nums("exports");
    let _ = writeln!(
        s,
        "fleet: {} workers x {} series, {} rounds every {} ms, gzip {}",
        o.workers,
        o.series,
        o.rounds,
        o.round_ms,
        if o.gzip { "on" } else { "off" }
    );
    let _ = writeln!(
        s,
        "checks: {} values exact; series per node {} and {}, none on both; \
         node 2's outage samples delivered (>= {} per series)",
        r.checked, r.series_per_node[0], r.series_per_node[1], r.buffered_samples_per_series
    );
    let _ = writeln!(
        s,
        "worker export thread CPU per export (after the first): mean over workers {:.0} us \
         (of each worker's mean), median {:.0} us; per counter series {:.0} ns; \
         exports per worker {:.1}",
        mean(&cpu) / 1e3,
        median(&cpu_median) / 1e3,
        mean(&cpu) / o.series as f64,
        mean(&exports)
    );
    let a = r.agent;
    if a.seconds > 0.0 && a.requests > 0.0 {
        let _ = writeln!(
            s,
            "vmagent over {:.1} s: {:.0} requests/s, {:.0} samples/s, {:.0} bytes per request \
             (with HTTP headers), {:.2} CPU cores ({:.2} us CPU per sample)",
            a.seconds,
            a.requests / a.seconds,
            a.rows / a.seconds,
            a.bytes / a.requests,
            a.cpu_seconds / a.seconds,
            a.cpu_seconds * 1e6 / a.rows.max(1.0)
        );
    }
    let _ = writeln!(s, "wall time to exact totals: {:.1} s", r.seconds);
    s
}

/// One worker alone, exporting to a sink that records each request's body:
/// what one export costs at a series count.
#[derive(Clone, Debug, Default)]
pub struct ExportCost {
    /// Counter series.
    pub series: usize,
    /// Whether the body was gzip-compressed.
    pub gzip: bool,
    /// Exports measured (after the first).
    pub exports: usize,
    /// Export-thread CPU per export cycle, median and mean (ns).
    pub cpu_median_ns: f64,
    /// See `cpu_median_ns`.
    pub cpu_mean_ns: f64,
    /// Body bytes per export (the median request).
    pub body_bytes: f64,
}

/// Measures one worker's export cost: `exports` exports driven by
/// `flush()`, each after one round of the workload, to a local sink.
pub fn export_cost(
    worker_bin: &Path,
    series: usize,
    exports: usize,
    gzip: bool,
) -> Result<ExportCost, String> {
    let sink = crate::fault::FaultServer::always(crate::fault::Reply::ok());
    let mut cmd = Command::new(worker_bin);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("OTEL_") || k.starts_with("HYPERACTOR_") || k.starts_with("FLEET_") {
            cmd.env_remove(&*k);
        }
    }
    cmd.env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", sink.endpoint())
        .env("OTEL_SERVICE_NAME", "fleet")
        .env("OTEL_SERVICE_INSTANCE_ID", "worker-profile")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
        .env("FLEET_SERIES", series.to_string())
        .env("FLEET_PROFILE_EXPORTS", exports.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if gzip {
        cmd.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("start {}: {e}", worker_bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("worker exited with {}: {text}", out.status));
    }
    let line = text
        .lines()
        .find(|l| l.starts_with("fleet_worker "))
        .ok_or("no summary line")?;
    let kv = parse_summary(line);
    let num = |k: &str| -> f64 { kv.get(k).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    // The first request pays for one-time set-up, as the first CPU cycle
    // does; the last is the exit's.
    let mut sizes: Vec<usize> = sink
        .requests()
        .iter()
        .skip(1)
        .map(|r| r.body.len())
        .collect();
    sizes.sort_unstable();
    Ok(ExportCost {
        series,
        gzip,
        exports: num("export_cpu_cycles") as usize,
        cpu_median_ns: num("export_cpu_median_ns"),
        cpu_mean_ns: num("export_cpu_mean_ns"),
        body_bytes: sizes.get(sizes.len() / 2).copied().unwrap_or(0) as f64,
    })
}
