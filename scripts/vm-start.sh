#!/usr/bin/env bash
# Start a throw-away single-node VictoriaMetrics on 127.0.0.1:<free port>.
# Usage: eval "$(scripts/vm-start.sh [extra victoria-metrics flags...])"
# stdout: export lines for VM_URL, VM_PID, VM_DATA; everything else on stderr.
# Fresh samples become searchable only after VM's internal flush (~2-5 s); for
# immediate reads call `GET $VM_URL/internal/force_flush` after pushing, and query
# with a `time=` at or after the sample timestamps (default "now" is whole seconds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$("$here/vm-install.sh" | tail -n1)"
data="$(mktemp -d "${TMPDIR:-/tmp}/vm-data.XXXXXX")"

# Ask the kernel for a free port (tiny race until VM binds it; acceptable for tests).
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# latencyOffset=0s: instant queries see samples up to "now" (default hides the last 30s).
# disableCache: no rollup-result cache, so repeated queries never return stale results.
# minFreeDiskSpaceBytes=0: don't silently reject writes on a nearly-full CI tmpfs.
"$bin" \
  -httpListenAddr="127.0.0.1:$port" \
  -storageDataPath="$data/storage" \
  -search.latencyOffset=0s \
  -search.disableCache \
  -storage.minFreeDiskSpaceBytes=0 \
  "$@" >"$data/vm.log" 2>&1 </dev/null &
pid=$!

url="http://127.0.0.1:$port"
deadline=$((SECONDS + 30))
until [ "$(curl -fsS "$url/health" 2>/dev/null)" = "OK" ]; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "vm-start: victoria-metrics did not become healthy; log $data/vm.log:" >&2
    tail -n 20 "$data/vm.log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  sleep 0.1
done
echo "vm-start: $url pid=$pid data=$data" >&2
printf 'export VM_URL=%q\nexport VM_PID=%q\nexport VM_DATA=%q\n' "$url" "$pid" "$data"
