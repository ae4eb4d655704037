-- Inline edits: POST /ledger/rows/<id> on random rows of the session's scope, as htmx sends them.
-- Each row's version is tracked from the answers' data-version (200 and 409 both carry it).
-- Every request and answer is logged so run.py can match the audit log against what clients were told.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  local data, session = common_init()
  prefix = data.value_prefix  -- unique per phase, so audit entries of earlier runs never match
  math.randomseed(thread_number * 7919)
  rows, versions, fixed = session.rows, {}, {}
  for i, row in ipairs(rows) do
    versions[row] = session.versions[i]
    fixed[row] = session.fixed[i]  -- lead, members and remarks, url-encoded, sent unchanged
  end
  headers = {
    ["Cookie"] = session.cookie,
    ["X-CSRFToken"] = session.csrf,
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  log = io.open(data.log_prefix .. thread_number .. ".log", "w")
  log:setvbuf("line")
end

function request()
  count_request()
  current = rows[math.random(#rows)]
  value = string.format("%s-%d-%d", prefix, thread_number, sent)
  local status = (math.random(2) == 1) and "in_progress" or "not_started"
  local body = fixed[current] .. "&progress=" .. value .. "&status=" .. status ..
      "&completed_on=&version=" .. versions[current]
  log:write(string.format("sent %d %s\n", current, value))
  return wrk.format("POST", "/ledger/rows/" .. current, headers, body)
end

function response(status, headers, body)
  count_status(status)
  local version = body:match('data%-version="(%d+)"')
  if version then
    versions[current] = tonumber(version)
  end
  log:write(string.format("%d %d %s %s\n", status, current, value, version or "-"))
end
