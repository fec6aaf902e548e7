#!/usr/bin/env bash
# Admin API benchmark (issue 5): 1,000,000 customers and 5,000,000 orders
# written straight into SQLite, the real tracksiesd, wrk with 16 connections
# and the bearer token against the customer list (filter + sort + search,
# and variants) and the profile of a customer with 500 orders. Prints
# p50/p95/p99 per scenario. Targets: p95 < 50 ms list/search, < 20 ms
# profile.
#
#   bench/admin/run.sh [BUILD_DIR]        (default: build)
#   CUSTOMERS=100000 ORDERS=500000 DURATION=10 bench/admin/run.sh
#   MORE=1 bench/admin/run.sh              (also deep pages and a small tab)
#
# The generated database is kept in $WORK (default /tmp/tracksies-bench-admin)
# and reused when it exists with the same sizes; KEEP_DB=0 regenerates.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/admin/conf.sh

build=${1:-build}
daemon=$build/tracksiesd
customers=${CUSTOMERS:-1000000}
orders=${ORDERS:-5000000}
duration=${DURATION:-20}
work=${WORK:-/tmp/tracksies-bench-admin}
token=bench-admin-token-0123456789abcdef
[ -x "$daemon" ] || { echo "bench: build $daemon first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 1; }

mkdir -p "$work"
conf=$work/tracksiesd.conf
db=$work/bench-$customers-$orders.db
admin_bench_conf "$conf" "$db" "$token" warn

if [ "${KEEP_DB:-1}" = 0 ] || [ ! -s "$db" ]; then
	rm -f "$db" "$db-wal" "$db-shm"
	# --customer migrates the database, then finds nobody: exit 1 is expected.
	"$daemon" --config "$conf" --customer nobody@example.invalid 2>/dev/null || true
	python3 bench/admin/gen.py "$db" "$customers" "$orders" 500
fi
echo "bench: database $(du -h "$db" | cut -f1) customers=$customers orders=$orders"

log=$work/daemon.log
sed -i 's/^level = warn/level = info/' "$conf"
"$daemon" --config "$conf" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's/.*admin: listening .* port=\([0-9]*\).*/\1/p' "$log" | tail -1)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "bench: daemon did not start" >&2; cat "$log" >&2; exit 1; }
base=http://127.0.0.1:$port
# A database written straight into SQLite has never had its tags computed:
# the daemon recalculates everyone once at start (it says so before it
# listens). Measure the steady state after it (bounded: 10 minutes); a
# database whose tags are computed starts none.
if grep -q "everyone is recalculated" "$log"; then
	for _ in $(seq 1 6000); do
		grep -q "tags: recalculated everyone" "$log" && break
		sleep 0.1
	done
	grep -q "tags: recalculated everyone" "$log" ||
		echo "bench: warning: the start-up recalculation has not finished" >&2
fi

run() {
	local name=$1 path=$2
	# Warm the page cache and check the answer once.
	curl -sf -H "Authorization: Bearer $token" "$base$path" >/dev/null ||
		{ echo "bench: $path failed" >&2; exit 1; }
	printf '%-34s ' "$name"
	TOKEN=$token wrk -t2 -c16 -d"${duration}s" -s bench/admin/report.lua \
		"$base$path" | sed -n 's/^RESULT //p'
}

echo "bench: wrk -t2 -c16 -d${duration}s against $base"
run "list status+sort+search" "/v1/customers?status=active&sort=ltv&order=desc&q=smith"
run "list search email part" "/v1/customers?q=olivia.brown4"
run "list search phone digits" "/v1/customers?q=5551234"
run "list status+sort (vip, ltv)" "/v1/customers?status=vip&sort=ltv&order=desc"
run "list all, sort name, page 500" "/v1/customers?sort=name&page=500"
run "list rare tab (do_not_serve)" "/v1/customers?status=do_not_serve&sort=created"
run "profile (500 orders)" "/v1/customers/1"
# MORE=1: searches whose page the sort-index walk leaves to the heap
# (decision 33): deeper pages and a small tab.
if [ "${MORE:-0}" = 1 ]; then
	run "q=smith active ltv, page 8 (walk)" "/v1/customers?status=active&sort=ltv&order=desc&q=smith&page=8"
	run "q=smith active ltv, page 25 (heap)" "/v1/customers?status=active&sort=ltv&order=desc&q=smith&page=25"
	run "q=smith active ltv, page 150" "/v1/customers?status=active&sort=ltv&order=desc&q=smith&page=150"
	run "q=smith vip tab by name (heap)" "/v1/customers?q=smith&sort=name&status=vip"
	run "q=smith all tabs, default sort" "/v1/customers?q=smith"
fi
