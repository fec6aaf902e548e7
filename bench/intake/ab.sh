#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A/B of intake builds: the same signed 5.6 KB delivery as run.sh, against
# two or more tracksiesd binaries (or bare responders) started one after
# the other, round after round, so that a machine whose speed drifts treats
# every build alike. Prints, per run: deliveries/s, p50 and the server's
# CPU time per delivery (utime + stime from /proc over the measured run).
# Everything binds 127.0.0.1 and stops by itself.
#
#   bench/intake/ab.sh ROUNDS SECONDS NAME=BINARY [NAME=BINARY ...]
#
# A BINARY whose name ends in "tracksiesd" is started with run.sh's
# configuration (conf.sh: the store down, log level error; unlike run.sh,
# order sync stays on); anything else is started as
# "BINARY PORT" (build-bench/tracksies_bench_bare, with or without
# --handoff in a wrapper). wrk -t2 -c64, one second of warm-up per run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 3 ] || { sed -n '4,16p' "$0" >&2; exit 64; }
rounds=$1 secs=$2
shift 2

# shellcheck source=bench/intake/conf.sh
. "$here/conf.sh"
BODY=$INTAKE_BODY
sig=$(openssl dgst -sha256 -hmac "$INTAKE_SECRET" -binary <"$BODY" | openssl base64 -A)
hz=$(getconf CLK_TCK)

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
wrk_run() {
	BENCH_BODY="$BODY" BENCH_SIG="$sig" wrk -t2 -c64 -d"$2"s --latency \
	    -s "$here/post.lua" "http://127.0.0.1:$1/webhooks/woocommerce" 2>&1
}

for round in $(seq 1 "$rounds"); do
	for spec in "$@"; do
		name=${spec%%=*} bin=${spec#*=}
		dir=$(mktemp -d "${TMPDIR:-/tmp}/tracksies-ab.XXXXXX")
		port=$(free_port)
		if [[ $bin == *tracksiesd ]]; then
			intake_config "$dir/c.conf" "$dir/t.db" "$port" 0 error
			"$bin" --config "$dir/c.conf" 2>"$dir/log" &
		else
			$bin "$port" >/dev/null 2>"$dir/log" &
		fi
		pid=$!
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
			sleep 0.1
		done
		wrk_run "$port" 1 >/dev/null
		t0=$(ticks "$pid")
		out=$(wrk_run "$port" "$secs")
		t1=$(ticks "$pid")
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -rf "$dir"
		awk -v name="$name" -v round="$round" -v hz="$hz" -v t=$((t1 - t0)) \
		    -v rps="$(sed -n 's/^rps_200=//p' <<<"$out")" \
		    -v p50="$(sed -n 's/^p50_ms=//p' <<<"$out")" \
		    -v n="$(sed -n 's/^status_200=//p' <<<"$out")" \
		    'BEGIN { printf "round %d  %-14s deliveries/s=%8.0f  p50_ms=%6.2f  cpu_us_per_delivery=%5.1f\n",
		        round, name, rps, p50, (n > 0 ? t * 1e6 / hz / n : 0) }'
	done
done
