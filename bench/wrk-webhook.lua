-- wrk script: signed `issues` deliveries, each with its own X-GitHub-Delivery id.
-- BODY_FILE=payload.json SIGNATURE=sha256=... wrk -t2 -c32 -d10s -s bench/wrk-webhook.lua http://127.0.0.1:3000/webhook
-- (`bench/wrk.sh` computes the signature and starts the service.)

local counter = 0
local non_202 = 0

function setup(thread)
  -- GUID_PREFIX keeps two wrk processes started in the same second (one per replica) apart:
  -- Lua's random numbers start from the same seed in each.
  thread:set("prefix", string.format("wrk-%s%d-%d", os.getenv("GUID_PREFIX") or "", os.time(),
    math.random(1, 1000000000)))
end

function init(args)
  local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = "issues"
  wrk.headers["X-Hub-Signature-256"] = os.getenv("SIGNATURE")
end

function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. "-" .. counter
  return wrk.format()
end

function response(status, headers, body)
  if status ~= 202 then
    non_202 = non_202 + 1
  end
end
