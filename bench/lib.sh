# Shared by the benchmark scripts: build, free ports, the fake store, the
# daemon's configuration, peak RSS. Source it; it sets $root, $work, $pids.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [ "${BUILD:-1}" = 1 ]; then
  # Tests ON: the fake store is built with them (bench/intake turns them off).
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTS_BUILD_TESTS=ON -DTS_BUILD_BENCH=ON >/dev/null
  cmake --build build-bench -j"$(nproc)" --target tracksiesd fakewc >/dev/null
fi
daemon=$root/build-bench/tracksiesd
fake=$root/build-bench/fakewc
work=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/tracksies-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peak_rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_fake ORDERS [extra args...]: the store with the woo84 latency model.
start_fake() {
  local orders=$1; shift
  store_port=$(free_port); hook_port=$(free_port)
  store="http://127.0.0.1:$store_port"
  "$fake" --listen "127.0.0.1:$store_port" --consumer-key ck_bench --consumer-secret cs_bench \
    --webhook-url "http://127.0.0.1:$hook_port/webhooks/woocommerce" --webhook-secret bench-secret-0123456789 \
    --seed 5 --orders "$orders" --customers $((orders / 5 + 1)) --latency-model woo84 --workers 4 "$@" \
    >"$work/fake.out" 2>"$work/fake.log" &
  fake_pid=$!; pids+=("$fake_pid")
  for _ in $(seq 600); do grep -q listening "$work/fake.out" 2>/dev/null && return; sleep 0.1; done
  echo "fake store did not start" >&2; exit 1
}

write_config() {
  cat >"$work/tracksiesd.conf" <<CONF
[store]
url = $store
consumer_key = ck_bench
consumer_secret = cs_bench
currency = USD
max_in_flight = 4
timeout_ms = 60000
[webhook]
listen = 127.0.0.1:$hook_port
secret = bench-secret-0123456789
[admin]
listen = 127.0.0.1:$(free_port)
token = bench-admin-token-0123456789
[database]
path = $work/tracksies.db
[log]
level = warn
CONF
}

store_stats() { curl -fsS "$store/_fake/stats"; }
