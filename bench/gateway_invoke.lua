-- wrk script of bench/gateway_bench.sh: each request is an InvocationRequest (protobuf,
-- encoded here by hand) of action "add" with payload {"value": 1} on a random instance
-- c-1..c-N of system spawn-system, posted to its invoke path. init(args): N, then an optional
-- per-connection delay in ms (for a fixed request rate). done() prints the latency percentiles.
local instances, pause = 1000, 0

-- A protobuf varint.
local function varint(n)
  local s = ""
  while n >= 128 do
    s = s .. string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  return s .. string.char(n)
end

-- A length-delimited field.
local function field(number, bytes)
  return string.char(number * 8 + 2) .. varint(#bytes) .. bytes
end

local system = "spawn-system"
local value = field(1, "type.googleapis.com/eigr.functions.protocol.JSONType") ..
  field(2, field(1, '{"value": 1}'))
local headers = { ["Content-Type"] = "application/octet-stream" }

function init(args)
  instances = tonumber(args[1] or "1000")
  pause = tonumber(args[2] or "0")
end

function delay()
  return pause
end

function request()
  local actor = "c-" .. math.random(1, instances)
  local body = field(1, field(1, system)) ..
    field(2, field(1, field(1, actor) .. field(2, system))) .. field(3, "add") .. field(4, value)
  return wrk.format("POST", "/api/v1/system/spawn-system/actors/" .. actor .. "/invoke", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("p50_us=%d p99_us=%d errors=%d non2xx=%d\n", latency:percentile(50),
    latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
