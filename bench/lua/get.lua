-- GET phases (ceiling, ledger pages, dashboard): each connection is one logged-in session.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  local data, session = common_init()
  headers = {}
  if session.cookie ~= "" then
    headers["Cookie"] = session.cookie
  end
  paths = session.paths
end

function request()
  count_request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, headers, body)
  count_status(status)
end
