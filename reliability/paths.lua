-- wrk script for reliability/run.py: cycle through a file of request paths (one per line), each thread starting
-- at a different place, and print one JSON summary line (prefix RELIABILITY) with the error counts.
-- Usage: wrk -t2 -c64 -d60s --timeout 30s -s reliability/paths.lua http://127.0.0.1:8201 -- PATHS_FILE

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  assert(#paths > 0, "no paths in " .. args[1])
  i = math.floor(id * #paths / 2)
end

function request()
  local path = paths[i % #paths + 1]
  i = i + 1
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RELIABILITY {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
