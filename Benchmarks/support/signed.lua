-- wrk script: sends the pre-signed requests of $WEBHOOK_REQUESTS, each thread its own
-- slice (so no request is sent twice and every one is a new job); counts non-200 answers.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("slice", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local all = {}
  for line in io.lines(os.getenv("WEBHOOK_REQUESTS")) do all[#all + 1] = line end
  local count = tonumber(os.getenv("WEBHOOK_THREADS") or "1")
  local size = math.floor(#all / count)
  requests = {}
  for i = slice * size + 1, (slice + 1) * size do
    local ts, sig, body = all[i]:match("([^\t]+)\t([^\t]+)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Slack-Request-Timestamp"] = ts,
      ["X-Slack-Signature"] = sig,
    }, body)
  end
  index = 0
  failures = 0
end

function request()
  index = index + 1
  if index > #requests then
    -- Out of distinct requests: stop this thread rather than repeat one.
    wrk.thread:stop()
  end
  return requests[math.min(index, #requests)]
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("wrk: requests %d non2xx+errors %d\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
