#!/usr/bin/env bash
# Stop a server started by vm-start.sh (uses $VM_PID, $VM_DATA) and delete its data.
set -euo pipefail

if [ -n "${VM_PID:-}" ] && kill -0 "$VM_PID" 2>/dev/null; then
  kill "$VM_PID"                      # SIGTERM: graceful shutdown
  for _ in $(seq 50); do              # wait up to ~5 s, then force
    kill -0 "$VM_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$VM_PID" 2>/dev/null || true
fi
# Only remove what vm-start.sh created (mktemp dir named vm-data.*).
case "${VM_DATA:-}" in
  */vm-data.*) rm -rf "$VM_DATA" ;;
  "") ;;
  *) echo "vm-stop: refusing to remove unexpected VM_DATA=$VM_DATA" >&2; exit 1 ;;
esac
