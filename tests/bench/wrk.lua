-- wrk script of `make bench`: optional request body from BENCH_BODY (bytes,
-- sent as POST), and one machine-readable summary line for run.py.
local body = tonumber(os.getenv("BENCH_BODY") or "0")
if body > 0 then
	wrk.method = "POST"
	wrk.body = string.rep("x", body)
	wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
		"connect=%d read=%d write=%d status=%d timeout=%d\n",
		summary.requests, summary.duration, summary.bytes,
		latency:percentile(50), latency:percentile(99),
		e.connect, e.read, e.write, e.status, e.timeout))
end
