-- wrk script for every HTTP figure of bench/run.py.
--
--   wrk ... -s bench/load.lua URL -- MODE EXPECTED [ARG]
--
-- MODE get:     GET the URL's path.
-- MODE post:    POST the body in file ARG, where every "{N}" becomes a number unique to
--               this run of wrk ("{T}" the thread), with the headers in file ARG.headers.
-- MODE confirm: POST to /en/confirm/<token>, one token per request, read from file ARG
--               (thread k takes every k-th line); "exhausted" counts requests past the end.
--
-- Every answer's status is counted; done() prints one JSON line that bench/run.py reads:
-- requests, seconds, statuses, socket errors and latency percentiles in milliseconds.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_no", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(lines, line) end
  end
  return lines
end

function init(args)
  mode = args[1]
  statuses = {}
  exhausted = 0
  n = 0
  if mode == "post" then
    local f = assert(io.open(args[3], "r"))
    body = f:read("*a")
    f:close()
    headers = {}
    for _, line in ipairs(read_lines(args[3] .. ".headers")) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
  elseif mode == "confirm" then
    tokens = {}
    local all = read_lines(args[3])
    local step = tonumber(args[4])
    for i = thread_no + 1, #all, step do table.insert(tokens, all[i]) end
    headers = {["Sec-Fetch-Site"] = "same-origin", ["Content-Length"] = "0"}
  end
end

-- Behind the bench's one "proxy" hop (TRUSTED_PROXIES=1) each request comes from a client
-- of its own, as supporters do: the per-address limits and hold checks run, never trip.
local function client(k)
  return string.format("10.%d.%d.%d", thread_no % 250, math.floor(k / 250) % 250, k % 250 + 1)
end

function request()
  n = n + 1
  if headers then headers["X-Forwarded-For"] = client(n) end
  if mode == "post" then
    local unique = tostring(thread_no) .. "x" .. tostring(n)
    local filled = body:gsub("{N}", unique)
    return wrk.format("POST", nil, headers, filled)
  elseif mode == "confirm" then
    local token = tokens[n]
    if token == nil then
      exhausted = exhausted + 1
      token = tokens[((n - 1) % #tokens) + 1]
    end
    return wrk.format("POST", "/en/confirm/" .. token, headers, "")
  end
  return wrk.format("GET")
end

function response(status, _headers, _body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _requests)
  local total, used_up = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    used_up = used_up + thread:get("exhausted")
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    '\nBENCH {"requests": %d, "seconds": %.6f, "statuses": {%s}, "exhausted": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"latency_ms": {"p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f}}\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ", "), used_up,
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
