#!/usr/bin/env bash
# README command 1: install dependencies, build, and run tracksiesd end to
# end against the built-in fake WooCommerce store (tests/fakewc): the store
# is seeded with sample history, the daemon starts, orders placed in the
# store arrive as signed webhooks, get synced and their meta written back,
# and a customer profile is printed. Everything binds 127.0.0.1 and stops by
# itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/deps.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building tracksiesd and the fake store"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target tracksiesd fakewc >/dev/null
daemon=$root/build/tracksiesd
fake=$root/build/fakewc

work=$(mktemp -d "${TMPDIR:-/tmp}/tracksies-demo.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
store_port=$(free_port); hook_port=$(free_port); admin_port=$(free_port)
secret="demo-webhook-secret-$(openssl rand -hex 8)"
ck="ck_$(openssl rand -hex 16)"; cs="cs_$(openssl rand -hex 16)"
store="http://127.0.0.1:$store_port"

say "Starting the fake WooCommerce 8.4 store on $store (40 customers, 200 past orders)"
"$fake" --listen "127.0.0.1:$store_port" --consumer-key "$ck" --consumer-secret "$cs" \
  --webhook-url "http://127.0.0.1:$hook_port/webhooks/woocommerce" --webhook-secret "$secret" \
  --seed 7 --orders 200 --customers 40 >"$work/fakewc.out" 2>"$work/fakewc.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening" "$work/fakewc.out" 2>/dev/null && break; sleep 0.1; done

cat >"$work/tracksiesd.conf" <<CONF
# The demo configuration: see tracksiesd.conf.example for every key.
[store]
url = $store
consumer_key = $ck
consumer_secret = $cs
max_in_flight = 4
[webhook]
listen = 127.0.0.1:$hook_port
secret = $secret
[admin]
listen = 127.0.0.1:$admin_port
token = demo-admin-token-$(openssl rand -hex 8)
[database]
path = $work/tracksies.db
[log]
level = info
CONF

say "Starting tracksiesd (webhooks on 127.0.0.1:$hook_port)"
"$daemon" --config "$work/tracksiesd.conf" 2>"$work/tracksiesd.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "ready" "$work/tracksiesd.log" 2>/dev/null && break; sleep 0.1; done
grep -E "listening|ready" "$work/tracksiesd.log" | sed 's/^/   /'

if "$daemon" --help | grep -q -- "--import"; then
  say "Importing the store's history (tracksiesd --import)"
  "$daemon" --config "$work/tracksiesd.conf" --import 2>&1 | sed 's/^/   /'
fi

order() {
  curl -fsS -X POST "$store/_fake/orders" -d "$1" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["id"], o["status"], o["total"], o["billing"]["email"])'
}

say "Placing orders in the store: each fires signed webhooks at tracksiesd"
email="ada.lovelace@example.test"
order '{"billing":{"first_name":"Ada","last_name":"Lovelace","email":"ada.lovelace@example.test","phone":"+44 20 7946 0001","city":"London","country":"GB"},"line_items":[{"product_id":12,"quantity":2}],"set_paid":true}' | sed 's/^/   order /'
order '{"billing":{"first_name":"Ada","last_name":"Lovelace","email":"  Ada.Lovelace@Example.TEST ","city":"London","country":"GB"},"line_items":[{"product_id":13,"quantity":1}],"set_paid":true,"status":"completed"}' | sed 's/^/   order /'
third=$(order '{"billing":{"first_name":"Ada","last_name":"Lovelace","email":"ada.lovelace@example.test","city":"London","country":"GB"},"line_items":[{"product_id":12,"quantity":4}],"set_paid":true}')
echo "   order $third"
third_id=${third%% *}
curl -fsS -X POST "$store/_fake/orders/$third_id/refunds" -d '{"amount":"12.50","reason":"one mug arrived broken"}' >/dev/null
echo "   refund 12.50 on order $third_id (LTV stays gross; the refund is shown beside it)"

say "Waiting until every webhook is delivered, synced and its meta written back"
for _ in $(seq 2); do
  curl -fsS -X POST "$store/_fake/webhooks/flush" -d '{"timeout_ms":30000}' >/dev/null
  for _ in $(seq 300); do
    left=$(sqlite3 "$work/tracksies.db" "SELECT (SELECT count(*) FROM events WHERE state='pending') + (SELECT count(*) FROM order_sync WHERE writeback IS NOT NULL)" 2>/dev/null || echo 1)
    [ "$left" = 0 ] && break
    sleep 0.1
  done
done
grep -E "queued|synced order" "$work/tracksiesd.log" | tail -n 8 | sed 's/^/   /'

say "The order's meta in WooCommerce"
curl -fsS "$store/_fake/orders/$third_id" | python3 -c '
import json,sys
o=json.load(sys.stdin)
for m in o["meta_data"]:
    if m["key"].startswith("_tracksies_"): print("   %-24s %s" % (m["key"], m["value"]))'

say "Customer profile: tracksiesd --customer $email"
"$daemon" --config "$work/tracksiesd.conf" --customer "$email" >"$work/profile.json"
python3 - "$work/profile.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print("   %s %s <%s>  status: %s" % (p["first_name"], p["last_name"], p["email"], p["status"]))
print("   lifetime value : %s %s" % (p["ltv"], p["currency"] or ""))
print("   orders         : %d   average order value: %s" % (p["order_count"], p["aov"]))
print("   refunded       : %s in %d refund(s)" % (p["refunded_total"], p["refund_count"]))
print("   first order    : %s" % p["first_order_at"])
print("   last order     : %s" % p["last_order_at"])
print("   tags           : %s" % (", ".join(t.get("label", t.get("id", "")) for t in p["tags"]) or "none yet"))
for o in p["orders"]:
    print("   - order #%s %-10s %8s  %d item(s)%s" % (o["number"], o["status"], o["total"], o["item_count"], "  (refunded %s)" % o["refunded_total"] if o["refunded_total"] != "0.00" else ""))
PY
echo
echo "   full JSON: the same document the admin API serves (${work}/profile.json is removed on exit)"
say "Done: stopping the daemon (SIGTERM drains and exits 0) and the store"
