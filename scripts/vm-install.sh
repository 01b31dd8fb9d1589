#!/usr/bin/env bash
# Locate (or fetch, without installing anything system-wide) a VictoriaMetrics
# single-node binary. Last line on stdout = absolute path; status on stderr.
# Order: $VICTORIA_METRICS_BIN > PATH > project-local cache > download the
# Debian sid package with a private apt tree (scripts/deb-fetch.sh).
set -euo pipefail

if [ -n "${VICTORIA_METRICS_BIN:-}" ] && [ -x "$VICTORIA_METRICS_BIN" ]; then
  realpath "$VICTORIA_METRICS_BIN"; exit 0
fi
for name in victoria-metrics victoria-metrics-prod; do
  if p="$(command -v "$name")"; then realpath "$p"; exit 0; fi
done
exec "$(dirname "${BASH_SOURCE[0]}")/deb-fetch.sh" victoria-metrics victoria-metrics victoria-metrics-prod
