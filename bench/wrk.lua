-- wrk script for every load run: the bearer token and, for POST, the JSON body come from the
-- environment (BENCH_TOKEN, BENCH_BODY); the URL comes from wrk's command line.
-- No request()/response() functions: wrk then builds each request once and stays cheap.

wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

-- One machine-readable line for bench/load.py; latencies are in microseconds.
-- errors.status counts responses with a status of 400 or more.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
