-- national.lua -- the national round, through the API, a fixed number of requests:
--   BENCH_PHASE=register  POST /v1/schools for every line "id district stage ownership" of
--                         $BENCH_LIST (admin token $BENCH_ADMIN); "id token" of every 201 go to
--                         $BENCH_OUT
--   BENCH_PHASE=submit    POST /v1/submissions for every line "id token" of $BENCH_LIST, with
--                         30 figures drawn from $BENCH_ELEMENTS for the unit's stage (the letter
--                         after the dash in its id), period $BENCH_PERIOD
-- wrk itself only stops after -d, so when all $BENCH_TOTAL answers are in this script writes
-- "ok bad seconds first_error" to $BENCH_MARKER and stops its thread; run.sh then sends wrk
-- SIGINT. Requests after the list is exhausted are GET /healthz (not counted).
local ffi = require("ffi")
ffi.cdef [[
   typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
   int clock_gettime(int clock, bench_timespec *out);
]]
local clock = ffi.new("bench_timespec")
local function now()
   ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local phase = os.getenv("BENCH_PHASE")
local total = tonumber(os.getenv("BENCH_TOTAL"))
local lines = io.lines(os.getenv("BENCH_LIST"))
local out = phase == "register" and io.open(os.getenv("BENCH_OUT"), "w") or nil
local elements = phase == "submit" and dofile(os.getenv("BENCH_ELEMENTS")) or nil
local period = os.getenv("BENCH_PERIOD") or "2024"
local admin = os.getenv("BENCH_ADMIN")
local ok, bad, first_error, started, finished = 0, 0, "-", nil, false
local health = wrk.format("GET", "/healthz")
local json_headers = {["Content-Type"] = "application/json"}

local function registration(line)
   local id, district, stage, ownership = line:match("^(%S+) (%S+) (%S+) (%S+)$")
   json_headers["Authorization"] = "Bearer " .. admin
   return wrk.format("POST", "/v1/schools", json_headers, string.format(
      '{"id":"%s","name":"基准 %s","district":"%s","stage":"%s","ownership":"%s"}',
      id, id, district, stage, ownership))
end

local parts = {}
local function submission(line)
   local id, token = line:match("^(%S+) (%S+)$")
   local list = elements[id:sub(7, 7)]
   for i, e in ipairs(list) do
      local value
      if e[2] == 0 then
         value = tostring(math.random(e[3], e[4]))
      elseif e[2] == 1 then
         value = string.format("%.1f", e[3] + math.random() * (e[4] - e[3]))
      else
         value = math.random() < (e[3] + e[4]) / 2 and "true" or "false"
      end
      parts[i] = '"' .. e[1] .. '":' .. value
   end
   for i = #list + 1, #parts do parts[i] = nil end
   json_headers["Authorization"] = "Bearer " .. token
   return wrk.format("POST", "/v1/submissions", json_headers, string.format(
      '{"school":"%s","period":"%s","values":{%s}}', id, period, table.concat(parts, ",")))
end

-- wrk calls request() once before connecting, to count pipelined requests: that call must
-- not consume a line.
local verified = false

function request()
   if not verified then
      verified = true
      return health
   end
   if not started then started = now() end
   local line = lines and lines()
   if not line then
      lines = nil
      return health
   end
   return phase == "register" and registration(line) or submission(line)
end

function response(status, headers, body)
   if finished or status == 200 then return end
   if status == 201 and phase == "register" then
      local id, token = body:match('"id":"([^"]+)","token":"([^"]+)"')
      out:write(id, " ", token, "\n")
      ok = ok + 1
   elseif status == 202 and phase == "submit" then
      ok = ok + 1
   else
      bad = bad + 1
      if first_error == "-" then first_error = tostring(status) end
   end
   if ok + bad >= total then
      finished = true
      if out then out:close() end
      local marker = io.open(os.getenv("BENCH_MARKER"), "w")
      marker:write(string.format("%d %d %.3f %s\n", ok, bad, now() - started, first_error))
      marker:close()
      wrk.thread:stop()
   end
end
