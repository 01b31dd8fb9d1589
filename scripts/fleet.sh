#!/usr/bin/env bash
# A fleet on loopback: two VictoriaMetrics nodes, a vmagent in front of them
# that shards series across both (-remoteWrite.shardByURL) with a disk buffer,
# and N processes of examples/fleet_worker.rs, each with its own
# OTEL_SERVICE_INSTANCE_ID, exporting M series every second to the agent.
# Mid-run node 2 is stopped for OUTAGE seconds, then the agent is killed and
# started again; the run fails unless every total comes out exact, summed
# across both nodes, with each series on one node only. The same code runs
# in CI at 20 x 100 (tests/tests/fleet.rs; the logic is tests/src/fleet.rs).
#
# Usage: scripts/fleet.sh [N [M [SECONDS [OUTAGE]]]] [--gzip] [--no-agent-restart]
#        scripts/fleet.sh cost [SERIES,SERIES,...]   # one worker's export cost
# Defaults: N=200 M=500 SECONDS=60 OUTAGE=10. Release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

nice -n 10 cargo build --release -q -p tests --bin fleet --bin fleet_worker
scripts/vm-install.sh >/dev/null
scripts/vmagent-install.sh >/dev/null

if [ "${1:-}" = "cost" ]; then
  exec target/release/fleet cost --series "${2:-1000,10000,100000}"
fi

pos=()
flags=()
for a in "$@"; do
  case "$a" in
    --*) flags+=("$a") ;;
    *) pos+=("$a") ;;
  esac
done
exec target/release/fleet run \
  --workers "${pos[0]:-200}" --series "${pos[1]:-500}" \
  --seconds "${pos[2]:-60}" --outage "${pos[3]:-10}" ${flags[@]+"${flags[@]}"}
