-- wrk script: every request is a new OpretDebitorkonto with its own transaction id and claim ids,
-- so the simulator does its real work (no replay of a stored answer).
local threads = {}
local counter = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919)
end

local function uuid()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

function request()
  counter = counter + 1
  local id = string.format("W%d-%d-%d", tid, counter, math.random(0, 999999999))
  local body = string.format('{"debitorkontoId":"K-%s","haeftelse":{"cpr":"0101901234"},"fordringer":[{"fordringId":"%s","produktkode":"BIB-GEBYR","tekst":"Gebyr","stiftelsesdato":"2026-01-05","forfaldsdato":"2026-01-05","delfordringer":[{"delfordringId":"%s-1","beloebOere":12000,"tekst":"Gebyr"}]}]}', id, id, id)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer oir-dev-token"
  headers["X-Transaktion-Id"] = uuid()
  headers["X-Transaktion-Tid"] = "2026-01-05T09:00:00+01:00"
  headers["X-Kommune-Cvr"] = "64942212"
  headers["X-Sim-Session"] = "bench"
  return wrk.format("POST", "/debitorkonti", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
