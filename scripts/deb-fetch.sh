#!/usr/bin/env bash
# Fetch one binary of a Debian sid package without installing anything
# system-wide: a private apt tree downloads the package into a
# project-local cache and `dpkg -x` unpacks it there.
# Usage: scripts/deb-fetch.sh PACKAGE BINARY [BINARY...]
# The first BINARY (a name under usr/bin) found in the unpacked package is
# printed as the last line on stdout; status goes to stderr.
set -euo pipefail

pkg_name="$1"; shift
log() { echo "deb-fetch($pkg_name): $*" >&2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TELEMETRY_CACHE_DIR:-$root/target/backend}/$pkg_name"

find_cached() {
  local b
  for b in "$@"; do
    if [ -x "$cache/pkg/usr/bin/$b" ]; then echo "$cache/pkg/usr/bin/$b"; return 0; fi
  done
  return 1
}
bins=("$@")
if bin="$(find_cached "${bins[@]}")"; then echo "$bin"; exit 0; fi

# Serialise concurrent first runs (e.g. parallel tests); re-check after the lock.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if bin="$(find_cached "${bins[@]}")"; then echo "$bin"; exit 0; fi

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
log "downloading $pkg_name from $uri (sid) into $cache"

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

(cd "$cache/deb" && rm -f "$pkg_name"_*.deb && apt-get -q download "$pkg_name" >&2)
# Unpack to a temp dir and rename, so an interrupted run never leaves a half binary.
rm -rf "$cache/pkg" "$cache/pkg.tmp"
dpkg -x "$cache/deb/$pkg_name"_*.deb "$cache/pkg.tmp"
# Some builds print an empty `-version`; keep the package version too.
dpkg-deb -f "$cache/deb/$pkg_name"_*.deb Version > "$cache/pkg.tmp/VERSION"
mv "$cache/pkg.tmp" "$cache/pkg"
rm -rf "$apt/lists" "$apt/cache" "$cache/deb" # indexes + .deb not needed once unpacked

bin="$(find_cached "${bins[@]}")" || { log "none of ${bins[*]} in the package:"; find "$cache/pkg" -type f >&2; exit 1; }
log "unpacked $pkg_name $(cat "$cache/pkg/VERSION")"
echo "$bin"
