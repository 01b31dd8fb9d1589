//! A child process that the reliability and security tests drive line by
//! line: each command read from standard input is answered with one line on
//! standard output (`ok ...` or `err ...`). The runtime's own messages go to
//! standard error, which the tests read to check what was logged.
//!
//! Attributes are given as `key=value` words, each side percent-encoded
//! (`%20` for a space, `%0A` for a newline), so any string can be passed.
//!
//! Commands:
//! - `add N [k=v..]`: `EVENTS.add(N, attrs)`;
//! - `hist V [k=v..]`: `SIZES.record(V, attrs)` (`V` may be `NaN`, `inf`, `-inf`);
//! - `hists G1;G2;.. [k=v..]`: one thread per group `G` (values separated by
//!   commas) records its values with `SIZES.record`; the threads live until
//!   all are done, so each keeps its stripe (or shares stripe 0);
//! - `gauge V [k=v..]`, `updown N [k=v..]`;
//! - `flush`, `shutdown`: `ok <ms>` or `err <ms> <message>`;
//! - `burst MS`: adds 1 and records 1.0 in a loop for MS milliseconds, timing
//!   every call: `ok adds=<n> slowest_ns=<ns> rss_kb_before=<kb> rss_kb_after=<kb>`;
//! - `threads T N`: T threads add 1 N times each (bound and unbound handles
//!   alternately, phase=threads) and record N histogram values of 1.0;
//! - `users N`: N distinct `user` attribute values on `USERS`; answers the
//!   storage figures and the process's resident memory;
//! - `after-shutdown N`: N adds after shutdown; answers the slowest call;
//! - `fork`: forks; the child adds, flushes and exits through `exit`; answers
//!   the child's exit status and what its flush returned;
//! - `rss`, `stats`; `quit` (return from `main`), `exit` (`std::process::exit(0)`).

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};
use telemetry_runtime::{
    declare_static_counter, declare_static_gauge, declare_static_histogram,
    declare_static_up_down_counter, kv_pairs, KeyValue,
};

declare_static_counter!(EVENTS, "reliability_events_total");
declare_static_counter!(USERS, "reliability_user_logins_total");
declare_static_histogram!(
    SIZES,
    "reliability_size_bytes",
    unit = "By",
    buckets = [1.0, 10.0, 100.0]
);
declare_static_gauge!(LEVEL, "reliability_level_ratio", unit = "1");
declare_static_up_down_counter!(OPEN, "reliability_open_items");

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn attrs(words: &[&str]) -> Vec<KeyValue> {
    words
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=').unwrap_or((w, ""));
            KeyValue::new(decode(k), decode(v))
        })
        .collect()
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn timed(r: impl FnOnce() -> Result<(), telemetry_runtime::ExportError>) -> String {
    let t = Instant::now();
    let r = r();
    let ms = t.elapsed().as_millis();
    match r {
        Ok(()) => format!("ok {ms}"),
        Err(e) => format!("err {ms} {}", e.to_string().replace('\n', " ")),
    }
}

fn burst(ms: u64) -> String {
    let before = rss_kb();
    let end = Instant::now() + Duration::from_millis(ms);
    let bound = EVENTS.bind(kv_pairs!("phase" => "burst"));
    let mut adds = 0u64;
    let mut slowest = Duration::ZERO;
    // Calls (of three records each) slower than 10 us, 100 us, 1 ms: a
    // record that waited for the exporter would show here.
    let mut over = [0u64; 3];
    while Instant::now() < end {
        for _ in 0..100 {
            let t = Instant::now();
            EVENTS.add(1, kv_pairs!("phase" => "burst"));
            bound.add(1);
            SIZES.record(1.0, kv_pairs!("phase" => "burst"));
            let d = t.elapsed();
            slowest = slowest.max(d);
            for (i, limit) in [10_000, 100_000, 1_000_000].iter().enumerate() {
                if d.as_nanos() > *limit {
                    over[i] += 1;
                }
            }
            adds += 2;
        }
    }
    format!(
        "ok adds={adds} slowest_ns={} over_10us={} over_100us={} over_1ms={} \
         rss_kb_before={before} rss_kb_after={}",
        slowest.as_nanos(),
        over[0],
        over[1],
        over[2],
        rss_kb()
    )
}

fn threads(t: usize, n: u64) -> String {
    let handles: Vec<_> = (0..t)
        .map(|_| {
            std::thread::spawn(move || {
                let bound = EVENTS.bind(kv_pairs!("phase" => "threads"));
                let hist = SIZES.bind(kv_pairs!("phase" => "threads"));
                for i in 0..n {
                    if i % 2 == 0 {
                        bound.add(1);
                    } else {
                        EVENTS.add(1, kv_pairs!("phase" => "threads"));
                    }
                    if i % 1000 == 0 {
                        hist.record(1.0);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    "ok".into()
}

fn users(n: u64) -> String {
    let before = rss_kb();
    for i in 0..n {
        USERS.add(1, &[KeyValue::new("user", format!("user-{i}"))]);
    }
    let s = telemetry_runtime::storage_stats();
    format!(
        "ok series={} heap_bytes={} rss_kb_before={before} rss_kb_after={}",
        s.series,
        s.heap_bytes,
        rss_kb()
    )
}

fn after_shutdown(n: u64) -> String {
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        EVENTS.add(1, kv_pairs!("phase" => "after"));
        slowest = slowest.max(t.elapsed());
    }
    let flush = timed(telemetry_runtime::flush);
    format!(
        "ok slowest_ns={} flush={flush} shutdown_again={}",
        slowest.as_nanos(),
        timed(telemetry_runtime::shutdown)
    )
}

fn fork() -> String {
    // SAFETY: the child only records, flushes and exits; see RELIABILITY.md
    // for what a forked child may do.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        EVENTS.add(1000, kv_pairs!("phase" => "forked"));
        let r = timed(telemetry_runtime::flush);
        eprintln!("fork-child flush: {r}");
        std::process::exit(3);
    }
    if pid < 0 {
        return "err fork failed".into();
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    format!(
        "ok exited={} code={}",
        libc::WIFEXITED(status),
        libc::WEXITSTATUS(status)
    )
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, rest)) = words.split_first() else {
            continue;
        };
        let num = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let float = || {
            rest.first()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let tail = || attrs(rest.get(1..).unwrap_or(&[]));
        let reply = match cmd {
            "add" => {
                EVENTS.add(num(0), &tail());
                "ok".into()
            }
            "hist" => {
                SIZES.record(float(), &tail());
                "ok".into()
            }
            "hists" => {
                let groups: Vec<Vec<f64>> = rest
                    .first()
                    .unwrap_or(&"")
                    .split(';')
                    .map(|g| g.split(',').filter_map(|v| v.parse().ok()).collect())
                    .collect();
                let barrier = std::sync::Arc::new(std::sync::Barrier::new(groups.len()));
                let handles: Vec<_> = groups
                    .into_iter()
                    .map(|g| {
                        let (barrier, attrs) = (barrier.clone(), tail());
                        std::thread::spawn(move || {
                            for v in g {
                                SIZES.record(v, &attrs);
                            }
                            barrier.wait();
                        })
                    })
                    .collect();
                let ok = handles.into_iter().all(|h| h.join().is_ok());
                if ok { "ok" } else { "err a thread panicked" }.into()
            }
            "gauge" => {
                LEVEL.record(float(), &tail());
                "ok".into()
            }
            "updown" => {
                let v = rest.first().and_then(|v| v.parse().ok()).unwrap_or(0);
                OPEN.add(v, &tail());
                "ok".into()
            }
            "flush" => timed(telemetry_runtime::flush),
            "shutdown" => timed(telemetry_runtime::shutdown),
            "burst" => burst(num(0)),
            "threads" => threads(num(0) as usize, num(1)),
            "users" => users(num(0)),
            "after-shutdown" => after_shutdown(num(0)),
            "fork" => fork(),
            "rss" => format!("ok {}", rss_kb()),
            "stats" => {
                let s = telemetry_runtime::storage_stats();
                format!("ok series={} heap_bytes={}", s.series, s.heap_bytes)
            }
            "quit" => return,
            "exit" => std::process::exit(0),
            other => format!("err unknown command {other:?}"),
        };
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
