#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Intake benchmark: how many signed WooCommerce deliveries per second
# tracksiesd verifies, stores and acknowledges (a commit survives kill -9; see
# decision 7 for a power cut), compared
# with a bare libmicrohttpd responder of the same threading (the transport
# limit); then checks that every 200 is a row, including across a kill -9.
#
# Prints figures and exits 0 when it ran; a missed target is printed as
# "target: MISSED ...", not an exit status. Everything binds 127.0.0.1.
#
# env: BUILD=0         skip the Release build into build-bench/
#      DURATION=15     seconds of each measured wrk run
#      WARMUP=3        seconds of warm-up before each measured run (0: none)
#      KILL_DURATION=5 seconds of wrk in the kill -9 round
#      THREADS=2 CONNECTIONS=64   wrk -t / -c
#      BENCH_TMP=DIR   where the temp dir (and so the database) goes
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

: "${BUILD:=1}"
: "${DURATION:=15}"
: "${WARMUP:=3}"
: "${KILL_DURATION:=5}"
: "${THREADS:=2}"
: "${CONNECTIONS:=64}"

# shellcheck source=bench/intake/conf.sh
. "$here/conf.sh"
SECRET=$INTAKE_SECRET
BODY=$INTAKE_BODY
SCRIPT="$here/post.lua"
DAEMON="$root/build-bench/tracksiesd"
BARE="$root/build-bench/tracksies_bench_bare"

for tool in wrk sqlite3 openssl python3 cmake curl; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/tracksies-bench.XXXXXX")
pids=()

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p" 2>/dev/null || true
			for _ in $(seq 1 50); do
				kill -0 "$p" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# key=value lines written by post.lua's done()
get() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# awk arithmetic on strings, printed with a format
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Bounded wait until 127.0.0.1:$2 accepts, or $1 died: 10 s at most.
wait_listening() {
	local pid=$1 port=$2
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Bounded wait for a process we started to exit after SIGTERM: 15 s.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "run.sh: pid $pid ignored SIGTERM for 15 s, killing" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# utime+stime of a live process, in seconds
cpu_seconds() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

write_config() {
	intake_config "$1/tracksiesd.conf" "$1/tracksies.db" "$2" "$3" warn
}

# start_daemon DIR: sets daemon_pid and daemon_port. Order sync is paused
# (woo.order_sync off, through the admin API) so that the run measures the
# intake: with the store down and every delivery for the same order, the
# worker's retry would rewrite all of that order's pending rows at each
# backoff step, holding the write lock for ~200 ms (docs/performance.md).
start_daemon() {
	local dir=$1 attempt admin_port
	mkdir -p "$dir"
	for attempt in 1 2 3; do
		daemon_port=$(free_port)
		admin_port=$(free_port)
		write_config "$dir" "$daemon_port" "$admin_port"
		"$DAEMON" --config "$dir/tracksiesd.conf" 2>>"$dir/daemon.log" &
		daemon_pid=$!
		pids+=("$daemon_pid")
		if wait_listening "$daemon_pid" "$daemon_port" &&
		    curl -sf -X PUT -H "Authorization: Bearer $INTAKE_TOKEN" \
		    -H 'Content-Type: application/json' \
		    -d '{"features":{"woo.order_sync":false}}' \
		    "http://127.0.0.1:$admin_port/v1/features" >/dev/null; then
			sleep 1.2	# the worker reads the flags once a second
			return 0
		fi
		echo "run.sh: daemon did not come up (attempt $attempt):" >&2
		tail -n 5 "$dir/daemon.log" >&2 || true
		stop_pid "$daemon_pid"
	done
	exit 1
}

# run_wrk PORT SECONDS OUT
run_wrk() {
	BENCH_BODY="$BODY" BENCH_SIG="$sig" wrk -t"$THREADS" -c"$CONNECTIONS" \
	    -d"$2"s --latency -s "$SCRIPT" \
	    "http://127.0.0.1:$1/webhooks/woocommerce" >"$3" 2>&1 || true
}

count_rows() {
	sqlite3 "$1" 'SELECT count(*) FROM events;'
}

# --- build -----------------------------------------------------------------
if [ "$BUILD" != 0 ]; then
	log "building Release into build-bench/"
	if ! { cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release \
	    -DTS_BUILD_TESTS=OFF -DTS_BUILD_BENCH=ON &&
	    cmake --build build-bench -j2; } >"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log" >&2
		exit 1
	fi
fi
if [ ! -x "$DAEMON" ] || [ ! -x "$BARE" ]; then
	echo "run.sh: build-bench/ has no binaries" >&2
	exit 1
fi

sig=$(openssl dgst -sha256 -hmac "$SECRET" -binary <"$BODY" | openssl base64 -A)
body_bytes=$(wc -c <"$BODY")
fs=$(df -PT "$tmp" | awk 'NR == 2 { print $2 }')

# --- 1. the daemon -----------------------------------------------------------
log "daemon: ${WARMUP}s warm-up + ${DURATION}s, wrk -t$THREADS -c$CONNECTIONS"
start_daemon "$tmp/d"
if [ "$WARMUP" != 0 ]; then
	run_wrk "$daemon_port" "$WARMUP" "$tmp/d/warm.out"
else
	echo "status_200=0" >"$tmp/d/warm.out"
fi
cpu0=$(cpu_seconds "$daemon_pid")
run_wrk "$daemon_port" "$DURATION" "$tmp/d/wrk.out"
cpu1=$(cpu_seconds "$daemon_pid")
rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$daemon_pid/status")
stop_pid "$daemon_pid"
d_rows=$(count_rows "$tmp/d/tracksies.db")
d_acked=$(( $(get "$tmp/d/warm.out" status_200) + $(get "$tmp/d/wrk.out" status_200) ))
d_logs=$(wc -l <"$tmp/d/daemon.log")
d_cpu=$(calc "%.2f" "$cpu1 - $cpu0")

# --- 2. the bare responder, plain and answering after a hand-off -------------
# run_bare DIR [--handoff]: sets bare_rss_kb and bare_cpu; wrk output in DIR
run_bare() {
	local dir=$1 pid port c0 c1
	shift
	mkdir -p "$dir"
	"$BARE" "$@" 0 >"$dir/port" 2>"$dir/bare.log" &
	pid=$!
	pids+=("$pid")
	port=
	for _ in $(seq 1 100); do
		port=$(get "$dir/port" port)
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "run.sh: bare did not start" >&2; cat "$dir/bare.log" >&2; exit 1; }
	if [ "$WARMUP" != 0 ]; then
		run_wrk "$port" "$WARMUP" "$dir/warm.out"
	fi
	c0=$(cpu_seconds "$pid")
	run_wrk "$port" "$DURATION" "$dir/wrk.out"
	c1=$(cpu_seconds "$pid")
	bare_rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	stop_pid "$pid"
	bare_cpu=$(calc "%.2f" "$c1 - $c0")
}
log "bare: ${WARMUP}s warm-up + ${DURATION}s"
run_bare "$tmp/b"
b_rss_kb=$bare_rss_kb b_cpu=$bare_cpu
log "bare --handoff: ${WARMUP}s warm-up + ${DURATION}s"
run_bare "$tmp/h" --handoff
h_rss_kb=$bare_rss_kb h_cpu=$bare_cpu

# --- 3. kill -9 durability ---------------------------------------------------
kill_ms=$(( 1000 + RANDOM % 3001 ))
log "kill -9: ${KILL_DURATION}s of wrk, SIGKILL at $(calc "%.3f" "$kill_ms / 1000")s"
start_daemon "$tmp/k"
run_wrk "$daemon_port" "$KILL_DURATION" "$tmp/k/wrk.out" &
wrk_pid=$!
pids+=("$wrk_pid")
sleep "$(calc "%.3f" "$kill_ms / 1000")"
kill -KILL "$daemon_pid" 2>/dev/null || true
wait "$daemon_pid" 2>/dev/null || true
wait "$wrk_pid" || true
k_acked=$(get "$tmp/k/wrk.out" status_200)
k_rows=$(count_rows "$tmp/k/tracksies.db")
k_errs=$(( $(get "$tmp/k/wrk.out" errors_connect) + $(get "$tmp/k/wrk.out" errors_read) + $(get "$tmp/k/wrk.out" errors_write) ))
if [ "$k_rows" -ge "$k_acked" ]; then
	kill9="kill9: acked=$k_acked stored=$k_rows lost=0 (killed at ${kill_ms}ms, socket errors after: $k_errs)"
else
	kill9="kill9: acked=$k_acked stored=$k_rows LOST=$(( k_acked - k_rows )) !!! ACKNOWLEDGED DELIVERIES LOST !!!"
fi

# --- summary -----------------------------------------------------------------
d_rps=$(get "$tmp/d/wrk.out" rps_200)
b_rps=$(get "$tmp/b/wrk.out" rps_200)
ratio=$(calc "%.3f" "$d_rps / $b_rps")
h_rps=$(get "$tmp/h/wrk.out" rps_200)
h_ratio=$(calc "%.3f" "$h_rps / $b_rps")
h_other=$(get "$tmp/h/wrk.out" status_other)
h_errs=$(( $(get "$tmp/h/wrk.out" errors_connect) + $(get "$tmp/h/wrk.out" errors_read) + $(get "$tmp/h/wrk.out" errors_write) + $(get "$tmp/h/wrk.out" errors_timeout) ))
d_other=$(get "$tmp/d/wrk.out" status_other)
b_other=$(get "$tmp/b/wrk.out" status_other)
d_errs=$(( $(get "$tmp/d/wrk.out" errors_connect) + $(get "$tmp/d/wrk.out" errors_read) + $(get "$tmp/d/wrk.out" errors_write) + $(get "$tmp/d/wrk.out" errors_timeout) ))
b_errs=$(( $(get "$tmp/b/wrk.out" errors_connect) + $(get "$tmp/b/wrk.out" errors_read) + $(get "$tmp/b/wrk.out" errors_write) + $(get "$tmp/b/wrk.out" errors_timeout) ))
if [ "$d_rows" -ge "$d_acked" ]; then
	stored="stored: acked=$d_acked rows=$d_rows ok (extra rows, cut at the end: $(( d_rows - d_acked )))"
else
	stored="stored: acked=$d_acked rows=$d_rows MISSING=$(( d_acked - d_rows )) !!!"
fi

echo
echo "=== tracksiesd intake benchmark ==="
echo "host: $(nproc) cores, $(uname -r), db on $fs; payload ${body_bytes} B order.updated, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (+${WARMUP}s warm-up)"
printf 'daemon: deliveries/s=%s  p50_ms=%s  p99_ms=%s  max_ms=%s  non200=%s  sock_errors=%s  cpu_s=%s  peak_rss_kb=%s\n' \
    "$d_rps" "$(get "$tmp/d/wrk.out" p50_ms)" "$(get "$tmp/d/wrk.out" p99_ms)" \
    "$(get "$tmp/d/wrk.out" max_ms)" "$d_other" "$d_errs" "$d_cpu" "$rss_kb"
printf 'bare:   deliveries/s=%s  p50_ms=%s  p99_ms=%s  max_ms=%s  non200=%s  sock_errors=%s  cpu_s=%s  peak_rss_kb=%s\n' \
    "$b_rps" "$(get "$tmp/b/wrk.out" p50_ms)" "$(get "$tmp/b/wrk.out" p99_ms)" \
    "$(get "$tmp/b/wrk.out" max_ms)" "$b_other" "$b_errs" "$b_cpu" "$b_rss_kb"
printf 'handoff: deliveries/s=%s  p50_ms=%s  p99_ms=%s  max_ms=%s  non200=%s  sock_errors=%s  cpu_s=%s  peak_rss_kb=%s\n' \
    "$h_rps" "$(get "$tmp/h/wrk.out" p50_ms)" "$(get "$tmp/h/wrk.out" p99_ms)" \
    "$(get "$tmp/h/wrk.out" max_ms)" "$h_other" "$h_errs" "$h_cpu" "$h_rss_kb"
echo "ratio daemon/bare: $ratio"
echo "ratio handoff/bare: $h_ratio (answering after a hand-off to another thread, nothing verified or stored)"
echo "peak RSS daemon: $(calc "%.1f" "$rss_kb / 1024") MiB (VmHWM)"
echo "$stored"
echo "$kill9"
if [ "$d_logs" -gt 0 ]; then
	echo "daemon log: $d_logs line(s) at level warn; last:"
	tail -n 3 "$tmp/d/daemon.log" | sed 's/^/  /'
fi
if awk "BEGIN { exit !($ratio >= 0.5) }"; then
	echo "target: met    ratio >= 0.5 ($ratio)"
else
	echo "target: MISSED ratio >= 0.5 ($ratio)"
fi
if awk "BEGIN { exit !($d_rps >= 5000) }"; then
	echo "target: met    >= 5000 deliveries/s ($d_rps)"
else
	echo "target: MISSED >= 5000 deliveries/s ($d_rps)"
fi
exit 0
