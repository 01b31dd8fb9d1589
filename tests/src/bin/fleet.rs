//! The fleet of `scripts/fleet.sh`: two VictoriaMetrics nodes behind a
//! sharding `vmagent`, N worker processes, a node stopped mid-run, the
//! agent restarted, exact totals checked (see `tests::fleet`); or, with
//! `cost`, one worker's export cost at several series counts.
//!
//! ```text
//! fleet run  [--workers N] [--series M] [--seconds D] [--outage S] [--no-agent-restart] [--gzip]
//! fleet cost [--series 1000,10000,100000] [--exports E]
//! ```
//! The worker is `fleet_worker` next to this binary, or `--worker PATH`.

use std::path::PathBuf;
use std::time::Duration;
use tests::fleet::{self, FleetOptions};

fn usage(msg: &str) -> ! {
    eprintln!(
        "fleet: {msg}\nusage: fleet run [--workers N] [--series M] [--seconds D] [--outage S] \
         [--no-agent-restart] [--gzip] [--worker PATH]\n       fleet cost [--series \
         1000,10000,100000] [--exports E] [--worker PATH]"
    );
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| usage("no mode"));
    let mut flags = std::collections::BTreeMap::new();
    let mut switches = std::collections::BTreeSet::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-agent-restart" | "--gzip" => {
                switches.insert(a);
            }
            "--workers" | "--series" | "--seconds" | "--outage" | "--exports" | "--worker" => {
                let v = args
                    .next()
                    .unwrap_or_else(|| usage(&format!("{a} needs a value")));
                flags.insert(a, v);
            }
            _ => usage(&format!("unknown argument {a:?}")),
        }
    }
    let num = |k: &str, default: u64| -> u64 {
        flags.get(k).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{k} {v:?} is not a whole number")))
        })
    };
    let worker_bin = flags.get("--worker").map(PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.join("fleet_worker")))
            .unwrap_or_else(|| usage("cannot find fleet_worker; pass --worker"))
    });
    match mode.as_str() {
        "run" => {
            let seconds = num("--seconds", 60);
            let o = FleetOptions {
                workers: num("--workers", 20) as usize,
                series: num("--series", 100) as usize,
                rounds: seconds,
                round_ms: 1000,
                outage: Duration::from_secs(num("--outage", 10)),
                restart_agent: !switches.contains("--no-agent-restart"),
                gzip: switches.contains("--gzip"),
                worker_bin,
                deadline: Duration::from_secs(120),
                verbose: true,
            };
            match fleet::run(&o) {
                Ok(r) => print!("{}", fleet::describe(&o, &r)),
                Err(e) => {
                    eprintln!("fleet: FAILED: {e}");
                    std::process::exit(1);
                }
            }
        }
        "cost" => {
            let series: Vec<usize> = flags
                .get("--series")
                .map_or("1000,10000,100000", String::as_str)
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .unwrap_or_else(|_| usage(&format!("--series: {s:?}")))
                })
                .collect();
            let exports = num("--exports", 30) as usize;
            println!("| series | gzip | exports | CPU per export (median, mean) | per series | body bytes per export | per series |");
            println!("|---|---|---|---|---|---|---|");
            for m in series {
                for gzip in [false, true] {
                    match fleet::export_cost(&worker_bin, m, exports, gzip) {
                        Ok(c) => println!(
                            "| {m} | {} | {} | {:.1} us, {:.1} us | {:.1} ns | {:.0} | {:.1} |",
                            if gzip { "on" } else { "off" },
                            c.exports,
                            c.cpu_median_ns / 1e3,
                            c.cpu_mean_ns / 1e3,
                            c.cpu_median_ns / m as f64,
                            c.body_bytes,
                            c.body_bytes / m as f64
                        ),
                        Err(e) => {
                            eprintln!("fleet: {m} series: {e}");
                            std::process::exit(1);
                        }
                    }
                }
            }
        }
        _ => usage(&format!("unknown mode {mode:?}")),
    }
}
