#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build the Debian package, install it, check what it installed, remove it:
#   - the package's Depends cover what dpkg-shlibdeps derives from the binary
#   - the installed binary runs: --version, --check-config with _file secrets
#     resolved in $CREDENTIALS_DIRECTORY (as under LoadCredential=), exit 78
#     for a bad file
#   - the unit, the example configuration and the docs are where they belong
#   - `systemd-analyze verify` accepts the installed unit
#   - `systemd-analyze security --offline=true` rates it at most 2.0
#
# Run as root, from anywhere in the tree. No running systemd is needed:
# verify and the offline security review only read unit files. It refuses to
# run where tracksiesd is already installed, since it removes it at the end
# (PACKAGING_CHECK_FORCE=1 overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

max_exposure=2.0
build=build-pkg
bindir=/usr/bin
unit=/usr/lib/systemd/system/tracksiesd.service
etc=/etc/tracksiesd
docdir=/usr/share/doc/tracksiesd

say() { printf '== %s\n' "$*"; }
die() { printf 'packaging-check: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs and removes the package)"
for tool in cmake cpack dpkg dpkg-deb; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done
# Slim containers lack these. systemd-analyze works without PID 1, and
# verify insists that ExecReload='s /bin/kill (procps, a Depends) exists.
missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -x /bin/kill ] || missing+=(procps)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if dpkg-query -W -f='${Status}' tracksiesd 2>/dev/null | grep -q "install ok installed" &&
    [ "${PACKAGING_CHECK_FORCE:-0}" != 1 ]; then
  die "tracksiesd is installed already; this check would remove it (PACKAGING_CHECK_FORCE=1 to proceed)"
fi

tmp=$(mktemp -d)
installed=0
cleanup() {
  if [ "$installed" = 1 ]; then
    dpkg -P tracksiesd >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

say "build Release into $build/ (tests off)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTS_BUILD_TESTS=OFF \
  -DTS_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
rm -f "$build"/tracksiesd_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
debs=("$build"/tracksiesd_*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || die "expected one tracksiesd_*.deb in $build/"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
say "package $deb"
dpkg-deb -f "$deb" Package Version Architecture Section Depends | sed 's/^/   /'

say "Depends cover the binary's shared libraries"
depends=$(dpkg-deb -f "$deb" Depends)
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$tmp/shlibs/debian"
  printf 'Source: tracksiesd\n\nPackage: tracksiesd\nArchitecture: any\n' \
    >"$tmp/shlibs/debian/control"
  cp "$build/tracksiesd" "$tmp/shlibs/"
  needed=$(cd "$tmp/shlibs" && dpkg-shlibdeps -O tracksiesd 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
  IFS=',' read -ra needs <<<"$needed"
  for need in "${needs[@]}"; do
    name=$(awk '{print $1}' <<<"$need")
    min=$(sed -n 's/.*(>= *\([^)]*\)).*/\1/p' <<<"$need")
    declared=$(tr ',' '\n' <<<"$depends" | awk -v n="$name" '$1 == n')
    [ -n "$declared" ] || die "Depends lacks $name (binary needs$need)"
    have=$(sed -n 's/.*(>= *\([^)]*\)).*/\1/p' <<<"$declared")
    if [ -n "$min" ] && { [ -z "$have" ] || dpkg --compare-versions "$have" lt "$min"; }; then
      die "Depends has '$declared' but the binary needs $name (>= $min)"
    fi
    printf '   ok %-16s declared %-12s needed %s\n' "$name" "${have:-any}" "${min:-any}"
  done
else
  printf '   dpkg-shlibdeps not found (dpkg-dev); skipped\n'
fi

say "dpkg -i"
installed=1
dpkg -i "$deb" >/dev/null
for f in "$bindir/tracksiesd" "$unit" "$etc/tracksiesd.conf.example" \
    "$docdir/operations.md"; do
  [ -e "$f" ] || die "not installed: $f"
  printf '   %s\n' "$f"
done
[ -x "$bindir/tracksiesd" ] || die "$bindir/tracksiesd is not executable"
grep -qx "ExecStart=$bindir/tracksiesd --config $etc/tracksiesd.conf" "$unit" ||
  die "the installed unit's ExecStart= does not name $bindir/tracksiesd"

say "tracksiesd --version"
out=$("$bindir/tracksiesd" --version) || die "--version failed"
printf '   %s\n' "$out"
[ "$out" = "tracksiesd $version" ] || die "--version says '$out', package is $version"

say "tracksiesd --check-config (secrets from \$CREDENTIALS_DIRECTORY)"
mkdir -p "$tmp/creds" "$tmp/state"
printf 'ck_0123456789abcdef\n' >"$tmp/creds/consumer_key"
printf 'cs_0123456789abcdef\n' >"$tmp/creds/consumer_secret"
printf 'packaging-check-webhook-secret\n' >"$tmp/creds/webhook_secret"
printf 'packaging-check-admin-token-0123\n' >"$tmp/creds/admin_token"
cat >"$tmp/tracksiesd.conf" <<EOF
[store]
url = https://shop.example.com
consumer_key_file = consumer_key
consumer_secret_file = consumer_secret

[webhook]
secret_file = webhook_secret

[admin]
token_file = admin_token

[database]
path = $tmp/state/tracksiesd.db
EOF
out=$(CREDENTIALS_DIRECTORY="$tmp/creds" "$bindir/tracksiesd" \
  --config "$tmp/tracksiesd.conf" --check-config 2>&1) || die "--check-config failed: $out"
printf '   %s\n' "$out"
[ "$out" = "$tmp/tracksiesd.conf: configuration OK" ] || die "unexpected --check-config output"
[ ! -e "$tmp/state/tracksiesd.db" ] || die "--check-config created the database"

say "a bad configuration exits 78 (RestartPreventExitStatus=78)"
set +e
err=$(CREDENTIALS_DIRECTORY="$tmp/empty" "$bindir/tracksiesd" \
  --config "$tmp/tracksiesd.conf" --check-config 2>&1 >/dev/null)
status=$?
set -e
sed -n '1,2s/^/   /p' <<<"$err"   # no head: a pipe it closes early fails the script (pipefail)
[ "$status" -eq 78 ] || die "--check-config with missing credentials exited $status, not 78"

say "systemd-analyze verify $unit"
out=$(systemd-analyze verify "$unit" 2>&1) || die "verify failed: $out"
[ -z "$out" ] || die "verify warned: $out"
printf '   no errors, no warnings\n'

say "systemd-analyze security --offline=true $unit"
report=$(systemd-analyze security --offline=true "$unit" 2>&1) ||
  die "security review failed: $report"
line=$(grep 'Overall exposure level for tracksiesd.service' <<<"$report") ||
  die "no overall exposure line in: $report"
score=$(sed -n 's/.*tracksiesd\.service: \([0-9][0-9]*\.[0-9]\).*/\1/p' <<<"$line")
[ -n "$score" ] || die "cannot read the score from: $line"
printf '   %s\n' "$line"
grep '✗' <<<"$report" | sed 's/^/   /' || true
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' ||
  die "exposure $score is above $max_exposure"

say "dpkg -r tracksiesd (keeps the conffiles), then dpkg -P"
dpkg -r tracksiesd >/dev/null
installed=0
[ ! -e "$bindir/tracksiesd" ] || die "$bindir/tracksiesd is still there after dpkg -r"
[ ! -e "$unit" ] || die "$unit is still there after dpkg -r"
[ -e "$etc/tracksiesd.conf.example" ] || die "dpkg -r removed a conffile"
dpkg -P tracksiesd >/dev/null
[ ! -e "$etc/tracksiesd.conf.example" ] || die "dpkg -P left $etc/tracksiesd.conf.example"

say "packaging OK: tracksiesd $version, security exposure $score (max $max_exposure)"
