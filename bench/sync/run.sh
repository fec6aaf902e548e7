#!/usr/bin/env bash
# Sync benchmark: a burst of N orders (default 10,000) placed in the fake
# store, each firing its webhooks at tracksiesd, under the latency model
# calibrated on a real WooCommerce 8.4 store (GET one order ~100 ms, page of
# 100 ~600 ms, batch update of 100 ~2.7 s, PUT ~130 ms, 4 PHP workers).
# Prints the time until every order is synced and written back, REST
# requests per order, peak RSS and orders written twice; then a trickle of
# one order a second: time from the order to its meta written.
#   bash bench/sync/run.sh [N] [TRICKLE_SECONDS]
source "$(dirname "$0")/../lib.sh"
n=${1:-10000}; trickle=${2:-30}
start_fake 0
write_config
"$daemon" --config "$work/tracksiesd.conf" 2>"$work/daemon.log" &
dpid=$!; pids+=("$dpid")
for _ in $(seq 100); do grep -q ready "$work/daemon.log" 2>/dev/null && break; sleep 0.1; done
python3 - "$store" "$work/tracksies.db" "$n" "$trickle" "$dpid" <<'PY'
import http.client, json, os, sqlite3, statistics, sys, threading, time
store, dbp, n, trickle, dpid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
host, port = store.split("//")[1].split(":")
def conn(): return http.client.HTTPConnection(host, int(port), timeout=900)
def call(c, method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse(); data = r.read()
    return r.status, (json.loads(data) if data else None)
def spec(i):
    return {"billing": {"first_name": "B%d" % (i % 2000), "email": "buyer%d@example.test" % (i % 2000)},
            "line_items": [{"product_id": 12 + i % 2, "quantity": 1 + i % 3}], "set_paid": True}
def rss(): return int([l for l in open("/proc/%s/status" % dpid) if l.startswith("VmHWM")][0].split()[1])
def cpu_s():
    f = open("/proc/%s/stat" % dpid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def pending(db):
    return db.execute("SELECT (SELECT count(*) FROM events WHERE state='pending') + "
                      "(SELECT count(*) FROM order_sync WHERE writeback IS NOT NULL)").fetchone()[0]
def synced(db): return db.execute("SELECT count(*) FROM order_sync WHERE state='synced'").fetchone()[0]

# While the burst runs, sample what each webhook delivery cost the store's
# sender (its last 200 deliveries, every second): the sender is sequential,
# so this is what paces the announcements.
delivery_ms = {}; sampling = True
def sample():
    c = conn()
    while sampling:
        st, recent = call(c, "GET", "/_fake/webhooks/deliveries")
        for d in recent or []:
            delivery_ms[(d["webhook_id"], d["arg"], d["delivery_id"], d["topic"])] = d["ms"]
        time.sleep(1)
sampler = threading.Thread(target=sample); sampler.start()

# Burst: four clients place the orders as fast as the store takes them.
t0 = time.time(); ids = []; lock = threading.Lock()
def place(k):
    c = conn()
    for i in range(k, n, 4):
        st, o = call(c, "POST", "/_fake/orders", spec(i))
        with lock: ids.append(o["id"])
ths = [threading.Thread(target=place, args=(k,)) for k in range(4)]
[t.start() for t in ths]; [t.join() for t in ths]
placed = time.time() - t0
db = sqlite3.connect(dbp, timeout=30)
c = conn()
while True:
    call(c, "POST", "/_fake/webhooks/flush", {"timeout_ms": 600000})
    if synced(db) >= n and pending(db) == 0:
        break
    time.sleep(0.2)
elapsed = time.time() - t0
sampling = False; sampler.join()
st, stats = call(c, "GET", "/_fake/stats")
req = stats["requests"]
rest = sum(v for cls in ("get_order", "list_orders", "put_order", "batch") for k, v in req.get(cls, {}).items() if k.isdigit())
by = {cls: sum(v for k, v in req.get(cls, {}).items() if k.isdigit()) for cls in ("get_order", "list_orders", "put_order", "batch")}
floor = (n / 100) * (0.05 + 0.55) + (n / 100) * 2.7
floor /= 4
twice = len(stats["meta_written_twice"])
print("burst: orders=%d placed_in=%.1fs synced_and_written_in=%.1fs floor=%.1fs ratio=%.2f" % (n, placed, elapsed, floor, elapsed / floor))
print("burst: rest_requests=%d per_order=%.4f %s webhooks_sent=%d" % (rest, rest / n, by,
      sum(stats["webhooks"]["topics"]["sent"].values())))
print("burst: peak_rss=%.1fMiB orders_written_twice=%d daemon_cpu=%.1fs" % (rss() / 1024.0, twice, cpu_s()))
ms = sorted(delivery_ms.values())
if ms:
    print("burst: webhook delivery as the store's sender saw it (%d sampled): mean=%.2fms p50=%dms p95=%dms p99=%dms max=%dms" % (
        len(ms), sum(ms) / len(ms), ms[len(ms) // 2], ms[int(len(ms) * 0.95)], ms[int(len(ms) * 0.99)], ms[-1]))
print("target: %s within 1.25x of the floor (%.2f)" % ("met   " if elapsed <= 1.25 * floor else "MISSED", elapsed / floor))
print("target: %s <= 0.03 REST requests per order (%.4f)" % ("met   " if rest / n <= 0.03 else "MISSED", rest / n))
print("target: %s no order written twice (%d)" % ("met   " if twice == 0 else "MISSED", twice))

# Trickle: one order a second; time until its _tracksies_synced is in the store.
lat = []
for i in range(trickle):
    t = time.time()
    st, o = call(c, "POST", "/_fake/orders", spec(100000 + i))
    oid = o["id"]
    while True:
        st, cur = call(c, "GET", "/_fake/orders/%d" % oid)
        if any(m["key"] == "_tracksies_synced" for m in cur["meta_data"]):
            break
        time.sleep(0.02)
    lat.append(time.time() - t)
    time.sleep(max(0, 1 - (time.time() - t)))
if lat:
    own = 0.100 + 0.130   # the store's own time: GET the order, PUT its meta
    p50 = statistics.median(lat)
    print("trickle: orders=%d p50=%.3fs p95=%.3fs store_own_time=%.3fs p50_over_store=%.3fs" % (
        len(lat), p50, sorted(lat)[int(len(lat) * 0.95) - 1], own, p50 - own))
    print("target: %s p50 within 0.5 s of the store's own time" % ("met   " if p50 - own <= 0.5 else "MISSED"))
PY
