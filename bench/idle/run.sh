#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Idle footprint: the daemon run as the README demo runs it (the fake store
# from tests/fakewc with 200 past orders for 40 customers, the demo's
# configuration), first idle right after start, then after the demo's work
# (tracksiesd --import of the history, a few orders placed in the store whose
# webhooks are synced and written back) and IDLE_SECONDS of nothing. Prints
# RSS (total, anonymous, file-backed), threads, the CPU used while
# idle, and where the resident memory is (from /proc/PID/smaps). "file" is
# pages of the binary and its shared libraries, shared with every other
# process that maps them; "anon" is the daemon's own. First, the floor: a
# process with the same libraries that does nothing else (floor.c), only
# loaded, then initialised as every daemon start does.
#
#   bash bench/idle/run.sh
#
# env: BUILD=0          skip the Release build into build-bench/
#      IDLE_SECONDS=60  the measured idle period
#      SETTLE=10        seconds after the work before the idle period starts
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
: "${IDLE_SECONDS:=60}"
: "${SETTLE:=10}"
if [ "${BUILD:-1}" = 1 ]; then
  cmake --build build-bench -j2 --target tracksies_bench_floor >/dev/null
fi
floor=$root/build-bench/tracksies_bench_floor

store_port=$(free_port); hook_port=$(free_port); admin_port=$(free_port)
store="http://127.0.0.1:$store_port"
secret=bench-webhook-secret-0123456789
"$fake" --listen "127.0.0.1:$store_port" --consumer-key ck_bench --consumer-secret cs_bench \
  --webhook-url "http://127.0.0.1:$hook_port/webhooks/woocommerce" --webhook-secret "$secret" \
  --seed 7 --orders 200 --customers 40 >"$work/fake.out" 2>"$work/fake.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done

# The demo's configuration (scripts/demo.sh), secrets aside.
cat >"$work/tracksiesd.conf" <<CONF
[store]
url = $store
consumer_key = ck_bench
consumer_secret = cs_bench
max_in_flight = 4
[webhook]
listen = 127.0.0.1:$hook_port
secret = $secret
[admin]
listen = 127.0.0.1:$admin_port
token = bench-admin-token-0123456789
[database]
path = $work/tracksies.db
[log]
level = info
CONF

"$daemon" --config "$work/tracksiesd.conf" 2>"$work/daemon.log" &
dpid=$!; pids+=("$dpid")
for _ in $(seq 100); do grep -q ready "$work/daemon.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/daemon.log" || { echo "idle: the daemon did not start" >&2; cat "$work/daemon.log" >&2; exit 1; }

kb() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$dpid/stat"; }

# snapshot LABEL: one line of totals, then the mappings by kind.
snapshot() {
  local label=$1
  cp "/proc/$dpid/status" "$work/status"
  printf '%-30s RSS %5.1f MiB = anon %4.1f + file %4.1f (+ shmem %.1f); threads %s\n' "$label" \
    "$(awk -v v="$(kb VmRSS "$work/status")" 'BEGIN { print v / 1024 }')" \
    "$(awk -v v="$(kb RssAnon "$work/status")" 'BEGIN { print v / 1024 }')" \
    "$(awk -v v="$(kb RssFile "$work/status")" 'BEGIN { print v / 1024 }')" \
    "$(awk -v v="$(kb RssShmem "$work/status")" 'BEGIN { print v / 1024 }')" \
    "$(kb Threads "$work/status")"
  python3 - "$dpid" <<'PY'
import collections, re, sys
pid = sys.argv[1]
maps, cur = [], None
for line in open("/proc/%s/smaps" % pid):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        f = line.split()
        a, b = (int(x, 16) for x in f[0].split("-"))
        cur = {"start": a, "size": (b - a) // 1024, "perm": f[1], "name": f[5] if len(f) > 5 else ""}
        maps.append(cur)
    elif cur is not None:
        k, _, v = line.partition(":")
        v = v.split()
        if v and v[0].isdigit():
            cur[k] = int(v[0])
kinds = collections.Counter(); count = collections.Counter()
for m in maps:
    n = m["name"]
    if n.startswith("/"):
        # Pages of a file mapping written to (relocations, .data) are
        # anonymous copies: counted apart, as /proc/PID/status does.
        if m.get("Anonymous", 0):
            kinds["anon: written library pages (relocations, .data)"] += m["Anonymous"]
            count["anon: written library pages (relocations, .data)"] += 1
            m["Rss"] = m.get("Rss", 0) - m["Anonymous"]
        kind = "file: " + n.rsplit("/", 1)[1].split(".so")[0] + (".so" if ".so" in n else "")
    elif n == "[heap]":
        kind = "anon: main malloc arena ([heap])"
    elif n.startswith("["):
        kind = "anon: " + n
    elif m["start"] % (64 << 20) == 0 and m["perm"] == "rw-p":
        kind = "anon: thread malloc arenas"
    elif m["perm"] == "rw-p" and any(p["start"] + p["size"] * 1024 == m["start"]
                                     and p["perm"] == "---p" and p["size"] == 4 for p in maps):
        kind = "anon: thread stacks (behind a guard page)"
    else:
        kind = "anon: other (mmap'd blocks, TLS, relro)"
    kinds[kind] += m.get("Rss", 0)
    if m.get("Rss", 0):
        count[kind] += 1
files = [(k, v) for k, v in kinds.most_common() if k.startswith("file: ")]
rest = files[6:]
for kind, rss in [(k, v) for k, v in kinds.most_common() if not k.startswith("file: ") and v >= 64] + files[:6]:
    print("    %6.2f MiB  %-44s %3d mapping(s)" % (rss / 1024, kind, count[kind]))
print("    %6.2f MiB  %-44s" % (sum(v for _, v in rest) / 1024, "file: %d other libraries" % len(rest)))
PY
}

echo "=== tracksiesd idle footprint (Release, demo configuration, fake store) ==="

# The floor: the same libraries in a process that does nothing else.
for mode in loaded initialised; do
  "$floor" "$mode" >"$work/floor.out" &
  fpid=$!; pids+=("$fpid")
  for _ in $(seq 50); do grep -q ready "$work/floor.out" 2>/dev/null && break; sleep 0.1; done
  sleep 1
  printf '%-30s RSS %5.1f MiB = anon %4.1f + file %4.1f\n' "floor, libraries $mode:" \
    "$(awk '$1 == "VmRSS:" { print $2 / 1024 }' "/proc/$fpid/status")" \
    "$(awk '$1 == "RssAnon:" { print $2 / 1024 }' "/proc/$fpid/status")" \
    "$(awk '$1 == "RssFile:" { print $2 / 1024 }' "/proc/$fpid/status")"
  kill "$fpid"; wait "$fpid" 2>/dev/null || true
done
sleep "$SETTLE"
snapshot "fresh start, idle:"

# The demo's work: import the history, place orders, wait until synced.
"$daemon" --config "$work/tracksiesd.conf" --import >"$work/import.out" 2>&1 || true
python3 - "$store" "$work/tracksies.db" <<'PY'
import http.client, json, sqlite3, sys, time
store, dbp = sys.argv[1], sys.argv[2]
host, port = store.split("//")[1].split(":")
c = http.client.HTTPConnection(host, int(port), timeout=60)
def call(method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse(); r.read(); return r.status
for i in range(5):
    call("POST", "/_fake/orders", {"billing": {"first_name": "Ada", "email": "ada%d@example.test" % (i % 2)},
                                   "line_items": [{"product_id": 12, "quantity": 1 + i}], "set_paid": True})
db = sqlite3.connect(dbp, timeout=30)
for _ in range(2):
    call("POST", "/_fake/webhooks/flush", {"timeout_ms": 30000})
    for _ in range(300):
        left = db.execute("SELECT (SELECT count(*) FROM events WHERE state='pending') + "
                          "(SELECT count(*) FROM order_sync WHERE writeback IS NOT NULL)").fetchone()[0]
        if left == 0:
            break
        time.sleep(0.1)
PY
echo "work done: $(grep -c 'synced order' "$work/daemon.log" || true) orders synced by the daemon, import: $(grep -m1 -o 'orders synced *[0-9]*' "$work/import.out" | tr -s ' ' || echo '?')"
sleep "$SETTLE"
t0=$(ticks)
sleep "$IDLE_SECONDS"
t1=$(ticks)
snapshot "after the demo's work:"
hz=$(getconf CLK_TCK)
awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$IDLE_SECONDS" 'BEGIN {
  printf "CPU while idle: %.2f s in %d s (%.2f %%)\n", t / hz, s, 100 * t / hz / s }'
rss_kb=$(kb VmRSS "$work/status")
if [ "$rss_kb" -lt 10240 ]; then
  echo "target: met    idle RSS < 10 MB ($((rss_kb / 1024)).$(( (rss_kb % 1024) * 10 / 1024 )) MiB)"
else
  echo "target: MISSED idle RSS < 10 MB ($((rss_kb / 1024)).$(( (rss_kb % 1024) * 10 / 1024 )) MiB)"
fi
