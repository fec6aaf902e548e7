#!/bin/sh
# Intelligence benchmark: 1,000,000 customers with 5,000,000 orders
# generated straight into SQLite, then a full recalculation (metrics, RFM,
# overdue and P(alive), purchase models, tags, statuses) - first run (every
# tag new) and the next day's run (few changes). Target: <= 20 s each on
# the 2-core machine. Prints wall time and peak RSS.
#
#   bench/intelligence/run.sh [CUSTOMERS [ORDERS]]
#
# Environment: BUILD (build dir, default build-bench-intel), WORK (where the
# database goes, default $BUILD/intel-bench), KEEP=1 reuses a generated
# database (copied fresh for each run).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
customers=${1:-1000000}
orders=${2:-5000000}
build=${BUILD:-$root/build-bench-intel}
work=${WORK:-$build/intel-bench}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target tracksies_core >/dev/null
libs=$(pkg-config --libs libmicrohttpd libcurl libcrypto sqlite3 jansson)
for prog in gen recalc; do
	cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	    -I"$root/include" "$root/bench/intelligence/$prog.c" \
	    "$build/libtracksies_core.a" $libs -lm -lpthread -o "$build/intel-$prog"
done

mkdir -p "$work"
seed="$work/seed-$customers-$orders.db"
if [ ! -f "$seed" ] || [ "${KEEP:-0}" != 1 ]; then
	rm -f "$seed" "$seed-wal" "$seed-shm"
	"$build/intel-gen" "$seed" "$customers" "$orders"
fi
db="$work/run.db"
rm -f "$db" "$db-wal" "$db-shm"
cp "$seed" "$db"

now=1704067200		# 2024-01-01, the day after the history ends
echo "first run (every tag new):"
"$build/intel-recalc" "$db" $now --status-rules
echo "next day (steady state):"
"$build/intel-recalc" "$db" $((now + 86400)) --status-rules
ls -l "$db" | awk '{ printf "database: %.0f MiB\n", $5 / 1048576 }'
