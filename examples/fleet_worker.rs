//! One process of a fleet (`scripts/fleet.sh`, `tests/tests/fleet.rs`): a
//! known, deterministic workload, exported every second on its own, so that
//! the totals every backend must hold can be computed from four numbers.
//!
//! Environment (besides the `OTEL_*` variables of the README):
//! - `FLEET_SERIES` (M, default 100, at most 200,000): counter series,
//!   `series="0"` to `series="M-1"`, in three counters (`fleet.work.0`
//!   holds the first 1,000, `fleet.work.1` up to 10,000, `fleet.work.2`
//!   the rest).
//! - `FLEET_ROUNDS` (K, default 10) and `FLEET_ROUND_MS` (default 1000): K
//!   rounds, one every `FLEET_ROUND_MS`. Each round adds `1 + i % 3` to
//!   series `i`, records one value per `kind` into the histogram
//!   `fleet.latency` (`a` 0.0625, `b` 0.25, `c` 0.5, `d` 2.0 seconds; buckets
//!   0.1, 0.3, 1), and calls the `#[metered]` function `step`, which fails
//!   on rounds 4, 9, 14, ...
//! - `FLEET_WAIT_STDIN=1`: after the K rounds, keep exporting until standard
//!   input is closed (the fleet decides when the processes end).
//! - `FLEET_PROFILE_EXPORTS` (E): instead of waiting for the interval, drive
//!   E exports with `telemetry_runtime::flush()`, one after each round (K
//!   is then E), for the export-cost figures of BENCHMARKS.md.
//!
//! The observable gauge `fleet.exports` counts this process's exports. Its
//! callback runs on the export thread at the start of each export, so it
//! also reads that thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): the
//! difference between two calls is the CPU of one whole export cycle
//! (collect, encode, gzip, HTTP), with no change to the runtime.
//!
//! The process ends with `telemetry_runtime::shutdown()` (the last export,
//! confirmed) and prints one line, `fleet_worker key=value ...`; it exits
//! with status 1 if that last export failed.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use telemetry_runtime::{
    declare_observable_gauge, declare_static_counter, declare_static_histogram, kv_pairs, metered,
    BoundCounter, Counter,
};

declare_static_counter!(pub(self) WORK0, "fleet.work.0", cardinality_limit = 2_000,
    description = "Fleet workload: 1 + i % 3 per round for series i < 1,000.");
declare_static_counter!(pub(self) WORK1, "fleet.work.1", cardinality_limit = 20_000,
    description = "Fleet workload: 1 + i % 3 per round for series 1,000 <= i < 10,000.");
declare_static_counter!(pub(self) WORK2, "fleet.work.2", cardinality_limit = 200_000,
    description = "Fleet workload: 1 + i % 3 per round for series 10,000 <= i < 200,000.");

/// The most series a worker records.
const MAX_SERIES: usize = 200_000;

/// The counter of series `i`: the first 1,000 in `fleet.work.0`, up to
/// 10,000 in `fleet.work.1`, the rest in `fleet.work.2`. Each limit is
/// about twice what its counter holds at 1k, 10k and 100k series (its
/// table half full, as the benchmarks measure), so that a few counters do
/// and no idle ones are exported beyond their one zero point.
fn work(i: usize) -> &'static Counter {
    match i {
        0..1_000 => &WORK0,
        1_000..10_000 => &WORK1,
        _ => &WORK2,
    }
}

declare_static_histogram!(pub(self) LATENCY, "fleet.latency", unit = "s",
    buckets = [0.1, 0.3, 1.0], description = "Fleet workload: one value per kind per round.");

/// The histogram's kinds and the value each records per round (exact in
/// binary, so that sums are exact).
const KINDS: [(&str, f64); 4] = [("a", 0.0625), ("b", 0.25), ("c", 0.5), ("d", 2.0)];

/// Export-thread CPU time (ns) at the start of each export.
static EXPORT_CPU: Mutex<Vec<u64>> = Mutex::new(Vec::new());

declare_observable_gauge!(pub(self) EXPORTS, "fleet.exports", |observer| {
    let mut cpu = EXPORT_CPU.lock().unwrap_or_else(|p| p.into_inner());
    cpu.push(thread_cpu_ns());
    observer.observe(cpu.len() as f64, &[]);
});

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One metered step; fails on rounds 4, 9, 14, ...
#[metered]
fn step(round: u64) -> Result<u64, String> {
    if round % 5 == 4 {
        Err(format!("round {round} fails by design"))
    } else {
        Ok(round)
    }
}

/// A variable of this program, or its default; a bad value is an error
/// naming the variable.
fn var(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a whole number")),
    }
}

fn run() -> Result<(), String> {
    let series = var("FLEET_SERIES", 100)? as usize;
    let profile = var("FLEET_PROFILE_EXPORTS", 0)?;
    let rounds = if profile > 0 {
        profile
    } else {
        var("FLEET_ROUNDS", 10)?
    };
    let round_ms = var("FLEET_ROUND_MS", 1000)?;
    let wait_stdin = var("FLEET_WAIT_STDIN", 0)? != 0;
    if series > MAX_SERIES {
        return Err(format!(
            "FLEET_SERIES={series}: at most {MAX_SERIES} series"
        ));
    }
    let bound: Vec<BoundCounter> = (0..series)
        .map(|i| work(i).bind(kv_pairs!("series" => i.to_string())))
        .collect();
    let kinds: Vec<_> = KINDS
        .iter()
        .map(|(k, v)| (LATENCY.bind(kv_pairs!("kind" => *k)), *v))
        .collect();
    let started = Instant::now();
    for round in 0..rounds {
        for (i, c) in bound.iter().enumerate() {
            c.add(1 + (i % 3) as u64);
        }
        for (h, v) in &kinds {
            h.record(*v);
        }
        let _ = step(round);
        if profile > 0 {
            telemetry_runtime::flush().map_err(|e| format!("flush: {e}"))?;
        } else {
            let next = started + Duration::from_millis(round_ms * (round + 1));
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    if wait_stdin {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    }
    // The export thread's CPU per export cycle: from the start of the
    // second export to the start of the last one seen before shutdown (the
    // first export also pays for one-time set-up).
    let cpu = EXPORT_CPU.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let cycles: Vec<u64> = cpu.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    let mut sorted = cycles.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let total: u64 = cycles.iter().sum();
    let mean = if cycles.is_empty() {
        0
    } else {
        total / cycles.len() as u64
    };
    let first = cpu.get(1).zip(cpu.first()).map_or(0, |(b, a)| b - a);
    let last = telemetry_runtime::shutdown();
    println!(
        "fleet_worker instance={} series={series} rounds={rounds} exports={} \
         first_export_cpu_ns={first} export_cpu_mean_ns={mean} export_cpu_median_ns={median} \
         export_cpu_cycles={} last_export={}",
        std::env::var("OTEL_SERVICE_INSTANCE_ID").unwrap_or_default(),
        cpu.len() + 1,
        cycles.len(),
        if last.is_ok() { "ok" } else { "failed" },
    );
    last.map_err(|e| format!("the last export failed: {e}"))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fleet_worker: {e}");
        std::process::exit(1);
    }
}
