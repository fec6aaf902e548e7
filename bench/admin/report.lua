-- wrk script: the admin token from $TOKEN, and p50/p95/p99 in one line.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"RESULT requests=%d rps=%.0f p50=%.2fms p95=%.2fms p99=%.2fms max=%.2fms non2xx=%d errors=%d\n",
		summary.requests, summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(95) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, e.status,
		e.connect + e.read + e.write + e.timeout))
end
