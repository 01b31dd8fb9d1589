#!/usr/bin/env bash
# Instructions per call of the per-call rows of BENCHMARKS.md, ours beside
# the peers, counted by valgrind's callgrind: the same on every run of the
# same binary, whatever else the machine is doing (a shared 2-core machine
# makes nanoseconds noisy; instructions are not). Each case runs N and 2N
# calls; (I(2N) - I(N)) / N leaves out start-up and first-use costs.
#
#   scripts/instructions.sh            every case
#   scripts/instructions.sh counter    cases whose name contains "counter"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }

cargo build --release -p benches --example instructions 2>&1 | grep -v "^\s*\(Compiling\|Finished\)" || true
bin=target/release/examples/instructions
n=200000
cases=(
  counter_per_call/ours counter_per_call/prometheus counter_per_call/otel_sdk
  counter_per_call_varying/ours counter_per_call_varying/prometheus counter_per_call_varying/otel_sdk
  gauge_set/ours_bind gauge_set/prometheus
  monarch_counter_strings/build_only monarch_counter_strings/ours monarch_counter_strings/hyperactor_sdk
)
count() {
  # The export thread never runs in so short a process (no export is due).
  OTEL_METRIC_EXPORT_INTERVAL=3600000 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" "$1" "$2" 2>&1 | awk '/Collected :/ { print $4 }'
}
printf '| case | instructions per call |\n|---|---:|\n'
for c in "${cases[@]}"; do
  [[ -n "${1:-}" && "$c" != *"$1"* ]] && continue
  one=$(count "$c" "$n")
  two=$(count "$c" $((2 * n)))
  awk -v c="$c" -v a="$one" -v b="$two" -v n="$n" 'BEGIN { printf "| %s | %.1f |\n", c, (b - a) / n }'
done
