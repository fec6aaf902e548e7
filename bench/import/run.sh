#!/usr/bin/env bash
# Import benchmark: `tracksiesd --import` of a fake store with N orders under
# the latency model calibrated on a real WooCommerce 8.4 store (page of 100
# ~600 ms, batch update of 100 ~2.7 s, 4 PHP workers). Prints elapsed time,
# REST requests, peak RSS and the store-bound floor.
#   bash bench/import/run.sh [N ...]     (default: 10000 100000)
source "$(dirname "$0")/../lib.sh"
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
printf '%-8s %-10s %-9s %-10s %-12s %-10s %-9s %s\n' orders elapsed floor ratio requests req/100 rss_mb result
for n in "${sizes[@]}"; do
  start_fake "$n"
  write_config
  /usr/bin/time -f '%M' -o "$work/rss" "$daemon" --config "$work/tracksiesd.conf" --import \
    >"$work/import.out" 2>"$work/import.err" || true
  stats=$(store_stats)
  python3 - "$n" "$work/import.out" "$work/rss" <<PY
import json, re, sys
n = int(sys.argv[1]); out = open(sys.argv[2]).read(); rss = int(open(sys.argv[3]).read().split()[-1])
stats = json.loads('''$stats''')
req = stats["requests"]
lists = sum(v for k, v in req.get("list_orders", {}).items() if k.isdigit())
batches = sum(v for k, v in req.get("batch", {}).items() if k.isdigit())
total = lists + batches
elapsed = int(re.search(r"elapsed\s+(\d+)s", out).group(1))
listed = int(re.search(r"store lists\s+(\d+)", out).group(1))
# The store's own time for the fewest requests: ceil(n/100) pages at ~0.6 s
# and ceil(n/100) batch updates at ~2.7 s, 4 at a time.
pages = -(-listed // 100)
floor = pages * (0.05 + 0.0055 * 100 + 0.027 * 100) / 4
state = re.search(r"import (\w+)", out).group(1)
print("%-8d %-10s %-9s %-10.2f %-12d %-10.2f %-9.1f %s" % (listed, "%ds" % elapsed, "%.0fs" % floor,
      elapsed / floor, total, 100.0 * total / max(listed, 1), rss / 1024.0, state))
PY
  kill "$fake_pid"; wait "$fake_pid" 2>/dev/null || true
  rm -f "$work"/tracksies.db*
done
