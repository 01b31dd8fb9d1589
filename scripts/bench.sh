#!/usr/bin/env bash
# The benchmark suite: this project and its peers in one run (criterion),
# then the report (medians, ratios to a raw atomic add, memory, targets)
# printed and saved to target/bench-report.md. Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export HYPERACTOR_OTEL_BACKEND=none
cargo bench -p benches --bench hot_path --bench export --bench monarch --bench exponential --bench exemplars
cargo run --release -q -p benches --bin report | tee target/bench-report.md
