#!/usr/bin/env bash
# Starts a real backend, runs examples/quickstart.rs against it for a few
# seconds, and prints what the backend now holds (PromQL results).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --quiet -p examples --example quickstart
eval "$(scripts/vm-start.sh -opentelemetry.usePrometheusNaming -opentelemetry.promoteScopeMetadata=false)"
trap 'scripts/vm-stop.sh' EXIT

OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="$VM_URL/opentelemetry/v1/metrics" \
OTEL_METRIC_EXPORT_INTERVAL=1000 \
OTEL_SERVICE_NAME=quickstart \
  target/debug/examples/quickstart "${DEMO_SECONDS:-6}"

curl -fsS "$VM_URL/internal/force_flush" >/dev/null
query() {
  echo "== $1"
  curl -fsS "$VM_URL/api/v1/query" --data-urlencode "query=$1" \
    --data-urlencode "time=$(( $(date +%s) + 1 ))" |
    python3 -c 'import json,sys
for r in json.load(sys.stdin)["data"]["result"]:
    m = {k: v for k, v in r["metric"].items() if not k.startswith(("telemetry_", "service_instance"))}
    print("  ", m, "=>", r["value"][1])'
}
query 'sum by (method, status) (http_requests_total)'
query 'sum by (method, status) (rate(http_requests_total[2m]))'
query 'histogram_quantile(0.95, sum by (le, method) (rate(http_request_duration_seconds_bucket[2m])))'
query 'http_requests_in_flight'
query 'http_worker_pool_size'
query 'http_response_bytes_total'
