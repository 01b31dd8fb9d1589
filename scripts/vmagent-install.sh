#!/usr/bin/env bash
# Locate (or fetch, without installing anything system-wide) vmagent, which
# Debian ships in the same `victoria-metrics` package as the single-node
# server. Last line on stdout = absolute path; status on stderr.
# Order: $VMAGENT_BIN > PATH > next to $VICTORIA_METRICS_BIN > project-local
# cache > download the Debian sid package (scripts/deb-fetch.sh).
set -euo pipefail

if [ -n "${VMAGENT_BIN:-}" ] && [ -x "$VMAGENT_BIN" ]; then
  realpath "$VMAGENT_BIN"; exit 0
fi
for name in vmagent vmagent-prod; do
  if p="$(command -v "$name")"; then realpath "$p"; exit 0; fi
done
if [ -n "${VICTORIA_METRICS_BIN:-}" ] && [ -x "$(dirname "$VICTORIA_METRICS_BIN")/vmagent" ]; then
  realpath "$(dirname "$VICTORIA_METRICS_BIN")/vmagent"; exit 0
fi
exec "$(dirname "${BASH_SOURCE[0]}")/deb-fetch.sh" victoria-metrics vmagent vmagent-prod
