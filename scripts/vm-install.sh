#!/usr/bin/env bash
# Locate (or fetch, without installing anything system-wide) a VictoriaMetrics
# single-node binary. Last line on stdout = absolute path; status on stderr.
# Order: $VICTORIA_METRICS_BIN > PATH > project-local cache > download the
# Debian sid package with a private apt tree and unpack it with `dpkg -x`.
set -euo pipefail

log() { echo "vm-install: $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TELEMETRY_CACHE_DIR:-$root/target/backend}"

if [ -n "${VICTORIA_METRICS_BIN:-}" ] && [ -x "$VICTORIA_METRICS_BIN" ]; then
  realpath "$VICTORIA_METRICS_BIN"; exit 0
fi
for name in victoria-metrics victoria-metrics-prod; do
  if p="$(command -v "$name")"; then realpath "$p"; exit 0; fi
done

# Cached unpacked package (the Debian package ships /usr/bin/victoria-metrics).
find_cached() {
  local b
  for b in "$cache"/pkg/usr/bin/victoria-metrics "$cache"/pkg/usr/bin/victoria-metrics-prod; do
    if [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}
if bin="$(find_cached)"; then echo "$bin"; exit 0; fi

# Serialise concurrent first runs (e.g. parallel tests); re-check after the lock.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if bin="$(find_cached)"; then echo "$bin"; exit 0; fi

# Mirror URI comes from the machine's own apt config (never hard-coded): the
# first `deb` entry whose suite is a plain codename (no -security/-updates).
# VM_APT_URI overrides it.
mirror_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'function flush() { if (deb && plain && uri != "") { print uri; found=1; exit } deb=0; plain=0; uri="" }
         /^[[:space:]]*$/ { flush(); next }
         /^[[:space:]]*#/ { next }
         tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
         tolower($1) == "uris:"  { uri = $2 }
         tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-/) plain = 1 }
         END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # one-line format: deb [opts] URI SUITE COMPONENTS...
    sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 !~ /-/ { print $2 }'
  done
}
uri="${VM_APT_URI:-$(mirror_uri)}"
uri="${uri%%$'\n'*}" # first match
[ -n "$uri" ] || { log "no Debian mirror found in /etc/apt sources; set VM_APT_URI"; exit 1; }
log "downloading victoria-metrics from $uri (sid) into $cache"

# Private apt tree: own config file (APT_CONFIG is read *before* apt.conf.d, so
# pointing Dir::Etc::Parts/Main away skips system hooks like appstream/packagekit),
# own lists/cache/status, no system sources. Nothing outside $cache changes.
# Check-Valid-Until=false: the reachable archive may be a frozen mirror whose
# sid Release has passed Valid-Until (the system config disables it too).
apt="$cache/apt"
mkdir -p "$apt"/{lists/partial,cache/archives/partial,parts,prefs,empty} "$cache/deb"
: > "$apt/status"
cat > "$apt/apt.conf" <<CONF
Dir::Etc::Parts "$apt/parts";
Dir::Etc::Main "$apt/empty/none";
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "$apt/empty";
Dir::Etc::Preferences "$apt/empty/none";
Dir::Etc::PreferencesParts "$apt/prefs";
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "root";
CONF
export APT_CONFIG="$apt/apt.conf"

# Signature check with the system keyring works: as of 2026 sid's InRelease is
# signed by the bookworm and trixie automatic keys, both in bookworm's
# debian-archive-keyring. Once sid is signed only by newer keys this fails; we
# then retry with trusted=yes (loud warning) so tests keep working.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
update() {
  echo "deb [$1] $uri sid main" > "$apt/sources.list"
  apt-get -q update 2>&1 | tee "$apt/update.log" >&2
  ! grep -q '^E:' "$apt/update.log" # apt-get update exits 0 on some errors
}
if ! update "signed-by=$keyring"; then
  grep -qiE 'NO_PUBKEY|EXPKEYSIG|not signed|signature' "$apt/update.log" || exit 1
  log "WARNING: signature check failed; retrying with trusted=yes"
  update "trusted=yes"
fi

(cd "$cache/deb" && rm -f victoria-metrics_*.deb && apt-get -q download victoria-metrics >&2)
# Unpack to a temp dir and rename, so an interrupted run never leaves a half binary.
rm -rf "$cache/pkg" "$cache/pkg.tmp"
dpkg -x "$cache"/deb/victoria-metrics_*.deb "$cache/pkg.tmp"
# The Debian build prints an empty `-version`; keep the package version instead.
dpkg-deb -f "$cache"/deb/victoria-metrics_*.deb Version > "$cache/pkg.tmp/VERSION"
mv "$cache/pkg.tmp" "$cache/pkg"
rm -rf "$apt/lists" "$apt/cache" "$cache/deb" # indexes + .deb not needed once unpacked

bin="$(find_cached)" || { log "no victoria-metrics binary in package:"; find "$cache/pkg" -type f >&2; exit 1; }
log "unpacked victoria-metrics $(cat "$cache/pkg/VERSION")"
echo "$bin"
