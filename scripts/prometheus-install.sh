#!/usr/bin/env bash
# Locate (or fetch, without installing anything system-wide) a Prometheus
# binary for checks that need no OTLP receiver (loading rule files).
# Last line on stdout = absolute path; status on stderr.
# Order: $PROMETHEUS_BIN > PATH > project-local cache > Debian sid's
# `prometheus` package through a private apt tree (scripts/deb-fetch.sh).
# Debian builds it without the OTLP receiver and ships no promtool, but it
# parses and loads rule files as any Prometheus does.
set -euo pipefail

if [ -n "${PROMETHEUS_BIN:-}" ] && [ -x "$PROMETHEUS_BIN" ]; then
  realpath "$PROMETHEUS_BIN"; exit 0
fi
if p="$(command -v prometheus)"; then realpath "$p"; exit 0; fi
exec "$(dirname "${BASH_SOURCE[0]}")/deb-fetch.sh" prometheus prometheus
