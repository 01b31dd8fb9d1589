//! A small fleet, end to end: 20 processes x 100 series exporting every
//! second to a `vmagent` that shards them across two VictoriaMetrics
//! nodes; one node is stopped and started again, the agent is killed and
//! started again, and every total must come out exact, each series on one
//! node only (`tests::fleet::run`, which `scripts/fleet.sh` runs at scale).

use std::time::Duration;
use tests::fleet::{self, FleetOptions};

#[test]
fn fleet_of_twenty_loses_nothing() {
    let o = FleetOptions {
        workers: 20,
        series: 100,
        rounds: 20,
        round_ms: 1000,
        outage: Duration::from_secs(6),
        restart_agent: true,
        gzip: true,
        worker_bin: env!("CARGO_BIN_EXE_fleet_worker").into(),
        deadline: Duration::from_secs(60),
        verbose: true,
    };
    match fleet::run(&o) {
        Ok(r) => {
            eprint!("{}", fleet::describe(&o, &r));
            // 20 x (100 counter series + 24 histogram + 5 metered values).
            assert_eq!(r.checked, 20 * (100 + 24 + 5));
            assert_eq!(r.workers.len(), 20);
            assert!(r.series_per_node[0] > 0 && r.series_per_node[1] > 0);
        }
        Err(e) => panic!("{e}"),
    }
}
