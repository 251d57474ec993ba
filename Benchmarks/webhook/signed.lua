-- Sends the pre-signed requests from $WEBHOOK_REQUESTS in turn; counts non-200 answers.
local requests = {}
local index = 0
local failures = 0

function init(args)
  for line in io.lines(os.getenv("WEBHOOK_REQUESTS")) do
    local ts, sig, body = line:match("([^\t]+)\t([^\t]+)\t(.*)")
    requests[#requests + 1] = { ts = ts, sig = sig, body = body }
  end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  local r = requests[index]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Slack-Request-Timestamp"] = r.ts,
    ["X-Slack-Signature"] = r.sig,
  }, r.body)
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
