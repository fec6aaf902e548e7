#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The work one admin request costs, for each scenario of run.sh, against the
# database run.sh generated (this script never generates one):
#
#   bench/admin/work.sh [BUILD_DIR]              daemon CPU ms per request
#   MODE=callgrind bench/admin/work.sh [BUILD]   instructions per request
#
# cpu: wrk -t1 -c1 for DURATION s (default 4) per scenario; the daemon's
# CPU time (utime + stime from /proc) over the requests served, and wrk's
# p50. On a shared machine this still moves with the load; callgrind's
# instruction count (only inside the request handler, N requests after two
# warm-ups, default 5) does not, but misses cache misses and syscalls.
# KEEP=DIR keeps the callgrind profiles there (one per scenario, for
# callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/admin/conf.sh

build=${1:-build}
daemon=$build/tracksiesd
customers=${CUSTOMERS:-1000000}
orders=${ORDERS:-5000000}
work=${WORK:-/tmp/tracksies-bench-admin}
mode=${MODE:-cpu}
token=bench-admin-token-0123456789abcdef
db=$work/bench-$customers-$orders.db
[ -x "$daemon" ] || { echo "work: build $daemon first" >&2; exit 1; }
[ -s "$db" ] || { echo "work: no $db: run bench/admin/run.sh once" >&2; exit 1; }

tmp=$(mktemp -d)
conf=$tmp/tracksiesd.conf
log=$tmp/daemon.log
admin_bench_conf "$conf" "$db" "$token" info

pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$mode" = callgrind ]; then
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect=handle \
		--callgrind-out-file="$tmp/cg.out" "$daemon" --config "$conf" 2>"$log" &
else
	"$daemon" --config "$conf" 2>"$log" &
fi
pid=$!
port=
for _ in $(seq 1 600); do
	port=$(sed -n 's/.*admin: listening .* port=\([0-9]*\).*/\1/p' "$log" | tail -1)
	[ -n "$port" ] && break
	sleep 0.2
done
[ -n "$port" ] || { echo "work: daemon did not start" >&2; cat "$log" >&2; exit 1; }
base=http://127.0.0.1:$port
get() { curl -sf -o /dev/null -H "Authorization: Bearer $token" "$base$1"; }

names=(search-smith email-part phone-digits vip-ltv name-page-500 dns-tab profile)
paths=("/v1/customers?status=active&sort=ltv&order=desc&q=smith"
	"/v1/customers?q=olivia.brown4" "/v1/customers?q=5551234"
	"/v1/customers?status=vip&sort=ltv&order=desc"
	"/v1/customers?sort=name&page=500"
	"/v1/customers?status=do_not_serve&sort=created" "/v1/customers/1")
echo "work: mode=$mode load $(cut -d' ' -f1-3 /proc/loadavg)"
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for k in "${!paths[@]}"; do
	p=${paths[$k]}
	get "$p" && get "$p"
	# Warm: the first pass maps the pages the scenario touches.
	[ "$mode" = callgrind ] || TOKEN=$token wrk -t1 -c1 -d1s \
		-s bench/admin/report.lua "$base$p" >/dev/null
	if [ "$mode" = callgrind ]; then
		n=${N:-5}
		callgrind_control -z "$pid" >/dev/null 2>&1
		for _ in $(seq 1 "$n"); do get "$p"; done
		callgrind_control -d "${names[$k]}" "$pid" >/dev/null 2>&1
		f=$(grep -l "^desc: Trigger: dump ${names[$k]}\$" "$tmp"/cg.out* | head -1)
		ir=$(sed -n 's/^\(summary\|totals\): \([0-9]*\).*/\2/p' "$f" | head -1)
		printf '%-14s %11d instructions/request\n' "${names[$k]}" $((ir / n))
		[ -z "${KEEP:-}" ] || { mkdir -p "$KEEP" && cp "$f" "$KEEP/${names[$k]}.cg"; }
	else
		c0=$(cpu)
		out=$(TOKEN=$token wrk -t1 -c1 -d"${DURATION:-4}s" -s bench/admin/report.lua \
			"$base$p" | sed -n 's/^RESULT //p')
		c1=$(cpu)
		n=$(sed 's/requests=\([0-9]*\).*/\1/' <<<"$out")
		p50=$(sed 's/.*p50=\([0-9.]*\)ms.*/\1/' <<<"$out")
		awk -v name="${names[$k]}" -v c="$((c1 - c0))" -v t="$tck" -v n="$n" \
			-v p50="$p50" 'BEGIN { printf "%-14s cpu %.3f ms/request  p50 %s ms  (%d requests)\n",
			name, c * 1000 / t / n, p50, n }'
	fi
done
echo "work: load after $(cut -d' ' -f1-3 /proc/loadavg)"
