-- Shared by every phase: per-thread session data, status counts, a bound on requests, and a JSON result.
-- run.py starts wrk with one connection per thread, so a thread's response() answers its last request().
local data = dofile(os.getenv("BENCH_DATA"))
local threads = {}

-- With several app servers (data.ports), threads take them in turn: thread n talks to port n mod #ports.
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
  if data.ports and #data.ports > 1 then
    local port = data.ports[(#threads - 1) % #data.ports + 1]
    thread.addr = wrk.lookup("127.0.0.1", tostring(port))[1]
  end
end

function common_init()
  session = data.sessions[(thread_number - 1) % #data.sessions + 1]
  sent = 0
  counts = {}
  return data, session
end

-- Stop this thread once it has sent its share; wrk's -d bounds the time.
function count_request()
  sent = sent + 1
  if sent > data.max_requests then
    wrk.thread:stop()
  end
end

function count_status(status)
  counts[status] = (counts[status] or 0) + 1
end

local function json_counts(all)
  local parts = {}
  for status, n in pairs(all) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts") or {}) do
      all[status] = (all[status] or 0) + n
    end
  end
  local e = summary.errors
  local out = io.open(data.result, "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "statuses": %s}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    json_counts(all)))
  out:close()
end
