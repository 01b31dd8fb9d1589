#!/usr/bin/env bash
# The whole test suite, against a real backend: formatting, lints, unit
# tests, doctests, end-to-end tests, and a build of the benchmarks.
#
# Backend: a VictoriaMetrics installed by scripts/vm-install.sh (nothing
# system-wide) and started once for the run; or, with PROMETHEUS_BIN set to a
# Prometheus 3.x built with the OTLP receiver, that Prometheus (each test
# process starts its own, with examples/prometheus.yml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

# Dependency policy (deny.toml): licenses, duplicate/wildcard bans, sources.
# These read Cargo.lock and crates.io only; the advisories check needs the
# RustSec database from the network and is run by hand (RELIABILITY.md).
if command -v cargo-deny >/dev/null 2>&1; then
  cargo deny --log-level error check bans licenses sources
else
  echo "test.sh: cargo-deny is not installed (cargo install cargo-deny --locked);" \
    "the dependency policy in deny.toml was not checked" >&2
fi

if [ -z "${PROMETHEUS_BIN:-}" ] && [ -z "${TELEMETRY_TEST_VM_URL:-}" ]; then
  eval "$(scripts/vm-start.sh \
    -opentelemetry.usePrometheusNaming \
    -opentelemetry.promoteScopeMetadata=false)"
  trap 'scripts/vm-stop.sh' EXIT
  export TELEMETRY_TEST_VM_URL="$VM_URL"
  started_vm=1
fi

log="$(mktemp)"
# Every test binary runs, whatever failed before it; the run fails at the
# end if any did.
status=0
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee "$log" || status=1
cargo test --workspace --doc --no-fail-fast 2>&1 | tee -a "$log" || status=1
# The `strict-names` feature: every declaration strict (its own build, so
# that the feature does not reach the rest of the workspace).
cargo test -p telemetry-macros --features strict-names --lib 2>&1 | tee -a "$log" || status=1

if [ -n "${started_vm:-}" ]; then
  scripts/vm-stop.sh
  trap - EXIT
fi

# One closing line for the whole run: the sum over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
