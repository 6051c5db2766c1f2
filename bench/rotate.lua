-- wrk script for Bedside's harness (bench/load.py): POST one body, each request carrying the
-- next pre-signed bearer token, so that every jti is used exactly once.
-- args: body_file tokens_file|- path [users]
-- With `users` > 0, the body's userId "Practitioner/bench-clinician-1" becomes one of `users`
-- clinicians, in turn (many learners, as in a hospital, rather than one with a huge history).
-- Run with one wrk thread: tokens are consumed in file order, which lets the harness give the
-- unsent ones back to its pool.

local body, path, head, tail
local users = 0
local USER = "Practitioner/bench-clinician-1"
local tokens, count, sent = {}, 0, 0

function init(args)
  local handle = assert(io.open(args[1], "rb"))
  body = handle:read("*a")
  handle:close()
  if args[2] ~= "-" then
    for line in io.lines(args[2]) do
      count = count + 1
      tokens[count] = line
    end
  end
  path = args[3]
  users = tonumber(args[4] or "0") or 0
  local at = string.find(body, USER, 1, true)
  if users > 0 and at then
    head = string.sub(body, 1, at - 1) .. "Practitioner/bench-clinician-"
    tail = string.sub(body, at + #USER)
  else
    users = 0
  end
end

function request()
  sent = sent + 1
  local headers = { ["Content-Type"] = "application/json" }
  if count > 0 then
    headers["Authorization"] = "Bearer " .. (tokens[sent] or "exhausted.pool.token")
  end
  if users > 0 then
    return wrk.format("POST", path, headers, head .. tostring(sent % users) .. tail)
  end
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
