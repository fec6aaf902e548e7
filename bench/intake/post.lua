-- SPDX-License-Identifier: MIT
-- wrk script for the intake benchmark: POSTs one real WooCommerce order
-- payload the way WooCommerce's Hookshot sends it, counts responses by
-- status in each thread, and prints machine-readable key=value lines.
--
-- env: BENCH_BODY  path of the body file (required)
--      BENCH_SIG   base64 HMAC-SHA256 of that body under the webhook secret
--
-- The request stays static per thread (no request() function), so wrk
-- formats it once; only the response() callback costs per request.

local function read_file(path)
   local f = assert(io.open(path, "rb"), "BENCH_BODY: cannot open " .. tostring(path))
   local data = f:read("*a")
   f:close()
   return data
end

local body_path = os.getenv("BENCH_BODY")
if body_path == nil or body_path == "" then
   error("BENCH_BODY must name the body file")
end

wrk.method = "POST"
wrk.path   = "/webhooks/woocommerce"
wrk.body   = read_file(body_path)
wrk.headers["Content-Type"]             = "application/json"
wrk.headers["User-Agent"]               = "WooCommerce/8.4.0 Hookshot (WordPress/6.4.2)"
wrk.headers["X-WC-Webhook-Source"]      = "http://127.0.0.1:8765/"
wrk.headers["X-WC-Webhook-Topic"]       = "order.updated"
wrk.headers["X-WC-Webhook-Resource"]    = "order"
wrk.headers["X-WC-Webhook-Event"]       = "updated"
wrk.headers["X-WC-Webhook-ID"]          = "2"
wrk.headers["X-WC-Webhook-Signature"]   = os.getenv("BENCH_SIG") or ""

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   c200 = 0
   cother = 0
   -- One delivery id per thread: 32 hex chars, like WooCommerce's md5.
   wrk.headers["X-WC-Webhook-Delivery-ID"] =
      string.format("%08x%08x%08x%08x", 0xbe4c0000 + id, os.time() % 0x7fffffff,
                    math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

function response(status, headers, body)
   if status == 200 then
      c200 = c200 + 1
   else
      cother = cother + 1
   end
end

function done(summary, latency, requests)
   local s200, sother = 0, 0
   for _, thread in ipairs(threads) do
      s200 = s200 + (thread:get("c200") or 0)
      sother = sother + (thread:get("cother") or 0)
   end
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format("status_200=%d\n", s200))
   io.write(string.format("status_other=%d\n", sother))
   io.write(string.format("requests=%d\n", summary.requests))
   io.write(string.format("duration_s=%.3f\n", secs))
   io.write(string.format("rps=%.1f\n", summary.requests / secs))
   io.write(string.format("rps_200=%.1f\n", s200 / secs))
   io.write(string.format("p50_ms=%.3f\n", latency:percentile(50) / 1000))
   io.write(string.format("p90_ms=%.3f\n", latency:percentile(90) / 1000))
   io.write(string.format("p99_ms=%.3f\n", latency:percentile(99) / 1000))
   io.write(string.format("max_ms=%.3f\n", latency.max / 1000))
   io.write(string.format("errors_connect=%d\n", e.connect))
   io.write(string.format("errors_read=%d\n", e.read))
   io.write(string.format("errors_write=%d\n", e.write))
   io.write(string.format("errors_status=%d\n", e.status))
   io.write(string.format("errors_timeout=%d\n", e.timeout))
end
